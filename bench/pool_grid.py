"""Benchmark: the lead-pool grid page with 1,000,000 leads in 200 pools, on PostgreSQL.

usage: python bench/pool_grid.py [--leads 1000000] [--pools 200] [--runs 15]
                                 [--database-url URL] [--schema bench_pool_grid] [--keep]

The database is $BENCH_DATABASE_URL (default postgresql://127.0.0.1:5432/test); everything
happens in the schema --schema, created empty, migrated, and dropped at the end (unless
--keep). It creates an account, two projects with three campaigns, --pools pools (most
assigned to a campaign to dial) and --leads leads spread over them with one set-based
``INSERT ... SELECT generate_series`` (mixed status, completed, do-not-call, calls, time
zones), stores the counters with ``refresh_counts``, then times in the same run, each the
median of --runs:
  * baseline A: ``SELECT count(*) FROM leads`` (one scan of every lead);
  * baseline B: ``pool_counts()``, the full recount the stored counters replace;
  * the grid page GET /pools through the Flask test client, logged in (what a user opens);
  * the grid page sorted by ready to dial, page 2, filtered by a campaign;
  * the grid page with every extra KPI column (duplicates, callable now, last activity:
    these read the leads of the shown page's pools only).
It prints each time in ms and as a ratio to both baselines, and checks that the grid's
numbers equal the full recount. Exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from _common import cpu_model, drop_schema, fresh_database  # noqa: E402

PASSWORD = "correct horse battery"  # noqa: S105 (a throw-away bench account)
ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "Pacific/Honolulu", "America/Anchorage", "Europe/London",
)  # fmt: skip


def median_ms(fn, runs: int) -> float:
    fn()  # warm up (plans, caches, first connection)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def build(db, account, n_pools: int, n_leads: int) -> None:
    """Pools and assignments through the ORM (a few hundred rows), leads in one INSERT."""
    from leadapp.models import LeadPool, PoolAssignment
    from leadapp.services.accounts import create_campaign

    campaigns = [
        create_campaign(account, "Spring Sales", project="Outbound"),
        create_campaign(account, "Renewals", project="Outbound"),
        create_campaign(account, "Survey", project="Research", purpose="survey"),
    ]
    pools = [
        LeadPool(
            account_id=account.id,
            name=f"Upload {i:03d}",
            status="inactive" if i % 10 == 9 else "active",
            invalid_count=i % 37,
            source_file_name=f"upload_{i:03d}.csv",
        )
        for i in range(n_pools)
    ]
    db.session.add_all(pools)
    db.session.flush()
    for i, pool in enumerate(pools):
        if i % 8 == 7:
            continue  # some pools are not assigned at all
        db.session.add(
            PoolAssignment(
                account_id=account.id,
                pool_id=pool.id,
                campaign_id=campaigns[i % 3].id,
                to_dial=i % 5 != 4,
            )
        )
    db.session.flush()
    first, count = pools[0].id, len(pools)
    zones = "ARRAY[" + ",".join(f"'{z}'" for z in ZONES) + "]"
    db.session.execute(
        sa.text(
            f"""
            INSERT INTO leads (account_id, pool_id, customer_key, first_name, last_name,
                phone1, phone1_raw, timezone, source, status, completed, do_not_call,
                dial_order, call_count, last_called_at, custom, created_at, updated_at)
            SELECT :account, :first + (g % :count), 'C' || g, 'First' || g, 'Last' || g,
                CASE WHEN g % 50 = 0 THEN NULL ELSE '+1212' || lpad((g % 10000000)::text, 7, '0') END,
                '(212) ' || g,
                ({zones})[1 + g % {len(ZONES)}],
                'outbound',
                (ARRAY['open','open','open','open','open','closed','closed','removed','inactive','open'])[1 + g % 10],
                g % 7 = 0,
                g % 23 = 0,
                g,
                CASE WHEN g % 3 = 0 THEN g % 5 ELSE 0 END,
                CASE WHEN g % 3 = 0 THEN now() - (g % 90) * interval '1 day' END,
                '{{}}'::json, now(), now()
            FROM generate_series(1, :n) AS g
            """  # noqa: E501, S608 (constants only)
        ),
        {"account": account.id, "first": first, "count": count, "n": n_leads},
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--pools", type=int, default=200)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/test"),
    )
    ap.add_argument("--schema", default="bench_pool_grid")
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    a = ap.parse_args()
    if not a.database_url.startswith(("postgresql://", "postgres://")):
        ap.error("the grid benchmark needs PostgreSQL (generate_series)")

    from flask_migrate import upgrade

    from leadapp import create_app
    from leadapp.extensions import db
    from leadapp.models import LeadPool
    from leadapp.security import account_scope
    from leadapp.services import accounts as account_service
    from leadapp.services import pool_grid
    from leadapp.services import pools as pool_service

    url = fresh_database(a.database_url, a.schema)
    ok = True
    try:
        with tempfile.TemporaryDirectory(prefix="leadapp-bench-") as tmp:
            app = create_app(
                "production",
                environ={
                    "DATABASE_URL": url,
                    "LEADAPP_INSTANCE": str(Path(tmp) / "instance"),
                    "SECRET_KEY": "bench",
                    "REDIS_URL": "redis://127.0.0.1:6379/15",  # never used here
                },
            )
            with app.app_context():
                upgrade()
                account = account_service.create_account(
                    "Bench", "bench", "admin@bench.test", PASSWORD
                )
                db.session.commit()
                account_id = account.id
                with account_scope(account_id):
                    t0 = time.perf_counter()
                    build(db, account, a.pools, a.leads)
                    db.session.commit()
                    t_build = time.perf_counter() - t0
                    db.session.execute(sa.text("ANALYZE"))
                    db.session.commit()
                    t0 = time.perf_counter()
                    pool_service.refresh_counts(pool_service.list_pools())
                    db.session.commit()
                    t_refresh = time.perf_counter() - t0
                    leads = db.session.scalar(sa.text("SELECT count(*) FROM leads"))
                    print(
                        f"built {leads:,} leads in {a.pools} pools in {t_build:.1f} s; "
                        f"refresh_counts (all pools) {t_refresh:.2f} s",
                        flush=True,
                    )

                    def count_all():
                        db.session.execute(sa.text("SELECT count(*) FROM leads")).scalar()
                        db.session.rollback()

                    def recount():
                        pool_service.pool_counts()
                        db.session.rollback()

                    base_count = median_ms(count_all, a.runs)
                    base_recount = median_ms(recount, a.runs)
                    truth = pool_service.pool_counts()
                    stored = {
                        p.id: p.total_count
                        for p in db.session.scalars(sa.select(LeadPool))
                        if not p.is_system
                    }
                    db.session.rollback()
                    ok = stored == {pid: c["total"] for pid, c in truth.items()}
                    campaign_id = db.session.scalar(
                        sa.text("SELECT id FROM campaigns WHERE name = 'Spring Sales'")
                    )
                db.session.remove()

            client = app.test_client()
            base = "https://localhost"  # production sets the session cookie "Secure"
            html = client.get("/login", base_url=base).get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
            response = client.post(
                "/login",
                data={"email": "admin@bench.test", "password": PASSWORD, "csrf_token": token},
                base_url=base,
                headers={"Referer": f"{base}/login"},  # Flask-WTF's strict check over HTTPS
            )
            assert response.status_code == 302, response.status_code

            def page(path):
                def get():
                    r = client.get(path, base_url=base)
                    assert r.status_code == 200, (path, r.status_code)
                    return r

                return get

            extra = "&".join(f"col={c}" for c in pool_grid.EXTRA_COLUMNS)
            cases = [
                ("GET /pools (the home page)", "/pools"),
                (
                    "GET /pools sorted by ready to dial, page 2",
                    "/pools?status=all&sort=ready&dir=desc&page=2",
                ),
                ("GET /pools filtered by a campaign", f"/pools?campaign={campaign_id}"),
                ("GET /pools with every extra KPI column", f"/pools?status=all&{extra}"),
            ]
            timed = [(label, median_ms(page(path), a.runs)) for label, path in cases]
            first_page = page("/pools?status=all&sort=name&dir=asc")().get_data(as_text=True)
            shown = int(re.search(r"([\d,]+) pools? · page", first_page).group(1).replace(",", ""))
            ok = ok and shown == a.pools + 1  # and the system Inactive pool
    finally:
        if not a.keep:
            drop_schema(a.database_url, a.schema)

    from importlib.metadata import version

    print()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(
        f"python {platform.python_version()}, flask {version('flask')}, psycopg "
        f"{version('psycopg')}, sqlalchemy {sa.__version__}; PostgreSQL; "
        f"{a.leads:,} leads in {a.pools} pools; median of {a.runs} runs"
    )
    print()
    print("| what | ms (median) | × count(*) | × full recount |")
    print("|---|---:|---:|---:|")
    print(f"| baseline A: `SELECT count(*) FROM leads` | {base_count:.1f} | 1.00 | |")
    print(
        f"| baseline B: `pool_counts()` full recount | {base_recount:.1f} | "
        f"{base_recount / base_count:.2f} | 1.00 |"
    )
    for label, ms in timed:
        print(f"| {label} | {ms:.1f} | {ms / base_count:.2f} | {ms / base_recount:.3f} |")
    print()
    print(
        "stored counters equal the full recount: "
        + ("yes" if ok else "NO — MISMATCH")
        + f"; the grid lists {shown} pools"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
