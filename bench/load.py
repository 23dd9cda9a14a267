"""Load test: 25 supervisors in 5 accounts browse the real app while a big import and a dedup run.

usage: python bench/load.py [--rows 1000000] [--seconds 60] [--leads 200000]
                            [--baseline-seconds 20] [--max-requests 20000] [--think 1.0]
                            [--database-url postgresql://127.0.0.1:5432/test]
                            [--schema leadapp_bench_load] [--redis-url redis://127.0.0.1:6379/14]
                            [--wait 900] [--seed 1] [--workers 2] [--threads 4] [--keep]
quick run: python bench/load.py --rows 200000 --seconds 30

Loopback only and bounded: every request goes to 127.0.0.1, the browsing stops after
--seconds or --max-requests requests in all (idle and loaded phases together), whichever
comes first, and the import and dedup are waited for at most --wait seconds.

Set-up: the schema --schema of the PostgreSQL database is dropped, created and migrated
(dropped again at the end unless --keep) by an app built with create_app("production");
the Redis database of --redis-url (default: database 14 of the machine's Redis) is FLUSHED
at the start and at the end, so nothing else may use it; a temporary instance folder holds
the staged upload and the logs. Five accounts, each with an admin, five supervisors,
a campaign, six pools assigned to it and --leads leads (one set-based ``INSERT ... SELECT
generate_series``, a fifth of them sharing a phone with another lead), counters refreshed.

Then the real app runs as separate processes: ``gunicorn -w 2 --threads 4 -b 127.0.0.1:<free port>
wsgi:app`` (--workers, --threads; with threads > 1 gunicorn uses its gthread worker) and one
RQ worker (``flask --app wsgi worker``), with LEADAPP_ENV=development:
production sets SESSION_COOKIE_SECURE and config.py has no switch to turn it off, so over
plain http a client would not send the session back. The two configurations differ only in
that cookie flag and the admin outbox page.

Each supervisor logs in (POST /login with the form's CSRF token), then loops over GET /pools,
GET /pools as htmx (the grid partial), GET /leads?q=<a phone of the account>,
GET /leads/<id> and GET /jobs/<id>/progress as htmx, waiting --think seconds on average
(0.5x to 1.5x, like a person; htmx polls progress every second) between requests:
  * idle: --baseline-seconds with nothing else running (the baseline; progress polls read
    a finished job of the account);
  * loaded: --seconds while a --rows-row generated file (leadapp.domain.leadgen) is imported
    into account 1 by the worker (``flask leads import ... --enqueue``; account 1's
    supervisors now poll that job) and ``flask dedup run`` runs in account 2.
It prints count, p50, p95, p99 per request kind for both phases, loaded/idle ratios, the
5xx and other failures, the goals of issue 7 (zero 5xx, grid p95 < 500 ms, progress poll
p95 < 50 ms) and whether the import and the dedup finished, with their wall times. A second
table gives gunicorn's own time per request (its access log): the client's time minus it is
the wait for a free worker and for the CPU.
Exits 1 on any 5xx or failed request (connection reset, timeout, unexpected status).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import phonenumbers  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from _common import cpu_model, drop_schema, fresh_database  # noqa: E402
from _live import Browser, free_port, percentile, start, stop  # noqa: E402

PASSWORD = "correct horse battery"  # noqa: S105 (throw-away bench users)
ACCOUNTS = 5
SUPERVISORS = 5
POOLS = 6
AREAS = ("212", "312", "415", "617", "713")  # one area code per account
GOAL_GRID_P95_MS = 500.0
GOAL_PROGRESS_P95_MS = 50.0
BIN = Path(sys.executable).parent
KINDS = (
    ("grid", "GET /pools (grid page)"),
    ("grid_partial", "GET /pools, htmx (grid partial)"),
    ("search", "GET /leads?q=<phone>"),
    ("lead", "GET /leads/<id>"),
    ("progress", "GET /jobs/<id>/progress, htmx (all polls)"),
    ("progress_import", "  of which: the running import's job (account 1)"),
)


# ---------------------------------------------------------------------------------------
# Data


def fill(db, account_id: int, pool_ids: list[int], area: str, leads: int) -> None:
    """Leads i = 0..leads-1 spread over the pools; phone1 +1 <area> 5xx xxxx from i % unique
    (unique = 80 % of leads, so a fifth are duplicates), mixed status, some called."""
    pools = "ARRAY[" + ",".join(str(p) for p in pool_ids) + "]"
    db.session.execute(
        sa.text(
            f"""
            INSERT INTO leads (account_id, pool_id, customer_key, first_name, last_name,
                phone1, phone1_raw, timezone, source, status, completed, do_not_call,
                dial_order, call_count, last_called_at, custom, created_at, updated_at)
            SELECT :account, ({pools})[1 + i % {len(pool_ids)}], 'C' || i, 'First' || i,
                'Last' || i,
                '+1{area}5' || lpad(((i % :unique) + 100000)::text, 6, '0'),
                '({area}) 5' || lpad(((i % :unique) + 100000)::text, 6, '0'),
                'America/New_York',
                CASE WHEN i % 11 = 0 THEN 'inbound' ELSE 'outbound' END,
                (ARRAY['open','open','open','open','open','closed','open','open'])[1 + i % 8],
                i % 7 = 0, i % 23 = 0, i, CASE WHEN i % 3 = 0 THEN i % 5 ELSE 0 END,
                CASE WHEN i % 3 = 0 THEN now() - (i % 90) * interval '1 day' END,
                '{{}}'::json,
                TIMESTAMP '2026-01-01' + i * INTERVAL '1 second',
                TIMESTAMP '2026-01-01' + i * INTERVAL '1 second'
            FROM generate_series(0, :leads - 1) AS i
            """  # noqa: S608 (constants only)
        ),
        {"account": account_id, "unique": max(1, leads * 4 // 5), "leads": leads},
    )


@dataclass
class Tenant:
    slug: str
    campaign: str
    supervisors: list[str]
    lead_ids: list[int]
    phones: list[str]  # as a user would type them: (212) 510-0042
    finished_job: int  # a completed job row, polled in the idle phase


def build(app, n_leads: int) -> list[Tenant]:
    from flask_migrate import upgrade

    from leadapp.extensions import db
    from leadapp.models import LeadPool, PoolAssignment
    from leadapp.security import account_scope
    from leadapp.services import accounts as account_service
    from leadapp.services import jobs as job_rows
    from leadapp.services import pools as pool_service

    tenants = []
    with app.app_context():
        upgrade()
        for k in range(1, ACCOUNTS + 1):
            account = account_service.create_account(
                f"Load {k}", f"load-{k}", f"admin{k}@load.test", PASSWORD
            )
            db.session.flush()
            with account_scope(account.id):
                emails = []
                for s in range(1, SUPERVISORS + 1):
                    email = f"sup{k}-{s}@load.test"
                    account_service.create_user(account, email, f"Supervisor {k}.{s}", PASSWORD)
                    emails.append(email)
                campaign = account_service.create_campaign(account, f"Campaign {k}")
                pools = [
                    LeadPool(account_id=account.id, name=f"Pool {k}-{i}") for i in range(POOLS)
                ]
                db.session.add_all(pools)
                db.session.flush()
                for pool in pools:
                    db.session.add(
                        PoolAssignment(
                            account_id=account.id,
                            pool_id=pool.id,
                            campaign_id=campaign.id,
                            to_dial=True,
                        )
                    )
                fill(db, account.id, [p.id for p in pools], AREAS[k - 1], n_leads)
                pool_service.refresh_counts(pool_service.list_pools())
                job = job_rows.create_job(account.id, "import", "An earlier import", "imports")
                job_rows.mark_completed(job, {"rows": 0}, "Done.")
                db.session.commit()
                rows = db.session.execute(
                    sa.text(
                        "SELECT id, phone1 FROM leads WHERE account_id = :a "
                        "ORDER BY random() LIMIT 200"
                    ),
                    {"a": account.id},
                ).all()
                phones = []
                for _id, e164 in rows:
                    number = phonenumbers.parse(e164, None)
                    if phonenumbers.is_valid_number(number):
                        phones.append(
                            phonenumbers.format_number(
                                number, phonenumbers.PhoneNumberFormat.NATIONAL
                            )
                        )
                tenants.append(
                    Tenant(
                        account.slug,
                        campaign.name,
                        emails,
                        [r[0] for r in rows],
                        phones[:50],
                        job.id,
                    )
                )
            print(f"account {account.slug}: {n_leads:,} leads", flush=True)
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tenants


# ---------------------------------------------------------------------------------------
# Browsing (processes and the HTTP client: bench/_live.py)


@dataclass
class Sample:
    ms: float
    status: int  # 0: no answer (connection error, timeout)


@dataclass
class Phase:
    name: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, sample: Sample, note: str | None = None) -> None:
        with self.lock:
            self.samples.setdefault(kind, []).append(sample)
            if note and len(self.failures) < 20:
                self.failures.append(note)


class Budget:
    """The run's request cap, shared by every thread and both phases."""

    def __init__(self, limit: int):
        self.left = limit
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def browse(
    browser: Browser,
    tenant: Tenant,
    job_id: int,
    phase: Phase,
    until: float,
    budget: Budget,
    think: float,
    rng: random.Random,
    import_poll: bool,
) -> None:
    htmx = {"HX-Request": "true"}
    steps = [
        ("grid", "/pools", None),
        ("grid_partial", "/pools", htmx),
        ("search", None, None),
        ("lead", None, None),
        ("progress", f"/jobs/{job_id}/progress", htmx),
    ]
    step = rng.randrange(len(steps))  # not everyone on the same page at once
    time.sleep(rng.uniform(0, think))  # nor clicking at the same moment
    while time.monotonic() < until and budget.take():
        kind, path, headers = steps[step % len(steps)]
        step += 1
        if kind == "search":
            path = "/leads?q=" + quote(rng.choice(tenant.phones))
        elif kind == "lead":
            path = f"/leads/{rng.choice(tenant.lead_ids)}"
        try:
            status, _, ms = browser.request("GET", path, headers=headers)
        except (OSError, http.client.HTTPException) as exc:
            status, ms = 0, float("nan")
            note = f"{path}: {type(exc).__name__}: {exc}"
        else:
            note = None if status == 200 else f"{path}: HTTP {status}"
        sample = Sample(ms, status)
        phase.add(kind, sample, note)
        if kind == "progress" and import_poll:
            phase.add("progress_import", sample)
        if think > 0:
            time.sleep(min(think * rng.uniform(0.5, 1.5), max(0.0, until - time.monotonic())))


def run_phase(name, pairs, jobs, seconds, budget, think, import_job=None) -> Phase:
    phase = Phase(name)
    until = time.monotonic() + seconds
    threads = []
    for i, (browser, tenant) in enumerate(pairs):
        job_id = jobs[tenant.slug]
        t = threading.Thread(
            target=browse,
            args=(browser, tenant, job_id, phase, until, budget, think, random.Random(i)),
            kwargs={"import_poll": import_job is not None and job_id == import_job},
            daemon=True,
        )
        t.start()
        threads.append(t)
    for t in threads:
        t.join(timeout=seconds + 300)
    return phase


# ---------------------------------------------------------------------------------------
# Report


def figures(samples: list[Sample]) -> dict:
    ok = [s.ms for s in samples if s.status and s.status < 500]
    return {
        "n": len(samples),
        "p50": percentile(ok, 50),
        "p95": percentile(ok, 95),
        "p99": percentile(ok, 99),
        "5xx": sum(1 for s in samples if s.status >= 500),
        "failed": sum(1 for s in samples if s.status != 200 and s.status < 500),
    }


def fmt(ms: float) -> str:
    return "–" if ms != ms else f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}"


def ratio(a: float, b: float) -> str:
    return "–" if a != a or b != b or b == 0 else f"{a / b:.1f}"


def server_times(log: Path, start: int, end: int, import_job: int | None) -> dict:
    """Gunicorn's own time per request kind (ms), from the access log between two offsets:
    the client's time minus this is the wait for a free worker (and the CPU)."""
    with log.open("rb") as f:
        f.seek(start)
        lines = f.read(end - start).decode(errors="replace").splitlines()
    out: dict[str, list[float]] = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or parts[0] != "GET":
            continue
        path, ms, htmx = parts[1], float(parts[3]), parts[4:] == ["true"]
        if path == "/pools":
            kind = "grid_partial" if htmx else "grid"
        elif path == "/leads":
            kind = "search"
        elif re.fullmatch(r"/leads/\d+", path):
            kind = "lead"
        elif m := re.fullmatch(r"/jobs/(\d+)/progress", path):
            kind = "progress"
            if import_job is not None and int(m.group(1)) == import_job:
                out.setdefault("progress_import", []).append(ms)
        else:
            continue
        out.setdefault(kind, []).append(ms)
    return out


def job_row(engine, job_id: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT status, progress, message, error, result, created_at, started_at, "
                "finished_at FROM background_jobs WHERE id = :id"
            ),
            {"id": job_id},
        ).mappings()
        return dict(row.one())


# ---------------------------------------------------------------------------------------


def main() -> int:  # noqa: C901, PLR0912, PLR0915 (one straight script)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the imported file")
    ap.add_argument("--seconds", type=float, default=60, help="browsing under load")
    ap.add_argument("--baseline-seconds", type=float, default=20, help="browsing idle")
    ap.add_argument("--max-requests", type=int, default=20_000, help="in all, both phases")
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between requests, s")
    ap.add_argument("--leads", type=int, default=200_000, help="leads per account before")
    ap.add_argument("--wait", type=float, default=900, help="longest wait for import/dedup, s")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    ap.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    ap.add_argument("--database-url", default="postgresql://127.0.0.1:5432/test")
    ap.add_argument("--schema", default="leadapp_bench_load")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    a = ap.parse_args()
    if not a.database_url.startswith(("postgresql://", "postgres://")):
        ap.error("the load test needs PostgreSQL (generate_series; its goals are PostgreSQL's)")
    if not re.match(r"redis://(127\.0\.0\.1|localhost)[:/]", a.redis_url):
        ap.error("loopback only: --redis-url must be on 127.0.0.1")

    import redis

    from leadapp import create_app

    tmp = Path(tempfile.mkdtemp(prefix="leadapp-bench-load-"))
    procs: dict[str, subprocess.Popen | None] = {"web": None, "worker": None, "dedup": None}
    redis.Redis.from_url(a.redis_url).flushdb()
    monitor = None
    try:
        csv_path, truth_path = tmp / "leads.csv", tmp / "truth.json"
        t_gen = time.perf_counter()
        gen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leadapp.domain.leadgen",
                str(a.rows),
                str(csv_path),
                "--seed",
                str(a.seed),
                "--region",
                "US",
                "--truth",
                str(truth_path),
            ],
            cwd=ROOT,
        )  # fmt: skip  (made while the database fills)
        db_url = fresh_database(a.database_url, a.schema)
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REDIS_URL": a.redis_url,
            "SECRET_KEY": "bench-load",
            "LEADAPP_INSTANCE": str(tmp / "instance"),
            "LEADAPP_ENV": "development",  # see the docstring: Secure cookies over http
            "MAIL_PORT": str(free_port()),  # nothing listens: no mail leaves this run
        }
        app = create_app("production", environ=env)
        t0 = time.perf_counter()
        tenants = build(app, a.leads)
        print(f"built {ACCOUNTS} accounts in {time.perf_counter() - t0:.1f} s", flush=True)
        if gen.wait() != 0:
            raise SystemExit("the lead generator failed")
        print(f"generated {a.rows:,} rows in {time.perf_counter() - t_gen:.1f} s", flush=True)
        monitor = sa.create_engine(db_url)  # already postgresql+psycopg:// with search_path

        port = free_port()
        access = tmp / "access.log"  # server-side time of each request (%(M)s, in ms)
        procs["web"] = start(
            [str(BIN / "gunicorn"), "-w", str(a.workers), "--threads", str(a.threads),
             "-b", f"127.0.0.1:{port}",
             "--access-logfile", str(access),
             "--access-logformat", "%(m)s %(U)s %(s)s %(M)s %({hx-request}i)s", "wsgi:app"],
            env,
            tmp / "gunicorn.log",
        )  # fmt: skip
        procs["worker"] = start(
            [str(BIN / "flask"), "--app", "wsgi", "worker"], env, tmp / "worker.log"
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if Browser(port).request("GET", "/login")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or procs["web"].poll() is not None:
                raise SystemExit("gunicorn did not answer: " + (tmp / "gunicorn.log").read_text())
            time.sleep(0.3)

        pairs = []
        for tenant in tenants:
            for email in tenant.supervisors:
                browser = Browser(port)
                browser.login(email, PASSWORD)
                pairs.append((browser, tenant))
        print(f"{len(pairs)} supervisors logged in", flush=True)
        for browser, tenant in pairs:  # warm up: templates, plans, connections (not timed)
            for path in ("/pools", f"/leads/{tenant.lead_ids[0]}", "/leads?q=1"):
                browser.request("GET", path)

        budget = Budget(a.max_requests)
        jobs = {t.slug: t.finished_job for t in tenants}
        print(f"idle: browsing {a.baseline_seconds:g} s", flush=True)
        mark = access.stat().st_size
        idle = run_phase("idle", pairs, jobs, a.baseline_seconds, budget, a.think)
        server = {"idle": server_times(access, mark, access.stat().st_size, None)}

        flask = [str(BIN / "flask"), "--app", "wsgi"]
        t_import = time.monotonic()
        out = subprocess.run(
            [*flask, "leads", "import", str(csv_path), "--account", tenants[0].slug,
             "--campaign", tenants[0].campaign, "--pool", "Load import", "--auto-map",
             "--enqueue", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        import_job = json.loads(out.stdout.strip().splitlines()[-1])["job_id"]
        t_enqueued = time.monotonic() - t_import
        t_dedup = time.monotonic()
        procs["dedup"] = start(
            [*flask, "dedup", "run", "--account", tenants[1].slug, "--json"],
            env,
            tmp / "dedup.log",
        )
        jobs[tenants[0].slug] = import_job
        print(
            f"loaded: import job {import_job} queued ({t_enqueued:.1f} s), dedup started; "
            f"browsing {a.seconds:g} s",
            flush=True,
        )
        done: dict[str, float] = {}  # when the import and the dedup ended (monotonic)
        wait_until = time.monotonic() + a.seconds + a.wait

        def watch():
            while time.monotonic() < wait_until and len(done) < 2:
                if "import" not in done and job_row(monitor, import_job)["status"] in (
                    "completed",
                    "failed",
                ):
                    done["import"] = time.monotonic()
                if "dedup" not in done and procs["dedup"].poll() is not None:
                    done["dedup"] = time.monotonic()
                time.sleep(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        t_load, mark = time.monotonic(), access.stat().st_size
        loaded = run_phase("loaded", pairs, jobs, a.seconds, budget, a.think, import_job)
        t_load_end = time.monotonic()
        server["loaded"] = server_times(access, mark, access.stat().st_size, import_job)
        watcher.join(timeout=max(0.0, wait_until - time.monotonic()) + 5)  # bounded
        import_done_at, dedup_done_at = done.get("import"), done.get("dedup")
        import_row = job_row(monitor, import_job)
        dedup_rc = procs["dedup"].poll()
        dedup_out = (tmp / "dedup.log").read_text(errors="replace").strip().splitlines()
        web_log = (tmp / "gunicorn.log").read_text(errors="replace")
        worker_log = (tmp / "worker.log").read_text(errors="replace")
    finally:
        for name in ("dedup", "worker", "web"):
            stop(procs[name])
        if monitor is not None:
            monitor.dispose()
        if not a.keep:
            drop_schema(a.database_url, a.schema)
        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(a.redis_url).flushdb()
        shutil.rmtree(tmp, ignore_errors=True)

    # -------------------------------------------------------------------------------
    from importlib.metadata import version

    print()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(
        f"python {platform.python_version()}, flask {version('flask')}, gunicorn "
        f"{version('gunicorn')} (-w {a.workers} --threads {a.threads}), rq {version('rq')}, "
        f"psycopg {version('psycopg')}; "
        f"PostgreSQL; {ACCOUNTS} accounts x {a.leads:,} leads; {len(pairs)} supervisors, "
        f"think {a.think:g} s; idle {a.baseline_seconds:g} s, loaded {a.seconds:g} s; "
        f"import of {a.rows:,} rows + dedup of {a.leads:,} leads"
    )
    print()
    print(
        "| request | idle n | idle p50 | idle p95 | idle p99 | loaded n | loaded p50 | "
        "loaded p95 | loaded p99 | p95 × idle | p99 × idle | 5xx | other failures |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    results = {}
    for kind, label in KINDS:
        i = figures(idle.samples.get(kind, []))
        ld = figures(loaded.samples.get(kind, []))
        base = figures(idle.samples.get("progress", [])) if kind == "progress_import" else i
        results[kind] = ld
        count_5xx = 0 if kind == "progress_import" else i["5xx"] + ld["5xx"]
        failed = 0 if kind == "progress_import" else i["failed"] + ld["failed"]
        idle_cells = (
            "| – | – | – | –"
            if kind == "progress_import"
            else f"| {i['n']} | {fmt(i['p50'])} | {fmt(i['p95'])} | {fmt(i['p99'])}"
        )
        print(
            f"| {label} {idle_cells} | {ld['n']} | {fmt(ld['p50'])} | {fmt(ld['p95'])} | "
            f"{fmt(ld['p99'])} | {ratio(ld['p95'], base['p95'])} | "
            f"{ratio(ld['p99'], base['p99'])} | {count_5xx} | {failed} |"
        )
    print()
    print("times in ms (client side, connect to last byte); × idle: loaded / idle, same run")
    print()
    print(
        "| request | server p50 idle | server p95 idle | server p50 loaded | "
        "server p95 loaded | queueing at p95 (1 − server / client) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for kind, label in KINDS:
        si = server["idle"].get("progress" if kind == "progress_import" else kind, [])
        sl = server["loaded"].get(kind, [])
        p95_client = results[kind]["p95"]
        p95_server = percentile(sl, 95)
        wait = (
            "–"
            if p95_client != p95_client or p95_server != p95_server
            else f"{max(0.0, 1 - p95_server / p95_client):.0%}"
        )
        print(
            f"| {label} | {fmt(percentile(si, 50))} | {fmt(percentile(si, 95))} | "
            f"{fmt(percentile(sl, 50))} | {fmt(p95_server)} | {wait} |"
        )
    print()
    print(
        "server: gunicorn's own time per request (its access log, %(M)s); the rest of the "
        f"client's time is the wait for a free worker ({a.workers} x {a.threads} thread(s)) "
        "and for the CPU"
    )
    total_5xx = sum(
        figures(p.samples.get(k, []))["5xx"] for p in (idle, loaded) for k, _ in KINDS[:5]
    )
    total_failed = sum(
        figures(p.samples.get(k, []))["failed"] for p in (idle, loaded) for k, _ in KINDS[:5]
    )
    grid_p95 = max(results["grid"]["p95"], results["grid_partial"]["p95"])
    poll_p95 = max(results["progress"]["p95"], results["progress_import"]["p95"])
    print()
    for name, met in (
        ("zero 5xx", total_5xx == 0),
        (f"grid p95 < {GOAL_GRID_P95_MS:.0f} ms under load (page and partial)",
         grid_p95 < GOAL_GRID_P95_MS),
        (f"progress poll p95 < {GOAL_PROGRESS_P95_MS:.0f} ms under load",
         poll_p95 < GOAL_PROGRESS_P95_MS),
    ):  # fmt: skip
        print(f"goal {name}: {'met' if met else 'MISSED'}")
    print(f"failed requests other than 5xx: {total_failed}")
    for note in (idle.failures + loaded.failures)[:10]:
        print(f"  {note}")

    def wall(row) -> str:
        if row["finished_at"] and row["started_at"]:
            total = (row["finished_at"] - row["created_at"]).total_seconds()
            running = (row["finished_at"] - row["started_at"]).total_seconds()
            return f"{total:.1f} s from enqueue ({running:.1f} s running)"
        return "–"

    result = import_row["result"] or {}
    finished = import_row["status"] == "completed"
    print()
    print(
        f"import ({a.rows:,} rows, worker): {import_row['status']} at "
        f"{import_row['progress']} %; {wall(import_row)}"
        + (
            f"; imported {result.get('imported', 0):,} of {result.get('rows', 0):,} rows"
            if finished
            else f"; {import_row['error'] or import_row['message']}"
        )
    )
    if import_done_at is not None:
        overlap = max(0.0, min(import_done_at, t_load_end) - t_load)
        print(f"  the import was running for {overlap:.0f} s of the {a.seconds:g} s loaded window")
    if dedup_rc is None or dedup_done_at is None:
        print(f"dedup run (account 2, CLI): not finished after {a.wait:g} s of waiting")
    else:
        print(
            f"dedup run (account 2, CLI): {'finished' if dedup_rc == 0 else f'exit {dedup_rc}'}"
            f" in {dedup_done_at - t_dedup:.1f} s; {dedup_out[-1] if dedup_out else ''}"
        )
        overlap = max(0.0, min(dedup_done_at, t_load_end) - t_load)
        print(f"  the dedup was running for {overlap:.0f} s of the {a.seconds:g} s loaded window")
    for name, log in (("gunicorn", web_log), ("worker", worker_log)):
        bad = [ln for ln in log.splitlines() if "Traceback" in ln or "WORKER TIMEOUT" in ln]
        if bad:
            print(f"{name} log: {len(bad)} traceback(s)/timeout(s), e.g. {bad[0]}")
    print("the machine is shared: figures are noisy, compare ratios within one run")
    return 1 if total_5xx or total_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
