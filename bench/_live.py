"""What the benchmarks that drive the running app share: child processes, a free loopback
port, a browser-like HTTP client (cookies, CSRF, forms, uploads) and percentiles."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A child in its own process group (so stopping it stops its children too)."""
    out = log.open("wb")
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen | None, first: int = signal.SIGTERM) -> None:
    """Stop a child started by ``start``: ``first`` to its group, SIGKILL after 20 s."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, first)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


class Failure(Exception):
    pass


class Browser:
    """One person's browser: its cookies, a new connection per request (gunicorn's sync
    workers close each one). Loopback only."""

    def __init__(self, port: int, agent: str = "leadapp-bench"):
        self.port = port
        self.agent = agent
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, body, ms, headers)[:3] for the old callers: see ``fetch``."""
        status, data, ms, _ = self.fetch(method, path, body, headers, timeout)
        return status, data, ms

    def fetch(self, method, path, body=None, headers=None, timeout=120):
        h = {"Host": f"127.0.0.1:{self.port}", "User-Agent": self.agent}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        h.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            ms = (time.perf_counter() - t0) * 1000
        finally:
            conn.close()
        for raw in resp.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return resp.status, data, ms, resp.headers

    def post_form(self, path, fields, headers=None):
        """A form POST (fields: dict or list of pairs) with this session's CSRF token."""
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if self.csrf and not any(k == "csrf_token" for k, _ in pairs):
            pairs.append(("csrf_token", self.csrf))
        return self.fetch(
            "POST",
            path,
            urlencode(pairs),
            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )

    def post_multipart(self, path, fields: dict, files: dict[str, tuple[str, bytes]]):
        """A multipart POST (a file upload) with this session's CSRF token."""
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in {"csrf_token": self.csrf or "", **fields}.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, (filename, data) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.fetch(
            "POST",
            path,
            b"".join(parts),
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=600,
        )

    def login(self, email: str, password: str) -> None:
        """Through the login form; keeps the session's CSRF token for later forms."""
        status, html, _ = self.request("GET", "/login")
        match = CSRF.search(html)
        if status != 200 or not match:
            raise Failure(f"GET /login answered {status} without a CSRF token")
        body = urlencode(
            {"email": email, "password": password, "csrf_token": match.group(1).decode()}
        )
        status, _, _ = self.request(
            "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302:
            raise Failure(f"login of {email} answered {status}")
        status, html, _ = self.request("GET", "/pools")
        match = CSRF.search(html)
        self.csrf = match.group(1).decode() if match else None
