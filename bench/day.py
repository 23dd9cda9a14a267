"""A day in a contact centre: the app as `make run` starts it, many people at once, and
afterwards a count of every write it acknowledged.

usage: python bench/day.py [--seconds 180] [--big-rows 300000] [--small-rows 5000]
                           [--leads 20000] [--supervisors 10] [--rate 20] [--dnc-uploads 10]
                           [--database-url postgresql://127.0.0.1:5432/test]
                           [--schema leadapp_bench_day] [--redis-url redis://127.0.0.1:6379/13]
                           [--think 1.0] [--wait 900] [--seed 1] [--keep] [--port 0]
                           [--lock-watch 0.3]
quick run: python bench/day.py --seconds 30 --big-rows 20000 --leads 4000

The app runs exactly as `make run` starts it: ``flask --app wsgi run-all`` (the embedded
Redis, one RQ worker with the scheduler, the SMTP sink and the web server) with a temporary
instance folder, so SQLite in that folder by default. With --database-url it uses that
PostgreSQL database instead, in a schema of its own (--schema; dropped and created, dropped
again at the end unless --keep); Redis stays embedded unless --redis-url names one on
127.0.0.1 (its database is FLUSHED at the start and the end). Loopback only.

Set-up (before the clock starts): an account with an admin, --supervisors supervisors, a
"dialer" user with an API token and a campaign; two pools filled with
``flask leads import`` from a file of the project's generator (leadapp.domain.leadgen):
"Morning list" (--leads rows) and "Evening list" (its first quarter again, imported with
scope none, so a dedup run has duplicates to move).

Then for --seconds:
  * each supervisor logs in through the login form and loops (pausing --think s on average)
    over the pool grid (page and htmx partial), a phone search, a lead, a lead edit (first
    name), a wrap code, a saved view and a job's progress poll; each edits only leads of
    their own, so the last acknowledged value of each lead is known;
  * the dialer posts --rate call outcomes a second to /api/v1/leads/<id>/interactions
    (other leads than the supervisors');
  * three supervisors run the upload wizard (settings, file, mapping as suggested,
    duplicates, check data, review, import): one file of --big-rows rows at the start, two
    of --small-rows later;
  * the admin uploads --dnc-uploads do-not-call files (50 numbers each, ten of them numbers
    of existing leads) spread over the window, and creates a Lead Deduplicator job on the
    two pools, starts its test run, waits for it and schedules the run for the next minute.
Afterwards (at most --wait s) every job row must end "completed", and then it checks that
every acknowledged write (2xx/3xx) is in the database: call outcomes (by id), lead edits
and wrap codes (their audit entry, and each lead's last acknowledged value), saved views
(by name), do-not-call numbers (every number of every acknowledged upload), imports
(the pool holds the leads the import reports). It prints the figures as tables and one JSON
line (the last line) and exits 1 on any lost write, refused write, job not completed, 5xx
or unanswered request. --lock-watch S (SQLite) lists every hold of the write lock longer than
S seconds by the code that took it (LEADAPP_LOCK_WATCH in the app it starts).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import html
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import phonenumbers  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from _common import cpu_model, drop_schema, fresh_database  # noqa: E402
from _live import CSRF, Browser, Failure, free_port, percentile, start, stop  # noqa: E402

PASSWORD = "correct horse battery"  # noqa: S105 (throw-away bench users)
SLUG = "day"
CAMPAIGN = "Day campaign"
ACCOUNT_ZONE = "America/Los_Angeles"
BIN = Path(sys.executable).parent
DNC_NUMBERS = 50  # per upload, ten of them phones of existing leads
WRITE_KINDS = ("outcome", "lead_edit", "wrap_code", "saved_view", "dnc_upload", "import")
SELECTED = re.compile(r'<select[^>]*name="map-(\d+)"[^>]*>(.*?)</select>', re.DOTALL)
OPTION_SELECTED = re.compile(r'<option value="([^"]*)"\s+selected')
JOB_ERROR = re.compile(r'data-testid="job-error">([^<]*)<')
INPUT = re.compile(r"<input\b([^>]*)>", re.IGNORECASE)
SELECT = re.compile(r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', re.DOTALL)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


# ---------------------------------------------------------------------------------------
# What happened: every request, every write the app acknowledged


@dataclass
class Log:
    samples: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    acked: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    refused: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    max_requests: int = 10**9

    def spend(self) -> bool:
        with self.lock:
            self.requests += 1
            return self.requests <= self.max_requests

    def call(self, kind: str, browser: Browser, method: str, path: str, **kw):
        """One request, timed and counted; (status, body, headers); status 0: no answer."""
        how = kw.pop("how", "")
        t0 = time.perf_counter()
        try:
            if how == "form":
                status, body, ms, headers = browser.post_form(
                    path, kw.pop("fields"), kw.pop("headers", None)
                )
            elif how == "multipart":
                status, body, ms, headers = browser.post_multipart(
                    path, kw.pop("fields"), kw.pop("files")
                )
            else:
                status, body, ms, headers = browser.fetch(method, path, **kw)
        except OSError as exc:
            ms = (time.perf_counter() - t0) * 1000
            with self.lock:
                self.samples[kind].append((ms, 0))
                self.notes.append(f"{kind} {method} {path}: no answer ({exc})")
            return 0, b"", {}
        with self.lock:
            self.samples[kind].append((ms, status))
            if status >= 500:
                self.notes.append(f"{kind} {method} {path}: {status} {excerpt(body)}")
        return status, body, headers

    def guarded(self, fn):
        """A thread's target whose crash is counted (a broken script must not pass)."""

        def run(*args):
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 (reported, and the run fails)
                with self.lock:
                    self.crashed.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")

        return run

    def ack(self, kind: str, **what) -> None:
        with self.lock:
            self.acked[kind].append(what)

    def refuse(self, kind: str, status: int, body: bytes, where: str) -> None:
        with self.lock:
            self.refused[kind].append(f"{where}: {status} {excerpt(body)}")


def excerpt(body: bytes, limit: int = 300) -> str:
    """The sentence a page or the API showed (flash, error, or the first text)."""
    text = body.decode("utf-8", "replace")
    with contextlib.suppress(ValueError):
        data = json.loads(text)
        if isinstance(data, dict) and "error" in data:
            return json.dumps(data)[:limit]
    for pattern in (
        r'class="alert[^"]*"[^>]*>(.*?)</div>',
        r'class="invalid-feedback[^"]*"[^>]*>(.*?)</',
        r'data-testid="[\w-]*error"[^>]*>(.*?)<',
        r"<title>(.*?)</title>",
    ):
        m = re.search(pattern, text, re.DOTALL)
        if m and m.group(1).strip():
            return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).split())[:limit]
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())[:limit]


def form_fields(page: str, action: str | None) -> list[tuple[str, str]]:
    """What a browser would submit from the form posting to ``action`` (None: the page's
    own URL, a form without an action): inputs (checked boxes only), selects (the selected
    option, else the first) and textareas."""
    tag = rf'(?=[^>]*action="{re.escape(action)}")' if action else r"(?![^>]*action=)"
    m = re.search(rf'<form\b{tag}[^>]*method="post"[^>]*>(.*?)</form>', page, re.DOTALL)
    if not m:
        raise Failure(f"no form posting to {action}")
    body, out = m.group(1), []
    for attrs in INPUT.findall(body):
        a = dict(ATTR.findall(attrs))
        if "name" not in a or a.get("type") in ("submit", "button", "file"):
            continue
        if a.get("type") in ("checkbox", "radio") and "checked" not in attrs:
            continue
        out.append((a["name"], html.unescape(a.get("value", ""))))
    for name, options in SELECT.findall(body):
        chosen = re.search(r'<option[^>]*value="([^"]*)"[^>]*\bselected', options)
        chosen = chosen or re.search(r'<option[^>]*value="([^"]*)"', options)
        out.append((name, html.unescape(chosen.group(1)) if chosen else ""))
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.S):
        out.append((name, html.unescape(text).lstrip("\n")))
    return out


# ---------------------------------------------------------------------------------------
# Set-up


@dataclass
class World:
    port: int
    campaign_code: str
    token: str
    pool_ids: list[int]
    dialer_leads: list[int]
    own_leads: list[list[int]]  # per supervisor
    phones: list[str]  # as typed: (212) 555-0142
    lead_phones: list[str]  # E.164 of existing leads (some go on the DNC list)


def generate(rows: int, out: Path, seed: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "leadapp.domain.leadgen", str(rows), str(out),
         "--seed", str(seed), "--region", "US"],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def flask(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args[:2])} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def build(env: dict, supervisors: int) -> tuple[str, list[int]]:
    """Account, users, campaign, API token; returns (the token, [the two pools' ids])."""
    from flask_migrate import upgrade

    from leadapp import create_app
    from leadapp.extensions import db
    from leadapp.security import account_scope
    from leadapp.services import accounts as account_service
    from leadapp.services import api_tokens

    app = create_app("development", environ=env)
    with app.app_context():
        upgrade()
        account = account_service.create_account(
            "A day", SLUG, "admin@day.test", PASSWORD, timezone=ACCOUNT_ZONE
        )
        db.session.flush()
        with account_scope(account.id):
            for s in range(1, supervisors + 1):
                account_service.create_user(account, f"sup{s}@day.test", f"Sup {s}", PASSWORD)
            dialer = account_service.create_user(account, "dialer@day.test", "Dialer", PASSWORD)
            account_service.create_campaign(account, CAMPAIGN)
            _, token = api_tokens.create_token(dialer, "the dialer")
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return token, []


def seed_pools(env: dict, tmp: Path, seed_csv: Path) -> None:
    lines = seed_csv.read_bytes().splitlines(keepends=True)
    quarter = tmp / "evening.csv"
    quarter.write_bytes(b"".join(lines[: 1 + (len(lines) - 1) // 4]))
    for path, pool, scope in (
        (seed_csv, "Morning list", "campaign"),
        (quarter, "Evening list", "none"),
    ):
        out = flask(env, "leads", "import", str(path), "--account", SLUG, "--campaign", CAMPAIGN,
                    "--pool", pool, "--auto-map", "--scope", scope, "--json")  # fmt: skip
        counts = json.loads(out.strip().splitlines()[-1])
        print(f"  {pool}: {counts['imported']:,} leads", flush=True)


def world(engine, port: int, token: str, supervisors: int) -> World:
    with engine.connect() as conn:
        code = conn.execute(sa.text("SELECT api_code FROM campaigns")).scalar_one()
        pools = list(
            conn.execute(
                sa.text("SELECT id FROM lead_pools WHERE NOT is_system ORDER BY id")
            ).scalars()
        )
        leads = conn.execute(sa.text("SELECT id, phone1 FROM leads ORDER BY id")).all()
    ids = [r[0] for r in leads]
    dialer = ids[::4]
    rest = [i for k, i in enumerate(ids) if k % 4]
    own = [rest[s::supervisors][:300] for s in range(supervisors)]
    rng = random.Random(7)
    sample = rng.sample(leads, min(400, len(leads)))
    phones = []
    for _id, e164 in sample:
        number = phonenumbers.parse(e164, None)
        phones.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    return World(port, code, token, pools, dialer, own, phones, [r[1] for r in sample])


def dnc_files(count: int, lead_phones: list[str], seed: int) -> list[list[str]]:
    """``count`` lists of numbers: ten of each are existing leads' phones, the rest valid US
    numbers nobody has; no number appears in two lists."""
    from leadapp.domain.leadgen import US_AREAS

    rng = random.Random(seed)
    seen: set[str] = set(lead_phones)
    own = list(lead_phones)
    rng.shuffle(own)
    files = []
    for _ in range(count):
        numbers = [own.pop() for _ in range(min(10, len(own)))]
        while len(numbers) < DNC_NUMBERS:
            text = f"+1{rng.choice(US_AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            number = phonenumbers.parse(text, None)
            if text not in seen and phonenumbers.is_valid_number(number):
                seen.add(text)
                numbers.append(text)
        files.append(numbers)
    return files


# ---------------------------------------------------------------------------------------
# The people


def pause(rng: random.Random, think: float, until: float) -> None:
    time.sleep(min(think * rng.uniform(0.5, 1.5), max(0.0, until - time.monotonic())))


def sign_in(log: Log, b: Browser, email: str, tries: int = 3) -> bool:
    """Through the login form, as a person would: a refusal is counted (a 5xx as a 5xx,
    else as a refused write) and tried again after a pause, at most ``tries`` times."""
    for attempt in range(tries):
        status, page, _ = log.call("login_page", b, "GET", "/login")
        token = CSRF.search(page)
        if status == 200 and token:
            fields = {"email": email, "password": PASSWORD, "csrf_token": token.group(1).decode()}
            status, page, _ = log.call("login", b, "POST", "/login", how="form", fields=fields)
            if status == 302:
                status, page, _ = log.call("grid", b, "GET", "/pools")
                token = CSRF.search(page)
                b.csrf = token.group(1).decode() if token else None
                return b.csrf is not None
        if 0 < status < 500:
            log.refuse("login", status, page, f"{email}, try {attempt + 1}")
        time.sleep(2.0)
    log.notes.append(f"{email} could not log in ({tries} tries)")
    return False


def supervisor(n: int, w: World, log: Log, until: float, think: float, jobs: list[int]):
    """Browse, search, edit leads and wrap codes, save views, watch a job."""
    rng = random.Random(100 + n)
    b = Browser(w.port, "leadapp-bench-day")
    if not sign_in(log, b, f"sup{n + 1}@day.test"):
        return
    mine = w.own_leads[n]
    step = 0
    actions = ["grid"] * 4 + ["grid_partial"] * 3 + ["search"] * 3 + ["lead"] * 3
    actions += ["edit"] * 2 + ["wrap"] * 2 + ["view"] + ["progress"] * 2
    while time.monotonic() < until and log.spend():
        step += 1
        action = rng.choice(actions)
        lead = rng.choice(mine)
        if action == "grid":
            log.call("grid", b, "GET", "/pools")
        elif action == "grid_partial":
            sort = rng.choice(["name", "uploaded", "total"])
            log.call(
                "grid_partial", b, "GET", f"/pools?sort={sort}", headers={"HX-Request": "true"}
            )
        elif action == "search":
            log.call("search", b, "GET", f"/leads?q={quote(rng.choice(w.phones))}")
        elif action == "lead":
            log.call("lead", b, "GET", f"/leads/{lead}")
        elif action == "edit":
            status, page, _ = log.call("edit_form", b, "GET", f"/leads/{lead}/edit")
            if status != 200:
                continue
            fields = form_fields(page.decode(), f"/leads/{lead}/edit")
            name = f"E{n + 1}x{step}"
            fields = [(k, name if k == "first_name" else v) for k, v in fields]
            status, body, headers = log.call(
                "lead_edit", b, "POST", f"/leads/{lead}/edit", how="form", fields=fields
            )
            if status == 302 and f"/leads/{lead}" in headers.get("Location", ""):
                log.ack("lead_edit", lead=lead, value=name, at=time.monotonic())
            elif status < 500:
                log.refuse("lead_edit", status, body, f"lead {lead}")
        elif action == "wrap":
            # As the account stores it (wrap_codes.normalise): upper case, "_" between words.
            code = f"{rng.choice(['NO_ANSWER', 'BUSY', 'SALE', 'VOICEMAIL'])}_{n + 1}_{step}"
            status, body, headers = log.call(
                "wrap_code", b, "POST", f"/leads/{lead}/wrap-code", how="form",
                fields={"wrap_code": code},
            )  # fmt: skip
            if status == 302:
                log.ack("wrap_code", lead=lead, value=code, at=time.monotonic())
            elif status < 500:
                log.refuse("wrap_code", status, body, f"lead {lead}")
        elif action == "view":
            name = f"View {n + 1}-{step}"
            query = rng.choice(["status=active", "sort=name", "q=list", "sort=total&dir=desc"])
            status, body, headers = log.call(
                "saved_view", b, "POST", "/pools/views", how="form",
                fields={"name": name, "grid_query": query},
            )  # fmt: skip
            if status == 302 and "view=" in headers.get("Location", ""):
                log.ack("saved_view", value=name)
            elif status < 500:
                log.refuse("saved_view", status, body, name)
        elif action == "progress" and jobs:
            log.call(
                "progress", b, "GET", f"/jobs/{rng.choice(jobs)}/progress",
                headers={"HX-Request": "true"},
            )  # fmt: skip
        pause(rng, think, until)


def dialer(k: int, threads: int, w: World, log: Log, rate: float, until: float, count: int):
    """Call outcomes at ``rate``/s in all (this thread: every ``threads``-th one)."""
    rng = random.Random(500 + k)
    b = Browser(w.port, "leadapp-bench-day-dialer")
    headers = {"Authorization": f"Bearer {w.token}", "Content-Type": "application/json"}
    t0 = time.monotonic()
    for i in range(k, count, threads):
        wait = t0 + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if time.monotonic() >= until or not log.spend():
            return
        lead = rng.choice(w.dialer_leads)
        note = f"call {i}"
        body = json.dumps(
            {
                "campaign": w.campaign_code,
                "outcome": rng.choice(["answered", "no-answer", "busy", "voicemail"]),
                "wrap_code": rng.choice(["NO_ANSWER", "BUSY", "SALE", "VOICEMAIL"]),
                "notes": note,
                "direction": "outbound",
            }
        )
        status, data, _ = log.call(
            "outcome", b, "POST", f"/api/v1/leads/{lead}/interactions", body=body, headers=headers
        )
        if 200 <= status < 300:
            log.ack("outcome", lead=lead, id=json.loads(data)["interaction"]["id"], value=note)
        elif 0 < status < 500:
            log.refuse("outcome", status, data, f"lead {lead}")


def importer(n: int, w: World, log: Log, csv_path: Path, start_at: float, until: float,
             give_up: float, jobs: list[int]):  # fmt: skip
    """One supervisor's way through the upload wizard, then watching the import."""
    time.sleep(max(0.0, start_at - time.monotonic()))
    b = Browser(w.port, "leadapp-bench-day-import")
    where = f"import {csv_path.name}"
    if not sign_in(log, b, f"sup{n + 1}@day.test"):
        return log.refuse("import", 0, b"could not log in", where)
    try:
        status, page, _ = log.call("import_step", b, "GET", "/imports/new")
        fields = dict(form_fields(page.decode(), None))
        fields.update({"pool_name": f"Import {csv_path.stem}", "target": "new"})
        fields["existing_pool"] = fields.get("existing_pool") or "0"
        status, body, headers = log.call(
            "import_step", b, "POST", "/imports/new", how="form", fields=fields
        )
        m = re.search(r"/imports/(\d+)/file", headers.get("Location", "") if status == 302 else "")
        if not m:
            return log.refuse("import", status, body, f"{where}: settings")
        imp = int(m.group(1))
        status, body, _ = log.call(
            "import_upload", b, "POST", f"/imports/{imp}/file", how="multipart",
            fields={}, files={"file": (csv_path.name, csv_path.read_bytes())},
        )  # fmt: skip
        if status != 302:
            return log.refuse("import", status, body, f"{where}: file")
        status, page, _ = log.call("import_step", b, "GET", f"/imports/{imp}/mapping")
        mapping = [("csrf_token", b.csrf)]
        for index, options in SELECTED.findall(page.decode()):
            chosen = OPTION_SELECTED.search(options)
            mapping.append((f"map-{index}", chosen.group(1) if chosen else ""))
        status, body, _ = log.call(
            "import_step", b, "POST", f"/imports/{imp}/mapping", how="form", fields=mapping
        )
        if status != 302:
            return log.refuse("import", status, body, f"{where}: mapping")
        dup = {"match": "phone1", "scope": "campaign", "action": "discard-new",
               "update_mode": "overwrite", "multiple": "update-all"}  # fmt: skip
        status, body, _ = log.call(
            "import_step", b, "POST", f"/imports/{imp}/duplicates", how="form", fields=dup
        )
        if status != 302:
            return log.refuse("import", status, body, f"{where}: duplicates")
        while True:  # the checking page polls until the staged grid is ready
            status, body, _ = log.call("import_step", b, "GET", f"/imports/{imp}/check")
            text = body.decode("utf-8", "replace")
            if status == 200 and 'data-testid="check-grid"' in text:
                break
            if JOB_ERROR.search(text) or status not in (200, 302):
                return log.refuse("import", status, body, f"{where}: check data")
            if time.monotonic() > give_up:
                return log.refuse("import", status, b"still checking", f"{where}: check data")
            time.sleep(1.0)
        log.call("import_step", b, "GET", f"/imports/{imp}/review")
        status, body, headers = log.call(
            "import_step", b, "POST", f"/imports/{imp}/review", how="form",
            fields={"notify_emails": ""},
        )  # fmt: skip
        if status != 302 or not headers.get("Location", "").endswith(f"/imports/{imp}"):
            return log.refuse("import", status, body, f"{where}: start")
        log.ack("import", id=imp, value=csv_path.name)
        status, page, _ = log.call("import_step", b, "GET", f"/imports/{imp}")
        job = re.search(r"/jobs/(\d+)/progress", page.decode())
        if job:
            jobs.append(int(job.group(1)))
            while time.monotonic() < until:  # the page polls the progress every second
                log.call(
                    "progress", b, "GET", f"/jobs/{job.group(1)}/progress",
                    headers={"HX-Request": "true"},
                )  # fmt: skip
                time.sleep(1.0)
    except (Failure, OSError) as exc:
        log.notes.append(f"{where}: {exc}")
        log.refuse("import", 0, str(exc).encode(), where)


def admin(w: World, log: Log, files: list[list[str]], seconds: float, t0: float,
          give_up: float, jobs: list[int], dedup: dict):  # fmt: skip
    """Do-not-call uploads spread over the day; a dedup job: test run, then scheduled."""
    b = Browser(w.port, "leadapp-bench-day-admin")
    if not sign_in(log, b, "admin@day.test"):
        log.refuse("dnc_upload", 0, b"could not log in", "admin")
        return
    plan = [(seconds * (i + 1) / (len(files) + 2), "dnc", i) for i in range(len(files))]
    plan.append((min(5.0, seconds / 10), "dedup", 0))
    plan.sort()
    for at, what, i in plan:
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        if what == "dnc":
            data = ("phone\n" + "\n".join(files[i]) + "\n").encode()
            status, body, headers = log.call(
                "dnc_upload", b, "POST", "/leads/do-not-call/upload", how="multipart",
                fields={"note": f"upload {i + 1}"}, files={"file": (f"dnc-{i + 1}.csv", data)},
            )  # fmt: skip
            m = re.search(r"upload=(\d+)", headers.get("Location", "") if status == 302 else "")
            if m:
                log.ack("dnc_upload", id=int(m.group(1)), numbers=files[i], value=f"dnc-{i + 1}")
                jobs.append(int(m.group(1)))
            elif status < 500:
                log.refuse("dnc_upload", status, body, f"dnc-{i + 1}.csv")
        else:
            dedup_day(b, w, log, give_up, dedup)


def dedup_day(b: Browser, w: World, log: Log, give_up: float, dedup: dict) -> None:
    fields = [("name", "Morning clean-up"), ("description", "bench/day.py"),
              ("scope", "list"), ("match_keys", "phone1"), ("keep_rule", "latest-created"),
              ("emails", "admin@day.test")]  # fmt: skip
    fields += [("pools", str(p)) for p in w.pool_ids[:2]]
    status, body, headers = log.call("dedup", b, "POST", "/dedup/new", how="form", fields=fields)
    m = re.search(r"/dedup/(\d+)", headers.get("Location", "") if status == 302 else "")
    if not m:
        return log.refuse("dedup", status, body, "new dedup job")
    job = dedup["id"] = int(m.group(1))
    status, body, _ = log.call("dedup", b, "POST", f"/dedup/{job}/test-run", how="form", fields={})
    if status != 302:
        return log.refuse("dedup", status, body, "test run")
    while True:  # the test-run section polls until the page reloads
        status, body, headers = log.call(
            "dedup", b, "GET", f"/dedup/{job}/test-run", headers={"HX-Request": "true"}
        )
        if headers.get("HX-Refresh") == "true" or status != 200:
            break
        if time.monotonic() > give_up:
            return log.refuse("dedup", status, b"test run still running", "test run")
        time.sleep(1.0)
    local = dt.datetime.now(ZoneInfo(ACCOUNT_ZONE)) + dt.timedelta(seconds=20)
    when = (local + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    status, body, headers = log.call(
        "dedup", b, "POST", f"/dedup/{job}", how="form",
        fields={"run_date": when.date().isoformat(), "run_time": when.strftime("%H:%M"),
                "emails": "admin@day.test", "acknowledge": "y"},
    )  # fmt: skip
    page = b.fetch("GET", f"/dedup/{job}")[1].decode("utf-8", "replace")
    if status != 302 or "is scheduled for" not in page and "Scheduled" not in page:
        return log.refuse("dedup", status, body or page.encode(), "schedule")
    dedup["scheduled_for"] = when.isoformat()


# ---------------------------------------------------------------------------------------
# Afterwards


def wait_for_jobs(engine, deadline: float, dedup: dict) -> None:
    """Until no job row is queued or running (and the scheduled dedup run has its row)."""
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            open_rows = conn.execute(
                sa.text(
                    "SELECT count(*) FROM background_jobs WHERE status IN ('queued', 'running')"
                )
            ).scalar_one()
            run = conn.execute(
                sa.text("SELECT status FROM dedup_jobs WHERE id = :id"), {"id": dedup.get("id", 0)}
            ).scalar()
        if open_rows == 0 and run not in ("scheduled", "running"):
            return
        time.sleep(2.0)


HOLD = re.compile(r"write lock held ([\d.]+) s \(waited ([\d.]+) s\) pid \d+, taken at (.*)")


def print_lock_holds(app_log: str, shown: int = 25) -> None:
    """--lock-watch: the write-lock holds past its threshold, by the code that took them
    (longest first), and the time the lock was held in all."""
    holds: dict[str, list[float]] = defaultdict(list)
    for m in HOLD.finditer(app_log):
        holds[m.group(3).strip()].append(float(m.group(1)))
    print()
    print("| write lock held by | times | max s | total s |")
    print("|---|---:|---:|---:|")
    ranked = sorted(holds.items(), key=lambda kv: -max(kv[1]))
    for taker, seconds in ranked[:shown]:
        print(f"| {taker} | {len(seconds)} | {max(seconds):.2f} | {sum(seconds):.1f} |")
    every = [s for seconds in holds.values() for s in seconds]
    print(f"write lock: {len(every)} holds logged, {sum(every):.1f} s in all")


def audit_values(conn, action: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for object_id, details in conn.execute(
        sa.text("SELECT object_id, details FROM audit_log WHERE action = :a"), {"a": action}
    ):
        out[object_id].append(details if isinstance(details, str) else json.dumps(details))
    return out


def verify(engine, log: Log) -> dict[str, dict]:
    """Per kind of write: acknowledged, found in the database, lost (with examples)."""
    out: dict[str, dict] = {}

    def tally(kind: str, found: list[bool], examples: list[str]) -> None:
        out[kind] = {
            "acknowledged": len(found),
            "found": sum(found),
            "lost": len(found) - sum(found),
            "refused": len(log.refused.get(kind, [])),
            "lost_examples": examples[:5],
        }

    with engine.connect() as conn:
        acked = log.acked["outcome"]
        ids = {r["id"] for r in acked}
        present = set()
        id_list = sorted(ids)
        for i in range(0, len(id_list), 500):
            chunk = id_list[i : i + 500]
            present |= {
                (row[0], row[1], row[2])
                for row in conn.execute(
                    sa.select(sa.column("id"), sa.column("lead_id"), sa.column("notes"))
                    .select_from(sa.table("interactions"))
                    .where(sa.column("id").in_(chunk))
                )
            }
        found = [(r["id"], r["lead"], r["value"]) in present for r in acked]
        tally(
            "outcome",
            found,
            [f"interaction {r['id']}" for r, f in zip(acked, found, strict=True) if not f],
        )

        for kind, action, column in (
            ("lead_edit", "lead.updated", "first_name"),
            ("wrap_code", "lead.wrap_code", "wrap_code"),
        ):
            acked = log.acked[kind]
            audited = audit_values(conn, action)
            current = dict(
                conn.execute(
                    sa.text(
                        f"SELECT id, {column} FROM leads WHERE id IN "
                        "(SELECT DISTINCT object_id FROM audit_log WHERE action = :a)"
                    ),
                    {"a": action},
                ).all()  # noqa: S608 (constants)
            )
            last: dict[int, str] = {}
            for r in sorted(acked, key=lambda r: r["at"]):
                last[r["lead"]] = r["value"]
            found, examples = [], []
            for r in acked:
                ok = any(f'"{r["value"]}"' in d for d in audited.get(r["lead"], []))
                if ok and last[r["lead"]] == r["value"]:
                    ok = current.get(r["lead"]) == r["value"]
                found.append(ok)
                if not ok:
                    examples.append(
                        f"lead {r['lead']} {column}={r['value']!r}, now {current.get(r['lead'])!r}"
                    )
            tally(kind, found, examples)

        names = set(conn.execute(sa.text("SELECT name FROM saved_views")).scalars())
        acked = log.acked["saved_view"]
        found = [r["value"] in names for r in acked]
        tally("saved_view", found, [r["value"] for r, f in zip(acked, found, strict=True) if not f])

        listed = set(conn.execute(sa.text("SELECT phone FROM do_not_call_numbers")).scalars())
        acked = log.acked["dnc_upload"]
        found, examples = [], []
        for r in acked:
            missing = [n for n in r["numbers"] if n not in listed]
            found.append(not missing)
            if missing:
                examples.append(
                    f"{r['value']}: {len(missing)} of {len(r['numbers'])} numbers missing"
                )
        tally("dnc_upload", found, examples)
        out["dnc_number"] = {
            "acknowledged": sum(len(r["numbers"]) for r in acked),
            "found": sum(sum(n in listed for n in r["numbers"]) for r in acked),
            "refused": 0,
            "lost_examples": [],
        }
        out["dnc_number"]["lost"] = out["dnc_number"]["acknowledged"] - out["dnc_number"]["found"]

        acked = log.acked["import"]
        found, examples = [], []
        for r in acked:
            row = conn.execute(
                sa.text("SELECT i.pool_id, j.status, j.result FROM imports i "
                        "LEFT JOIN background_jobs j ON j.id = i.job_id WHERE i.id = :id"),
                {"id": r["id"]},
            ).one()  # fmt: skip
            result = row[2] if isinstance(row[2], dict) else json.loads(row[2] or "{}")
            leads = conn.execute(
                sa.text("SELECT count(*) FROM leads WHERE pool_id = :p"), {"p": row[0]}
            ).scalar_one() if row[0] else 0  # fmt: skip
            ok = row[1] == "completed" and leads == result.get("imported", -1) and leads > 0
            found.append(ok)
            r["imported"], r["rows"] = leads, result.get("rows")
            if not ok:
                examples.append(
                    f"{r['value']}: job {row[1]}, {leads} leads in its pool, "
                    f"reported {result.get('imported')}"
                )
        tally("import", found, examples)
    return out


def job_figures(engine) -> tuple[dict, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, kind, status, error, message FROM background_jobs ORDER BY id")
        ).all()
    by: dict[str, Counter] = defaultdict(Counter)
    bad = []
    for job_id, kind, status, error, message in rows:
        by[kind][status] += 1
        if status != "completed":
            bad.append(f"job {job_id} ({kind}) {status}: {error or message}")
    return {k: dict(v) for k, v in sorted(by.items())}, bad


def fmt(ms: float) -> str:
    return "–" if ms != ms else f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}"


# ---------------------------------------------------------------------------------------


def main() -> int:  # noqa: C901, PLR0912, PLR0915 (one straight script)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=180, help="length of the day")
    ap.add_argument("--big-rows", type=int, default=300_000, help="rows of the big import")
    ap.add_argument("--small-rows", type=int, default=5_000, help="rows of the two others")
    ap.add_argument("--leads", type=int, default=20_000, help="leads in the first pool")
    ap.add_argument("--supervisors", type=int, default=10)
    ap.add_argument("--rate", type=float, default=20, help="call outcomes a second")
    ap.add_argument("--dnc-uploads", type=int, default=10)
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between clicks, s")
    ap.add_argument("--max-requests", type=int, default=100_000, help="in all")
    ap.add_argument("--wait", type=float, default=900, help="longest wait for the jobs, s")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", help="PostgreSQL (default: SQLite in the instance)")
    ap.add_argument("--schema", default="leadapp_bench_day")
    ap.add_argument("--redis-url", help="a Redis on 127.0.0.1 (default: embedded)")
    ap.add_argument("--keep", action="store_true", help="keep the schema / instance folder")
    ap.add_argument(
        "--lock-watch", type=float, metavar="SECONDS",
        help="SQLite: list the app's write-lock holds longer than this (LEADAPP_LOCK_WATCH)",
    )  # fmt: skip
    a = ap.parse_args()
    if a.database_url and not a.database_url.startswith(("postgresql://", "postgres://")):
        ap.error("--database-url must be PostgreSQL (without it: SQLite, the default)")
    if a.database_url and not re.match(
        r"postgres(ql)?://([^@/]*@)?(127\.0\.0\.1|localhost)[:/]", a.database_url
    ):
        ap.error("loopback only: --database-url must be on 127.0.0.1")
    if a.redis_url and not re.match(r"redis://(127\.0\.0\.1|localhost)[:/]", a.redis_url):
        ap.error("loopback only: --redis-url must be on 127.0.0.1")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", a.schema):
        ap.error("--schema: lower-case letters, digits and _ only")

    tmp = Path(tempfile.mkdtemp(prefix="leadapp-bench-day-"))
    instance = tmp / "instance"
    unset = ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "LEADAPP_ENV", "FLASK_APP")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({
        "LEADAPP_INSTANCE": str(instance),
        "LEADAPP_ENV": "development",  # as `make run`
        "SECRET_KEY": "bench-day",
        "MAIL_PORT": str(free_port()),  # the run's own SMTP sink, not the usual 8025
    })  # fmt: skip
    database = "PostgreSQL" if a.database_url else "SQLite"
    if a.redis_url:
        import redis

        redis.Redis.from_url(a.redis_url).flushdb()
        env["REDIS_URL"] = a.redis_url
    proc = None
    engine = None
    kept_log = None
    log = Log(max_requests=a.max_requests)
    try:
        t_gen = time.perf_counter()
        files = {
            "seed": (tmp / "morning.csv", a.leads, a.seed),
            "big": (tmp / f"big-{a.big_rows}.csv", a.big_rows, a.seed + 1),
            "small1": (tmp / "afternoon-a.csv", a.small_rows, a.seed + 2),
            "small2": (tmp / "afternoon-b.csv", a.small_rows, a.seed + 3),
        }
        gens = [generate(rows, path, seed) for path, rows, seed in files.values()]
        if a.database_url:
            env["DATABASE_URL"] = fresh_database(a.database_url, a.schema)
        token, _ = build(env, a.supervisors)
        if gens[0].wait() != 0:
            raise SystemExit("the lead generator failed")
        seed_pools(env, tmp, files["seed"][0])
        if any(g.wait() != 0 for g in gens):
            raise SystemExit("the lead generator failed")
        print(f"set up in {time.perf_counter() - t_gen:.0f} s ({database})", flush=True)
        url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'leadapp.db'}"
        from config import _database_url

        engine = sa.create_engine(_database_url(url))
        port = free_port()
        if a.lock_watch is not None:
            env["LEADAPP_LOCK_WATCH"] = str(a.lock_watch)
        proc = start([str(BIN / "flask"), "--app", "wsgi", "run-all", "--port", str(port)],
                     env, tmp / "run-all.log")  # fmt: skip
        probe = Browser(port)
        ready = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError):
                if probe.request("GET", "/login")[0] == 200:
                    break
            if time.monotonic() > ready or proc.poll() is not None:
                raise SystemExit("run-all did not answer: " + (tmp / "run-all.log").read_text())
            time.sleep(0.5)
        w = world(engine, port, token, a.supervisors)
        dnc = dnc_files(a.dnc_uploads, w.lead_phones, a.seed)

        print(f"the day: {a.seconds:g} s", flush=True)
        t0 = time.monotonic()
        until = t0 + a.seconds
        give_up = until + a.wait
        jobs: list[int] = []
        dedup: dict = {}
        threads = [
            threading.Thread(target=log.guarded(supervisor), args=(n, w, log, until, a.think, jobs))
            for n in range(a.supervisors)
        ]
        dialers = max(4, int(a.rate))  # one call a second each: the dialer does not wait
        count = int(a.rate * a.seconds)
        threads += [
            threading.Thread(
                target=log.guarded(dialer), args=(k, dialers, w, log, a.rate, until, count)
            )
            for k in range(dialers)
        ]
        plan = [("big", 0.0), ("small1", a.seconds * 0.3), ("small2", a.seconds * 0.6)]
        threads += [
            threading.Thread(
                target=log.guarded(importer),
                args=(i % a.supervisors, w, log, files[key][0], t0 + at, until, give_up, jobs),
            )
            for i, (key, at) in enumerate(plan)
        ]
        threads.append(
            threading.Thread(
                target=log.guarded(admin), args=(w, log, dnc, a.seconds, t0, give_up, jobs, dedup)
            )
        )
        for t in threads:
            t.daemon = True
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, give_up - time.monotonic()))
        t_day = time.monotonic() - t0
        print(f"traffic ended after {t_day:.0f} s; waiting for the jobs", flush=True)
        wait_for_jobs(engine, give_up, dedup)
        t_jobs = time.monotonic() - t0
        jobs_by, bad_jobs = job_figures(engine)
        with engine.connect() as conn:
            dedup_status = conn.execute(
                sa.text("SELECT status FROM dedup_jobs WHERE id = :id"), {"id": dedup.get("id", 0)}
            ).scalar()
        writes = verify(engine, log)
        app_log = (tmp / "run-all.log").read_text(errors="replace")
    finally:
        with contextlib.suppress(OSError):  # the app's own output outlives the run
            kept = Path(tempfile.gettempdir()) / f"leadapp-bench-day-{os.getpid()}.log"
            kept_log = shutil.copyfile(tmp / "run-all.log", kept)
        if proc is not None:
            stop(proc, signal.SIGINT)  # as Ctrl-C in the terminal of `make run`
        if engine is not None:
            engine.dispose()
        if a.database_url and not a.keep:
            drop_schema(a.database_url, a.schema)
        if a.redis_url:
            import redis

            with contextlib.suppress(redis.RedisError):
                redis.Redis.from_url(a.redis_url).flushdb()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    # -------------------------------------------------------------------------------
    from importlib.metadata import version

    kinds = sorted(log.samples, key=lambda k: -len(log.samples[k]))
    print()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(
        f"python {platform.python_version()}, flask {version('flask')}, rq {version('rq')}; "
        f"{database}, Redis {'at ' + a.redis_url if a.redis_url else 'embedded'}; "
        f"`flask run-all`; {a.supervisors} supervisors (think {a.think:g} s), "
        f"{a.rate:g} outcomes/s, imports of {a.big_rows:,} + 2 x {a.small_rows:,} rows, "
        f"{a.dnc_uploads} DNC uploads, a dedup test run and run; {a.seconds:g} s"
    )
    print()
    print("| requests | n | 2xx/3xx | 4xx | 5xx | no answer | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    requests = {}
    for kind in kinds:
        s = log.samples[kind]
        ok = [ms for ms, st in s if 0 < st < 400]
        fig = {
            "n": len(s),
            "ok": len(ok),
            "4xx": sum(1 for _, st in s if 400 <= st < 500),
            "5xx": sum(1 for _, st in s if st >= 500),
            "no_answer": sum(1 for _, st in s if st == 0),
            "p50": round(percentile(ok, 50), 1) if ok else None,
            "p95": round(percentile(ok, 95), 1) if ok else None,
        }
        requests[kind] = fig
        print(
            f"| {kind} | {fig['n']} | {fig['ok']} | {fig['4xx']} | {fig['5xx']} | "
            f"{fig['no_answer']} | {fmt(percentile(ok, 50))} | {fmt(percentile(ok, 95))} |"
        )
    achieved = len(log.samples.get("outcome", [])) / a.seconds
    print()
    print("| writes | acknowledged | found | lost | refused |")
    print("|---|---:|---:|---:|---:|")
    for kind in (*WRITE_KINDS, "dnc_number"):
        f = writes.get(kind, {"acknowledged": 0, "found": 0, "lost": 0, "refused": 0})
        print(f"| {kind} | {f['acknowledged']} | {f['found']} | {f['lost']} | {f['refused']} |")
    print()
    print("| jobs | " + " | ".join(("completed", "failed", "queued", "running")) + " |")
    print("|---|---:|---:|---:|---:|")
    for kind, counts in jobs_by.items():
        cells = " | ".join(
            str(counts.get(s, 0)) for s in ("completed", "failed", "queued", "running")
        )
        print(f"| {kind} | {cells} |")
    total_5xx = sum(f["5xx"] for f in requests.values())
    no_answer = sum(f["no_answer"] for f in requests.values())
    lost = sum(f["lost"] for k, f in writes.items() if k != "dnc_number")
    refused = sum(len(v) for v in log.refused.values())
    print()
    print(f"outcomes posted: {achieved:.1f}/s (asked {a.rate:g}/s); day {t_day:.0f} s, "
          f"jobs done at {t_jobs:.0f} s; dedup job: {dedup_status or 'not created'}")  # fmt: skip
    for kind, f in writes.items():
        for example in f["lost_examples"]:
            print(f"LOST {kind}: {example}")
    for kind, notes in log.refused.items():
        for note in notes[:5]:
            print(f"REFUSED {kind}: {note}")
    for note in bad_jobs[:10]:
        print(f"JOB NOT COMPLETED: {note}")
    for note in log.crashed:
        print(f"SCRIPT ERROR: {note}")
    for note in log.notes[:10]:
        print(f"NOTE: {note}")
    errors = Counter(
        ln.strip()[:240]
        for ln in app_log.splitlines()
        if re.match(r"\s*[\w.]+(Error|Exception|Locked|Timeout)\b[^ ]*:", ln)
    )
    for line, count in errors.most_common(8):
        print(f"run-all log, {count} x: {line}")
    if a.lock_watch is not None:
        print_lock_holds(app_log)
    if kept_log is not None:
        print(f"run-all log kept in {kept_log}")
    imports = [{"file": r["value"], "rows": r.get("rows"), "leads": r.get("imported")}
               for r in log.acked["import"]]  # fmt: skip
    summary = {
        "database": database,
        "seconds": a.seconds,
        "big_rows": a.big_rows,
        "outcomes_per_second": round(achieved, 1),
        "requests": requests,
        "writes": {
            k: {x: v[x] for x in ("acknowledged", "found", "lost", "refused")}
            for k, v in writes.items()
        },  # fmt: skip
        "jobs": jobs_by,
        "imports": imports,
        "dedup": dedup_status,
        "5xx": total_5xx,
        "no_answer": no_answer,
        "lost": lost,
        "refused": refused,
        "jobs_not_completed": len(bad_jobs),
        "script_errors": len(log.crashed),
    }
    passed = not (total_5xx or no_answer or lost or refused or bad_jobs or log.crashed)
    passed = passed and dedup_status == "completed" and len(imports) == 3
    summary["passed"] = passed
    print(json.dumps(summary))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
