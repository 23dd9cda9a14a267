"""Benchmark: the Leads page deep in a big account, on PostgreSQL (issue 17 item 16).

usage: python bench/leads_page.py [--leads 368000] [--runs 15]
                                  [--database-url URL] [--schema bench_leads_page] [--keep]

The database is $BENCH_DATABASE_URL (default postgresql://127.0.0.1:5432/test); everything
happens in the schema --schema, created empty, migrated, and dropped at the end (unless
--keep). It creates an account with a GB campaign and one list of --leads leads (one
``INSERT ... SELECT generate_series``), then times through the Flask test client, logged
in, each the median of --runs:
  * page 1 of /leads (newest first, with its result count);
  * page 2,000 by its keyset cursor (/leads?after=<id>, what the Next links carry);
  * page 2,000 by an offset (/leads?page=2000 without a cursor, the old links);
  * a phone typed in national format in the GB campaign (/leads?campaign=..&q=07958 ...).
It prints each time in ms and the ratio page 2,000 / page 1, and checks that the keyset
page shows the same leads as the offset page. Exits 1 when they differ.
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
PAGE = 2000
PAGE_SIZE = 50


def median_ms(fn, runs: int) -> float:
    fn()  # warm up (plans, caches, first connection)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--leads", type=int, default=368_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/test"),
    )
    ap.add_argument("--schema", default="bench_leads_page")
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    a = ap.parse_args()
    if not a.database_url.startswith(("postgresql://", "postgres://")):
        ap.error("the Leads page benchmark needs PostgreSQL (generate_series)")
    if a.leads < PAGE * PAGE_SIZE:
        ap.error(f"--leads must reach page {PAGE:,}: at least {PAGE * PAGE_SIZE:,}")

    from flask_migrate import upgrade

    from leadapp import create_app
    from leadapp.extensions import db
    from leadapp.models import LeadPool, PoolAssignment
    from leadapp.security import account_scope
    from leadapp.services import accounts as account_service
    from leadapp.services import pools as pool_service

    url = fresh_database(a.database_url, a.schema)
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
                with account_scope(account.id):
                    campaign = account_service.create_campaign(account, "UK Sales")
                    campaign.default_region = "GB"
                    pool = LeadPool(account_id=account.id, name="Big list")
                    db.session.add(pool)
                    db.session.flush()
                    db.session.add(
                        PoolAssignment(
                            account_id=account.id, pool_id=pool.id, campaign_id=campaign.id
                        )
                    )
                    t0 = time.perf_counter()
                    db.session.execute(
                        sa.text(
                            """
                            INSERT INTO leads (account_id, pool_id, first_name, phone1,
                                source, status, completed, do_not_call, dial_order,
                                call_count, custom, created_at, updated_at)
                            SELECT :account, :pool, 'First' || g,
                                '+447' || lpad((g % 1000000000)::text, 9, '0'),
                                'outbound', 'open', FALSE, FALSE, g - 1, 0, '{}'::json,
                                now(), now()
                            FROM generate_series(1, :n) AS g
                            """
                        ),
                        {"account": account.id, "pool": pool.id, "n": a.leads},
                    )
                    pool.dial_order_next = a.leads
                    pool_service.refresh_counts([pool])
                    db.session.commit()
                    db.session.execute(sa.text("ANALYZE"))
                    db.session.commit()
                    print(
                        f"built {a.leads:,} leads in {time.perf_counter() - t0:.1f} s", flush=True
                    )
                    ids = db.session.scalars(
                        sa.text("SELECT id FROM leads ORDER BY id DESC OFFSET :o LIMIT 1"),
                        {"o": (PAGE - 1) * PAGE_SIZE - 1},
                    ).all()
                    cursor = ids[0]  # the last id of page 1,999
                    campaign_id, target = campaign.id, "07958 022654"
                    db.session.execute(
                        sa.text("UPDATE leads SET phone1 = '+447958022654' WHERE id = :i"),
                        {"i": cursor},
                    )
                    db.session.commit()
                db.session.remove()

            client = app.test_client()
            base = "https://localhost"  # production sets the session cookie "Secure"
            with client.get("/login", base_url=base) as response:
                html = response.get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
            with client.post(
                "/login",
                data={"email": "admin@bench.test", "password": PASSWORD, "csrf_token": token},
                base_url=base,
                headers={"Referer": f"{base}/login"},
            ) as response:
                assert response.status_code == 302, response.status_code

            def get(path):
                # Closed at once: the app admits a bounded number of requests at a time.
                with client.get(path, base_url=base) as response:
                    assert response.status_code == 200, (path, response.status_code)
                    return response.get_data(as_text=True)

            def shown(html):
                return re.findall(r'<tr data-testid="lead-(\d+)"', html)

            keyset_path = f"/leads?page={PAGE}&after={cursor}"
            offset_path = f"/leads?page={PAGE}"
            search_path = f"/leads?campaign={campaign_id}&q={target.replace(' ', '+')}"
            print("timing the pages ...", flush=True)
            same = shown(get(keyset_path)) == shown(get(offset_path))
            found = shown(get(search_path)) == [str(cursor)]
            t_first = median_ms(lambda: get("/leads"), a.runs)
            t_keyset = median_ms(lambda: get(keyset_path), a.runs)
            t_offset = median_ms(lambda: get(offset_path), a.runs)
            t_search = median_ms(lambda: get(search_path), a.runs)
    finally:
        if not a.keep:
            drop_schema(a.database_url, a.schema)

    print(f"{platform.node()} · {cpu_model()} · {a.leads:,} leads · median of {a.runs}")
    print(f"page 1 of /leads:                    {t_first:8.1f} ms")
    keyset_ratio, offset_ratio = t_keyset / t_first, t_offset / t_first
    print(f"page {PAGE:,} by its keyset cursor:     {t_keyset:8.1f} ms  ({keyset_ratio:.2f}x)")
    print(f"page {PAGE:,} by an offset (old link):  {t_offset:8.1f} ms  ({offset_ratio:.2f}x)")
    print(f"national-format phone in the GB campaign: {t_search:6.1f} ms")
    print(f"keyset page == offset page: {same}; the phone search found its lead: {found}")
    return 0 if same and found else 1


if __name__ == "__main__":
    sys.exit(main())
