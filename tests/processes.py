"""Worker processes in fault tests: SIGKILL a worker together with its work horse."""

from __future__ import annotations

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
    horses = psutil.Process(worker.pid).children(recursive=True)
    assert horses, "the worker has no work horse running a job"
    os.kill(worker.pid, signal.SIGKILL)
    for horse in horses:
        os.kill(horse.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not all(_dead(h) for h in horses):
        assert time.monotonic() < deadline, "the work horse survived SIGKILL"
        time.sleep(0.05)
