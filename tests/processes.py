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
