"""Worker processes in fault tests: SIGKILL a worker together with its work horse (or
all its children: the horse and RQ's scheduler process)."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import time
import traceback

import psutil

from tests.conftest import ROOT


def _dead(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def kill_worker_and_horse(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and its work horse (RQ puts the horse in its own process group)."""
    assert psutil.Process(worker.pid).children(), "the worker has no work horse running a job"
    kill_worker_and_children(worker)


def kill_worker_and_children(worker: subprocess.Popen) -> list[int]:
    """SIGKILL the worker and every process it started (its work horse, RQ's scheduler
    process), as a lost machine or an OOM-killed container would; returns their pids."""
    children = psutil.Process(worker.pid).children(recursive=True)
    os.kill(worker.pid, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not all(_dead(c) for c in children):
        assert time.monotonic() < deadline, "a child of the worker survived SIGKILL"
        time.sleep(0.05)
    return [c.pid for c in children]


class RedisServer:
    """A real redis-server of the test's own on ``port``, keeping nothing on disk (like the
    machine's: ``--save "" --appendonly no``), so a restart loses every key."""

    def __init__(self, port: int, directory):
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server did not start"
                assert time.monotonic() < deadline, "redis-server did not answer in 10 s"
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: redis-server shuts down (nothing is saved: no save points)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def burst_worker(env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """``flask --app wsgi worker --burst`` with ``env`` as its whole environment: a real RQ
    worker on the real Redis and database (``flask_command``). Returns like
    ``subprocess.run`` (stdout and stderr together in ``.stdout``)."""
    return flask_command(["worker", "--burst"], env, timeout=timeout, merge_output=True)


def flask_command(
    args: list[str], env: dict, *, timeout: float = 120, merge_output: bool = False
) -> subprocess.CompletedProcess:
    """``flask --app wsgi ARGS`` with ``env`` as its whole environment, in a process forked
    from the test's instead of a new interpreter: the same command line through Flask's
    own CLI, on an app made afresh from ``env`` — only the imports (2.5 s of CPU a start,
    most of what a test running commands spends) are the test's. Returns like
    ``subprocess.run(..., capture_output=True, text=True)``; with ``merge_output`` stderr
    goes into ``.stdout``."""
    argv = ["flask", "--app", "wsgi", *args]
    out_r, out_w = os.pipe()
    err_r, err_w = (out_r, out_w) if merge_output else os.pipe()
    pid = os.fork()
    if pid == 0:  # the command: never back into pytest, whatever happens
        code = 1
        try:
            for fd in {out_r, err_r}:
                os.close(fd)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in {out_w, err_w}:
                os.close(fd)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            code = _run_flask(argv, env)
        except BaseException:  # noqa: BLE001 - reported on the command's output
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)  # no finalizer may close the test's own connections
    for fd in {out_w, err_w}:
        os.close(fd)
    streams = {fd: [] for fd in {out_r, err_r}}
    deadline = time.monotonic() + timeout
    open_fds = set(streams)
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            for fd in open_fds:
                os.close(fd)
            raise subprocess.TimeoutExpired(argv, timeout, b"".join(streams[out_r]))
        ready, _, _ = select.select(list(open_fds), [], [], min(left, 1.0))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                streams[fd].append(chunk)
            else:
                os.close(fd)
                open_fds.discard(fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)

    def text(fd):
        return b"".join(streams[fd]).decode(errors="replace")

    return subprocess.CompletedProcess(argv, code, text(out_r), "" if merge_output else text(err_r))


def _run_flask(argv: list[str], env: dict) -> int:
    """In the forked process: ``argv`` through Flask's CLI, with ``env`` as the whole
    environment and nothing of the test's app: ``wsgi`` is imported again (it makes the
    app from the environment) and the session is a new one."""
    from flask.cli import main

    from leadapp.extensions import db

    os.environ.clear()
    os.environ.update(env)
    os.chdir(ROOT)
    for handler in list(logging.root.handlers):  # pytest's capture stays with pytest
        logging.root.removeHandler(handler)
    # The test's session (bound to its own connection, maybe inside a transaction) is not
    # the command's: a new one, on the new app's engine.
    db.session = db._make_scoped_session({})
    sys.modules.pop("wsgi", None)
    sys.argv = argv
    try:
        main()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    return 0
