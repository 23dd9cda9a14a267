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
    """``flask --app wsgi worker --burst`` with ``env`` as its whole environment: the same
    command, a real RQ worker on the real Redis and database, in a process forked from the
    test's instead of a new interpreter — the app's imports, 2.5 s of CPU a start and most
    of what a test that runs workers spends, are done already. Returns like
    ``subprocess.run`` (stdout and stderr together in ``.stdout``)."""
    args = ["flask", "--app", "wsgi", "worker", "--burst"]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never back into pytest, whatever happens
        code = 1
        try:
            os.close(read_fd)
            os.dup2(write_fd, 1)
            os.dup2(write_fd, 2)
            os.close(write_fd)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            code = _worker_command(env)
        except BaseException:  # noqa: BLE001 - reported on the worker's output
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)  # no finalizer may close the test's own connections
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    with os.fdopen(read_fd, "rb", buffering=0) as out:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise subprocess.TimeoutExpired(args, timeout, b"".join(chunks))
            ready, _, _ = select.select([out], [], [], min(left, 1.0))
            if ready:
                chunk = out.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return subprocess.CompletedProcess(args, code, b"".join(chunks).decode(errors="replace"))


def _worker_command(env: dict) -> int:
    """In the forked process: a fresh app from ``env`` and the worker command, as
    ``flask --app wsgi worker --burst`` runs them."""
    import click

    from leadapp.extensions import db

    os.environ.clear()
    os.environ.update(env)
    for handler in list(logging.root.handlers):  # pytest's capture stays with pytest
        logging.root.removeHandler(handler)
    # The test's session (bound to its own connection, maybe inside a transaction) is not
    # the worker's: a new one, on the new app's engine.
    db.session = db._make_scoped_session({})
    from leadapp import create_app
    from leadapp.cli import worker

    app = create_app(environ=os.environ)
    with app.app_context():
        try:
            worker.main(["--burst"], prog_name="flask worker", standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            return 1
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
    return 0
