"""run-all's supervisor on real (tiny) processes: the wait before a restart grows while a
part keeps failing at once, each death is one line naming the part and its exit status,
a part that ignores SIGINT is killed at the stop deadline, and what a dead part left
behind in its process group goes with it. The clock is passed in, as run-all passes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from leadapp.supervisor import Backoff, Exit, ProcessPart, Supervisor

pytestmark = pytest.mark.timeout(60)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_the_wait_doubles_with_each_quick_failure_up_to_30_s_and_resets_after_a_minute_up():
    backoff = Backoff()
    assert [backoff.delay_after(0.5) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.quick_failures == 7
    assert backoff.delay_after(60) == 1 and backoff.quick_failures == 0
    assert backoff.delay_after(59) == 1 and backoff.quick_failures == 1


def test_an_exit_is_told_by_its_status_or_its_signal():
    assert str(Exit(3)) == "exited with status 3"
    assert str(Exit(-signal.SIGKILL)) == "was killed by SIGKILL"
    assert "unknown" in str(Exit(None))


def test_a_part_failing_at_once_is_restarted_after_1_2_4_s_and_run_all_says_so_loudly(capfd):
    part = ProcessPart("mail sink", _python("import sys; sys.exit(3)"), dict(os.environ))
    supervisor = Supervisor([part])
    t = 1000.0
    supervisor.start(now=t)
    pids = []
    for delay in (1, 2, 4):
        pids.append(part.pid)
        part.process.wait(timeout=20)
        supervisor.check(t + 0.1)
        assert not part.running and part.restart_at == t + 0.1 + delay
        supervisor.check(t + 0.1 + delay - 0.05)  # not before its time
        assert not part.running
        t += 0.1 + delay
        supervisor.check(t)
        assert part.running and part.pid not in pids
    part.process.wait(timeout=20)
    supervisor.check(t + 0.1)
    out, err = capfd.readouterr()
    assert f" * The mail sink (pid {pids[0]}) exited with status 3; restarting it in 1 s.\n" in out
    assert f"(pid {pids[1]}) exited with status 3; restarting it in 2 s." in out
    assert f"(pid {pids[2]}) exited with status 3; restarting it in 4 s." in out
    assert "The mail sink has failed 3 times in a row" in err
    assert err.count("failed 3 times") == 1  # said once, not at every later failure
    supervisor.stop_all()


def test_a_part_that_stayed_up_a_minute_is_restarted_after_1_s_again(capfd):
    part = ProcessPart("worker", _python("import time; time.sleep(60)"), dict(os.environ))
    supervisor = Supervisor([part])
    part.backoff.quick_failures = 4  # it had failed quickly before
    supervisor.start(now=0.0)
    os.kill(part.pid, signal.SIGKILL)
    part.process.wait(timeout=10)
    supervisor.check(61.0)
    out, _ = capfd.readouterr()
    assert f"The worker (pid {part.pid}) was killed by SIGKILL; restarting it in 1 s." in out
    assert part.backoff.quick_failures == 0
    supervisor.stop_all()


def test_what_a_dead_part_left_in_its_process_group_is_stopped_with_it():
    """Like RQ's scheduler process, forked by a worker that is then killed."""
    leaver = _python(
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    time.sleep(60)\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(60)\n"
    )
    part = ProcessPart("worker", leaver, dict(os.environ))
    supervisor = Supervisor([part])
    supervisor.start(now=0.0)
    deadline = time.monotonic() + 20
    while not (children := psutil.Process(part.pid).children()):
        assert time.monotonic() < deadline, "the part forked no child"
        time.sleep(0.05)
    os.kill(part.pid, signal.SIGKILL)
    part.process.wait(timeout=10)
    supervisor.check(1.0)
    psutil.wait_procs(children, timeout=10)
    assert all(_gone(c.pid) for c in children)
    supervisor.stop_all()


def test_stopping_kills_a_part_that_ignores_sigint_at_the_deadline(capfd):
    stubborn = _python(
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    polite = ProcessPart(
        "web server",
        _python("import time\nprint('ready', flush=True)\ntime.sleep(60)\n"),
        dict(os.environ),
    )
    polite.start = lambda: _start_piped(polite)
    part = ProcessPart("worker", stubborn, dict(os.environ))
    part.start = lambda: _start_piped(part)
    # A deadline a loaded machine meets: the polite part needs only a moment to stop.
    supervisor = Supervisor([polite, part], stop_deadline=4.0)
    supervisor.start(now=0.0)
    assert polite.process.stdout.readline() == part.process.stdout.readline() == b"ready\n"
    began = time.monotonic()
    supervisor.stop_all()
    assert time.monotonic() - began < 12
    assert polite.process.returncode != 0 and part.process.returncode == -signal.SIGKILL
    out, _ = capfd.readouterr()
    assert f"The worker (pid {part.pid}) did not stop in time; killing it." in out
    assert "web server" not in out  # it stopped on SIGINT


def _start_piped(part: ProcessPart) -> None:
    # As run-all starts it, with a pipe to know when the child ignores SIGINT.
    ProcessPart.start(part, stdout=subprocess.PIPE)


def test_a_part_stops_on_sigint_even_when_run_all_was_started_with_sigint_ignored():
    """`make run &` from a script (and CI's background passes) starts run-all with SIGINT
    ignored, which children inherit: the parts get SIGINT's default back."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        part = ProcessPart(
            "web server", _python("import time\nprint('ready', flush=True)\ntime.sleep(60)\n"), {}
        )
        part.env = dict(os.environ)
        _start_piped(part)
    finally:
        signal.signal(signal.SIGINT, before)
    assert part.process.stdout.readline() == b"ready\n"
    part.interrupt()
    assert part.process.wait(timeout=20) != 0
