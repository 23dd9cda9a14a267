"""The RQ worker that ``flask worker`` runs, and how a dead scheduler is replaced.

RQ runs its scheduler in a process of one worker started ``--with-scheduler``; the others
started so stand by. The running one holds a lock per queue in Redis, refreshed every
second, that expires ``interval + 60`` s (61 s) after the last refresh, and a standing-by
worker only tries to take the lock again at its maintenance, which RQ runs every 10
minutes and only between jobs or after a 405 s wait for one. So a scheduler killed with
its machine left scheduled runs waiting for up to a quarter of an hour.

``LeadAppWorker`` tries every ``check`` seconds instead, and first lets go of a lock held
by a scheduler that is certainly dead: one that registered from this machine, whose
process no longer exists (or is a zombie), and that has sent no heartbeat for
``SCHEDULER_DEAD_SECONDS``. A scheduler on another machine cannot be seen dying from
here; its lock is left to expire. Either way two schedulers never hold one queue: the lock
is deleted only if the dead scheduler still holds it (RQ's owner-checked release), then
taken with RQ's own atomic acquire.

A scheduler process outlives its worker if the worker dies without its warm shutdown
(SIGKILL, the OOM killer, systemd's ``KillMode=process``): RQ's loop would go on
heartbeating and holding the locks for ever, and being alive it is never "certainly
dead". ``LeadAppScheduler``, the scheduler ``LeadAppWorker`` starts, stops on its own once
it is no longer its worker's child (reparented), within about a second: it lets go of its
locks and unregisters, as on a warm shutdown. A SIGTERM or SIGINT reaching it before it
has RQ's handlers is held until it has them, so that it too stops it that way.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import SchedulerNotFound
from rq.scheduler import RQScheduler
from rq.scripts import release_lock
from rq.utils import now

log = logging.getLogger(__name__)

# A scheduler refreshes its heartbeat every second; ten seconds of silence from a process
# that is gone is death, not a slow loop.
SCHEDULER_DEAD_SECONDS = 10

# What stops a scheduler process (RQ's handlers in it): held while it forks.
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _process_gone(pid: int) -> bool:
    """No process ``pid`` on this machine, or only its zombie (dead, not yet reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False  # no /proc: a process we can signal counts as alive
    return state in ("Z", "X")


def release_dead_schedulers(connection: Redis, queue_names: list[str]) -> list[str]:
    """Let go of the scheduler locks of ``queue_names`` held by a scheduler that died on
    this machine (see the module's docstring); the queues whose lock was let go."""
    released = []
    host = socket.gethostname()
    for queue in queue_names:
        key = RQScheduler.get_locking_key(queue)
        try:
            holder = connection.get(key)
            if holder is None:
                continue
            holder = holder.decode()
            scheduler = RQScheduler.fetch(holder, connection)
        except SchedulerNotFound:  # locked a moment before it registered: leave it alone
            continue
        if scheduler.hostname != host or not _process_gone(scheduler.pid):
            continue
        last = scheduler.last_heartbeat
        if last is None or (now() - last).total_seconds() < SCHEDULER_DEAD_SECONDS:
            continue
        if release_lock(connection, key, holder):
            log.warning(
                "The scheduler of queue %s (pid %s on this machine) is dead; its lock was let "
                "go so that this worker's scheduler takes over.",
                queue,
                scheduler.pid,
            )
            released.append(queue)
    return released


class LeadAppScheduler(RQScheduler):
    """RQ's scheduler, stopping (locks let go, death registered) once its worker is gone:
    checked before every heartbeat, so within ``interval`` (1 s) of the worker's death.
    SIGTERM and SIGINT stop it the same way from the moment it forks."""

    _worker_pid: int | None = None

    def start(self):
        # The worker's pid is taken here, before the fork: one that dies before its fork
        # first looks at its parent is still seen to be gone.
        self._worker_pid = os.getpid()
        # Blocked for the fork, which keeps them blocked until it has RQ's handlers (see
        # ``work``); the worker's own are unblocked again as soon as the fork is made.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            return super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def orphaned(self) -> bool:
        """The worker that started this process is gone (the process was reparented)."""
        return self._worker_pid is not None and os.getppid() != self._worker_pid

    def work(self):
        # RQ 3.0.0's loop, with a look for the worker before each heartbeat. Until RQ's
        # handlers are in, the fork has the worker's (or SIGTERM's default: death): a
        # SIGTERM then (the worker stopped at once, systemd signalling the whole group)
        # ended it with its locks held for 61 s and no scheduler registered for
        # release_dead_schedulers to see dead. One that came meanwhile is delivered here.
        self._install_signal_handlers()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        self.register_birth()
        while True:
            if self._stop_requested:
                self.stop()
                break
            if self.orphaned():
                self.log.warning(
                    "Scheduler [PID %s]: its worker (PID %s) is gone; stopping",
                    os.getpid(),
                    self._worker_pid,
                )
                self.stop()
                break
            if self.should_reacquire_locks:
                self.acquire_locks()
            self.heartbeat()
            self.enqueue_scheduled_jobs()
            time.sleep(self.interval)


class LeadAppWorker(Worker):
    """RQ's worker; started with a scheduler, it checks every ``scheduler_check`` seconds
    that a scheduler runs for its queues and takes over from a dead one."""

    def __init__(self, *args, scheduler_check: int | None = None, **kwargs):
        self.scheduler_check = scheduler_check
        if scheduler_check:
            # Maintenance (where RQ tries the lock again) every ``scheduler_check`` seconds,
            # and an idle worker's wait for a job no longer than that (RQ waits
            # worker_ttl - 15 s between two looks at the clock).
            kwargs.setdefault("maintenance_interval", scheduler_check)
            kwargs.setdefault("worker_ttl", scheduler_check + 15)
        super().__init__(*args, **kwargs)

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ):
        # RQ 3.0.0's Worker._start_scheduler with LeadAppScheduler for RQScheduler: RQ has
        # no setting for the scheduler's class.
        self.scheduler = LeadAppScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()

    def release_dead_schedulers(self) -> None:
        try:
            release_dead_schedulers(self.connection, self.queue_names())
        except RedisError as exc:  # Redis away: RQ's own loop reports and waits for it
            log.warning("could not look for a dead scheduler: %s", exc)

    def work(self, *args, with_scheduler: bool = False, **kwargs):
        if with_scheduler:
            self.release_dead_schedulers()
        return super().work(*args, with_scheduler=with_scheduler, **kwargs)

    def run_maintenance_tasks(self):
        # RQ tries to (re)start this worker's scheduler here when it has none running.
        if self.scheduler is not None and not (
            self.scheduler._process and self.scheduler._process.is_alive()
        ):
            self.release_dead_schedulers()
        super().run_maintenance_tasks()
        self.requeue_lost()

    def requeue_lost(self) -> None:
        """Hand back queued rows whose RQ job died before they could start (a database
        locked through every try), without waiting for the next worker to start."""
        from leadapp.extensions import db
        from leadapp.tasks import requeue_lost

        try:
            again = requeue_lost()
        except Exception as exc:  # the database or Redis away: the next maintenance tries
            log.warning("could not look for lost jobs: %s", exc)
            again = []
        finally:
            db.session.remove()
            db.engine.dispose()  # work horses fork from here: no connection of ours in them
        if again:
            log.warning("Handed %s queued job(s) to RQ again: %s", len(again), again)
