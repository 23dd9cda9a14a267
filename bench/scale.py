"""Benchmark: does a page cost the same at 10,000 leads as at 5,000,000? (issue 19 §2)

usage: python bench/scale.py [--sizes 10000,200000] [--runs 7] [--pools 20]
                             [--database-url URL] [--schema bench_scale] [--sqlite]
                             [--explain]

For each size it builds one account on PostgreSQL ($BENCH_DATABASE_URL, default
postgresql://127.0.0.1:5432/test, in the schema --schema, dropped at the end) — and with
--sqlite also on SQLite for sizes up to 200,000 — then times through the Flask test client,
logged in as the account's admin, the server time of each page (median of --runs, after one
warm-up) and prints, per item, the time at each size and its growth against the smallest.

The leads come from the project's generator (leadapp/domain/leadgen.py): one file of up to
100,000 rows (US numbers in every format, duplicates, invalid phones), its phones
normalised once by the product's own ``normalise_phone``; sizes past it repeat the file with
each copy's numbers, customer keys and emails made its own, so a search still finds one
person. They go in with COPY (PostgreSQL) or one executemany (SQLite), never through
imports, spread over --pools lists (three campaigns), then ANALYZE and the stored pool
counters refreshed once, as after an import.

Disk and time on this machine (2 cores, loaded): PostgreSQL uses about 1.1 GB per million
leads with every index; building 1,000,000 takes about 2-3 minutes, 5,000,000 about
12-15 minutes (the sizes are built one after the other; only one lives at a time).

Items: the pool grid with every KPI column under each sort, pool details, the leads page
deep in the list (keyset ?after=), the quick search by phone (E.164 and national format),
email, name prefix and customer key, the dedup job page and its live scope count, the
campaign page, and one list's leads CSV (time to its first bytes, total time, rows/s and
how much the process grew while it streamed). --explain prints PostgreSQL's EXPLAIN ANALYZE
of the searches and counts behind the items at the largest size.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
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
SAMPLE = 100_000  # rows the generator writes; larger sizes repeat them, each copy its own
SQLITE_MAX = 200_000
STATE_ZONE = {
    "NY": "America/New_York", "MA": "America/New_York", "FL": "America/New_York",
    "GA": "America/New_York", "PA": "America/New_York", "IL": "America/Chicago",
    "TX": "America/Chicago", "UT": "America/Denver", "AZ": "America/Phoenix",
    "CA": "America/Los_Angeles", "NV": "America/Los_Angeles", "OR": "America/Los_Angeles",
    "WA": "America/Los_Angeles", "AK": "America/Anchorage", "HI": "Pacific/Honolulu",
}  # fmt: skip
STATUSES = ("open",) * 6 + ("closed", "closed", "removed", "inactive")
COLUMNS = (
    "account_id", "pool_id", "customer_key", "first_name", "last_name", "email", "email_key",
    "phone1", "phone1_raw", "phone2", "timezone", "timezone_source", "zone_key", "state",
    "country", "source", "status", "completed", "do_not_call", "dial_order", "call_count",
    "dial_attempts", "last_called_at", "next_call_at", "custom", "created_at", "updated_at",
)  # fmt: skip


def median_ms(fn, runs: int) -> float:
    fn()  # warm up (plans, caches, first connection)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------------------------
# Building an account


def sample_rows(rows: int) -> list[dict]:
    """The generator's file of ``rows`` rows, read back with each phone normalised by the
    product (None when invalid), as the import would store it."""
    from leadapp.domain.leadgen import generate
    from leadapp.domain.phones import normalise_phone

    with tempfile.TemporaryDirectory(prefix="leadapp-scale-") as tmp:
        path = Path(tmp) / "leads.csv"
        generate(rows, path, seed=19, region="US")
        with path.open(newline="", encoding="utf-8") as f:
            out = []
            for r in csv.DictReader(f):
                e164 = normalise_phone(r["Phone"], "US")[0]
                alt = normalise_phone(r["Alt Phone"], "US")[0] if r["Alt Phone"] else None
                out.append(
                    dict(
                        key=r["Customer ID"], first=r["First Name"], last=r["Last Name"],
                        phone=e164, raw=r["Phone"], alt=alt, email=r["Email"],
                        state=r["State"], source=r["Source"],
                        created=dt.datetime.fromisoformat(r["Created"]),
                        called=dt.datetime.fromisoformat(r["Last Called"])
                        if r["Last Called"] else None,
                    )
                )  # fmt: skip
    return out


def _shift(e164: str | None, copy: int) -> str | None:
    """Copy ``copy``'s own number: the last seven digits moved along (copy 0 unchanged)."""
    if not e164 or copy == 0:
        return e164
    return f"{e164[:-7]}{(int(e164[-7:]) + copy * 7_919) % 10_000_000:07d}"


def lead_tuples(sample: list[dict], size: int, account_id: int, pool_ids: list[int]):
    """``size`` rows for ``COLUMNS``: the sample repeated, each copy with its own numbers,
    customer keys and emails; mixed status, completed, do-not-call and calls."""
    never = dt.datetime(1970, 1, 1)
    for g in range(size):
        copy, s = divmod(g, len(sample))
        r = sample[s]
        tag = "" if copy == 0 else f"-{copy}"
        email = r["email"].replace("@", f"{tag}@") if r["email"] else None
        zone = STATE_ZONE.get(r["state"])
        called = r["called"] if g % 3 == 0 else None
        yield (
            account_id, pool_ids[g % len(pool_ids)], r["key"] + tag, r["first"], r["last"],
            email, email.lower() if email else None, _shift(r["phone"], copy), r["raw"],
            _shift(r["alt"], copy), zone, "state" if zone else None,
            f"{zone}|US|{r['state']}" if zone else None, r["state"], "US",
            r["source"] if r["source"] != "referral" else "manual",
            STATUSES[g % 10], g % 7 == 0, g % 23 == 0, g, (g % 5) if called else 0,
            (g % 5) if called else 0, called, never, "{}", r["created"], r["created"],
        )  # fmt: skip


def build(db, account, size: int, n_pools: int, sample: list[dict]) -> dict:
    """Campaigns, pools (through the ORM) and ``size`` leads (COPY / executemany)."""
    from leadapp.models import LeadPool, PoolAssignment
    from leadapp.services.accounts import create_campaign

    campaigns = [
        create_campaign(account, "Spring Sales", project="Outbound"),
        create_campaign(account, "Renewals", project="Outbound"),
        create_campaign(account, "Survey", project="Research", purpose="survey"),
    ]
    pools = [
        LeadPool(account_id=account.id, name=f"Upload {i:03d}", source_file_name=f"u{i}.csv")
        for i in range(n_pools)
    ]
    db.session.add_all(pools)
    db.session.flush()
    for i, pool in enumerate(pools):
        db.session.add(
            PoolAssignment(account_id=account.id, pool_id=pool.id, campaign_id=campaigns[i % 3].id)
        )
    db.session.flush()
    rows = lead_tuples(sample, size, account.id, [p.id for p in pools])
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY leads ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
    else:
        marks = ", ".join("?" for _ in COLUMNS)
        conn.exec_driver_sql(
            f"INSERT INTO leads ({', '.join(COLUMNS)}) VALUES ({marks})",  # noqa: S608
            [tuple(int(v) if isinstance(v, bool) else v for v in row) for row in rows],
        )
    return {"campaign": campaigns[0].id, "pool": pools[0].id}


# ---------------------------------------------------------------------------------------
# Measuring


def login(client, base: str) -> None:
    html = client.get("/login", base_url=base).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post(
        "/login",
        data={"email": "admin@scale.test", "password": PASSWORD, "csrf_token": token},
        base_url=base,
        headers={"Referer": f"{base}/login"},  # Flask-WTF's strict check over HTTPS
    )
    assert response.status_code == 302, response.status_code


def cases(ids: dict, target: dict, sample: list[dict]) -> list[tuple[str, str]]:
    """(item, path) of every page timed; the searched person is the same at every size."""
    from leadapp.services import pool_grid

    extra = "&".join(f"col={c}" for c in pool_grid.EXTRA_COLUMNS)
    sorts = [
        s
        for s in (*pool_grid.BASE_COLUMNS, *pool_grid.EXTRA_COLUMNS)
        if s not in pool_grid.UNSORTABLE
    ]
    national = target["phone"]  # +1AAAEEELLLL -> (AAA) EEE-LLLL
    national = f"({national[2:5]}) {national[5:8]}-{national[8:]}"
    out = [
        (f"grid, every KPI column, sort {s}", f"/pools?status=all&{extra}&sort={s}&dir=desc")
        for s in sorts
    ]
    out += [
        ("pool details", f"/pools/{ids['pool']}"),
        ("leads page 1", "/leads"),
        ("leads page deep (keyset ?after=)", f"/leads?after={ids['deep']}"),
        ("search phone E.164", f"/leads?q={target['phone'].replace('+', '%2B')}"),
        ("search phone national", f"/leads?q={national}"),
        ("search email", f"/leads?q={target['email']}"),
        ("search name prefix", f"/leads?q={target['last'][:4]}"),
        ("search customer key", f"/leads?q={target['key']}"),
        ("dedup job page (new)", "/dedup/new"),
        ("dedup live scope count (account)", "/dedup/scope-total?scope=account"),
        ("dedup live scope count (a list)", f"/dedup/scope-total?scope=list&pools={ids['pool']}"),
        ("campaign page", f"/campaigns/{ids['campaign']}"),
    ]
    return out


def export(client, base: str, pool_id: int) -> dict:
    """One list's leads CSV read as a browser would: first bytes, total, rows, growth."""
    before = rss_mib()
    peak = before
    t0 = time.perf_counter()
    response = client.get(f"/pools/{pool_id}/download/leads.csv", base_url=base, buffered=False)
    first = None
    size = lines = 0
    for i, chunk in enumerate(response.response):
        if first is None:
            first = time.perf_counter() - t0
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        if i % 200 == 0:
            peak = max(peak, rss_mib())
    response.close()
    total = time.perf_counter() - t0
    return {
        "first_ms": (first or total) * 1000,
        "total_ms": total * 1000,
        "rows": max(lines - 1, 0),
        "grew_mib": max(peak, rss_mib()) - before,
    }


EXPLAINED = ("search name prefix", "search email", "leads page 1", "pool details")


def run_size(a, database_url: str, size: int, sample: list[dict]) -> dict[str, float]:
    from flask_migrate import upgrade

    from leadapp import create_app
    from leadapp.extensions import db
    from leadapp.security import account_scope
    from leadapp.services import accounts as account_service
    from leadapp.services import pools as pool_service

    results: dict[str, float] = {}
    url = fresh_database(database_url, a.schema)
    try:
        with tempfile.TemporaryDirectory(prefix="leadapp-scale-") as tmp:
            env = {
                "DATABASE_URL": url,
                "LEADAPP_INSTANCE": str(Path(tmp) / "instance"),
                "SECRET_KEY": "bench",
                "REDIS_URL": "redis://127.0.0.1:6379/15",  # never used here
                "WEB_REQUESTS_AT_ONCE": "0",  # one request at a time here anyway
            }
            if url.startswith("sqlite"):
                env["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'scale.db'}"
            app = create_app("production", environ=env)
            with app.app_context():
                upgrade()
                account = account_service.create_account(
                    "Scale", "scale", "admin@scale.test", PASSWORD
                )
                account.default_region = "US"
                db.session.commit()
                with account_scope(account.id):
                    t0 = time.perf_counter()
                    ids = build(db, account, size, a.pools, sample)
                    db.session.commit()
                    results["build s"] = time.perf_counter() - t0
                    db.session.execute(sa.text("ANALYZE"))
                    db.session.commit()
                    pool_service.refresh_counts(pool_service.list_pools())
                    db.session.commit()
                    lead_ids = db.session.execute(
                        sa.text("SELECT min(id), max(id) FROM leads")
                    ).one()
                    # "Deep": 90% of the way down the newest-first list.
                    ids["deep"] = lead_ids[0] + (lead_ids[1] - lead_ids[0]) // 10
                db.session.remove()
            print(f"  built {size:,} leads in {results['build s']:.0f} s", flush=True)

            client = app.test_client()
            base = "https://localhost"  # production sets the session cookie "Secure"
            login(client, base)
            target = sample[len(sample) // 2]
            for label, path in cases(ids, target, sample):

                def get(path=path):
                    r = client.get(path, base_url=base)
                    assert r.status_code == 200, (path, r.status_code)
                    r.close()

                results[label] = median_ms(get, a.runs)
                print(f"  {label}: {results[label]:.1f} ms", flush=True)
            exported = [export(client, base, ids["pool"]) for _ in range(3)]
            results["list CSV: first bytes"] = statistics.median(e["first_ms"] for e in exported)
            results["list CSV: total"] = statistics.median(e["total_ms"] for e in exported)
            results["list CSV: rows"] = exported[0]["rows"]
            results["list CSV: process grew MiB"] = max(e["grew_mib"] for e in exported)
            print(
                f"  list CSV: {exported[0]['rows']:,} rows, first bytes "
                f"{results['list CSV: first bytes']:.0f} ms, total "
                f"{results['list CSV: total']:.0f} ms, grew "
                f"{results['list CSV: process grew MiB']:.0f} MiB",
                flush=True,
            )
            if a.explain and not url.startswith("sqlite"):
                explain(app, ids, target)
    finally:
        drop_schema(database_url, a.schema)
    return results


def explain(app, ids: dict, target: dict) -> None:
    """EXPLAIN ANALYZE of the statements behind the items that grow (PostgreSQL)."""
    from leadapp.extensions import db
    from leadapp.models import Account, Lead
    from leadapp.security import account_scope
    from leadapp.services import lead_search

    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.slug == "scale"))
        with account_scope(account.id):
            for label, f in (
                ("name prefix", {"q": target["last"][:4]}),
                ("email", {"q": target["email"]}),
                ("phone", {"q": target["phone"]}),
                ("leads page 1 (no filter)", {}),
            ):
                # The account's own scope, written out: a compiled statement skips the
                # session's automatic account criteria.
                query = lead_search.search_query(f, account).where(Lead.account_id == account.id)
                for what, stmt in (
                    ("result count (stops at 1,001)", lead_search.count_statement(query)),
                    ("first page", query.order_by(Lead.id.desc()).limit(51)),
                ):
                    sql = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
                    plan = db.session.execute(sa.text(f"EXPLAIN ANALYZE {sql}")).scalars()
                    print(f"\n-- EXPLAIN ANALYZE: {label}, {what}")
                    print("\n".join(plan))
            pool_id = ids["pool"]
            for label, stmt in (
                (
                    "pool page's first leads (dial order)",
                    sa.select(Lead.id)
                    .where(Lead.pool_id == pool_id)
                    .order_by(Lead.dial_order, Lead.id)
                    .limit(50),
                ),
                (
                    "list CSV, a chunk past the first",
                    sa.select(Lead.id).where(Lead.pool_id == pool_id, Lead.id > 0).order_by(Lead.id)
                    .limit(5000),
                ),
            ):  # fmt: skip
                sql = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
                plan = db.session.execute(sa.text(f"EXPLAIN ANALYZE {sql}")).scalars()
                print(f"\n-- EXPLAIN ANALYZE: {label}")
                print("\n".join(plan))
            db.session.rollback()
        db.session.remove()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,200000", help="comma-separated lead counts")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--pools", type=int, default=20)
    ap.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/test"),
    )
    ap.add_argument("--schema", default="bench_scale")
    ap.add_argument("--sqlite", action="store_true", help=f"also SQLite up to {SQLITE_MAX:,}")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE at the last size")
    a = ap.parse_args()
    sizes = sorted(int(s.replace("_", "")) for s in a.sizes.split(","))
    if not a.database_url.startswith(("postgresql://", "postgres://")):
        ap.error("--database-url must be PostgreSQL (add --sqlite for SQLite too)")

    t0 = time.perf_counter()
    sample = sample_rows(min(SAMPLE, sizes[-1]))
    print(f"generated {len(sample):,} rows in {time.perf_counter() - t0:.0f} s", flush=True)
    tables = []
    databases = [("PostgreSQL", a.database_url)]
    if a.sqlite:
        databases.append(("SQLite", "sqlite:///unused"))
    for name, url in databases:
        by_size = {}
        for size in sizes:
            if name == "SQLite" and size > SQLITE_MAX:
                continue
            print(f"{name}, {size:,} leads", flush=True)
            explain_here = a.explain and size == sizes[-1]
            a_size = argparse.Namespace(**{**vars(a), "explain": explain_here})
            by_size[size] = run_size(a_size, url, size, sample)
        tables.append((name, by_size))

    from importlib.metadata import version

    out = io.StringIO()
    print(f"\nmachine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}", file=out)
    print(
        f"python {platform.python_version()}, flask {version('flask')}, sqlalchemy "
        f"{sa.__version__}; {a.pools} lists; median of {a.runs} runs (ms unless said)",
        file=out,
    )
    for name, by_size in tables:
        shown = list(by_size)
        if not shown:
            continue
        small = shown[0]
        head = " | ".join(f"{s:,}" for s in shown)
        grow = " | ".join(f"× {s:,}/{small:,}" for s in shown[1:])
        print(f"\n{name}\n\n| item | {head} | {grow} |", file=out)
        print("|---|" + "---:|" * (2 * len(shown) - 1), file=out)
        for item in by_size[small]:
            values = [by_size[s][item] for s in shown]
            ratios = [v / values[0] if values[0] else float("nan") for v in values[1:]]
            flag = (
                " **>2×**"
                if ratios
                and ratios[-1] > 2
                and not item.startswith(("build", "list CSV: rows", "list CSV: total"))
                else ""
            )
            cells = " | ".join(f"{v:,.1f}" for v in values)
            rcells = " | ".join(f"{r:.2f}" for r in ratios)
            print(f"| {item}{flag} | {cells} | {rcells} |", file=out)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
