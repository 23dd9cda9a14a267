"""Worker processes in fault tests: SIGKILL a worker together with its work horse (or
all its children: the horse and RQ's scheduler process)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

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
