"""Benchmark: the Lead Deduplicator's test run and run against the bare SQL query.

usage: python bench/dedup.py [--leads 250000] [--unique 200000] [--pools 4]
                             [--database-url postgresql://127.0.0.1:5432/test]
                             [--schema leadapp_bench_dedup] [--repeat 3] [--rounds 3]
                             [--scope-limit N]

Builds an account of --leads leads (set-based INSERT ... SELECT generate_series) spread over
--pools pools, whose phone1 takes --unique distinct E.164 numbers, so exactly
``leads - unique`` leads are duplicates. Then times, in the same run:
  * baseline: the bare window-function query that finds the same duplicates
    (ROW_NUMBER() OVER (PARTITION BY phone1 ORDER BY created_at DESC, id) > 1, counted);
  * test run: ``services.dedup.count`` (the figures of a test run), best of --repeat;
  * run:      ``services.dedup.run`` (plan, then moves in committed batches of
    DEDUP_BATCH_LEADS (20,000), golden records' compliance state, pool counters), once;
  * floor:    one bare UPDATE moving the same duplicates straight from the window query
    (no plan, audit trail, golden record, counters or batches), rolled back — what
    PostgreSQL needs for the moves alone.
Each round starts from freshly filled leads (the last round's emptied with TRUNCATE, so no
dead rows carry over), and the floor gets leads filled afresh after the run; the figures
are the range and the median over --rounds rounds, each ratio against the query timed in
its own round — these machines are noisy.
A job's scope may hold 250,000 leads; past that the app's DEDUP_SCOPE_LIMIT setting is
raised to --scope-limit (default: --leads), as for issue 19's 5,000,000 leads.
Goals (issue 6): test run within 3x the query, the run within 10x. Exits 1 when a count
differs from the truth.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from _common import cpu_model, drop_schema, fresh_database, peak_mib  # noqa: E402

GOAL_TEST_RUN = 3.0
GOAL_RUN = 10.0
MAX_UNIQUE = 4_900_000  # distinct phones fill() can make: +1 212 510 0000 .. 999 9999


def fill(db, account_id: int, pool_ids: list[int], leads: int, unique: int) -> None:
    """Leads i = 0..leads-1: phone +1 212 5100000 + i % unique (up to +1 212 999 9999, so
    at most MAX_UNIQUE numbers), one created second apart, every 7th called, every 11th
    inbound."""
    pools = "ARRAY[" + ",".join(str(p) for p in pool_ids) + "]"
    db.session.execute(
        sa.text(
            f"""
            INSERT INTO leads (account_id, pool_id, phone1, first_name, source, status,
                               completed, do_not_call, dial_order, call_count, custom,
                               created_at, updated_at, last_called_at)
            SELECT :account, ({pools})[1 + i % {len(pool_ids)}],
                   '+1212' || (5100000 + i % :unique)::text,
                   'Lead ' || i,
                   CASE WHEN i % 11 = 0 THEN 'inbound' ELSE 'outbound' END,
                   'open', false, false, i, CASE WHEN i % 7 = 0 THEN 1 ELSE 0 END, '{{}}',
                   TIMESTAMP '2026-01-01' + i * INTERVAL '1 second',
                   TIMESTAMP '2026-01-01' + i * INTERVAL '1 second',
                   CASE WHEN i % 7 = 0 THEN TIMESTAMP '2026-06-01' + i * INTERVAL '1 minute' END
            FROM generate_series(0, :leads - 1) AS i
            """
        ),
        {"account": account_id, "unique": unique, "leads": leads},
    )
    db.session.execute(sa.text("ANALYZE leads"))


def bare_query(db, account_id: int) -> int:
    return db.session.execute(
        sa.text(
            """
            SELECT count(*) FROM (
              SELECT ROW_NUMBER() OVER (PARTITION BY l.phone1
                                        ORDER BY l.created_at DESC, l.id) AS rn
              FROM leads l JOIN lead_pools p ON p.id = l.pool_id
              WHERE l.account_id = :account AND NOT p.is_system
                AND l.status <> 'inactive' AND l.phone1 IS NOT NULL
            ) ranked WHERE rn > 1
            """
        ),
        {"account": account_id},
    ).scalar_one()


def bare_move(db, account_id: int, target_pool_id: int) -> tuple[float, int]:
    """The floor of a run: one UPDATE moving the same duplicates straight from the window
    query to the Inactive pool — no plan, no audit trail, no golden record, no counters,
    no batches — timed, then rolled back."""
    t0 = time.perf_counter()
    moved = db.session.execute(
        sa.text(
            """
            UPDATE leads SET pool_id = :target, status = 'inactive', updated_at = now()
            FROM (
              SELECT l.id, ROW_NUMBER() OVER (PARTITION BY l.phone1
                                              ORDER BY l.created_at DESC, l.id) AS rn
              FROM leads l JOIN lead_pools p ON p.id = l.pool_id
              WHERE l.account_id = :account AND NOT p.is_system
                AND l.status <> 'inactive' AND l.phone1 IS NOT NULL
            ) ranked
            WHERE leads.id = ranked.id AND ranked.rn > 1
            """
        ),
        {"account": account_id, "target": target_pool_id},
    ).rowcount
    elapsed = time.perf_counter() - t0
    db.session.rollback()
    return elapsed, moved


def best_of(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def one_round(db, account, pools, a, dedup_service, pool_service, DedupJob) -> dict:
    """Fill the account afresh, then time the baseline and the contenders on it."""
    t0 = time.perf_counter()
    fill(db, account.id, [p.id for p in pools], a.leads, a.unique)
    pool_service.refresh_counts(pools)
    db.session.commit()
    filled = time.perf_counter() - t0
    bare_query(db, account.id)  # warm the cache for every contender alike
    t_query, query_dups = best_of(a.repeat, lambda: bare_query(db, account.id))
    settings = dedup_service.DedupSettings()
    t_test, figures = best_of(a.repeat, lambda: dedup_service.count(settings))
    db.session.rollback()
    job = DedupJob(account_id=account.id, name=f"Bench run {time.time_ns()}")
    db.session.add(job)
    db.session.commit()
    t0 = time.perf_counter()
    result = dedup_service.run(job)
    db.session.commit()
    t_run = time.perf_counter() - t0
    after = dedup_service.count(settings)
    # The floor on leads filled afresh too: its rolled-back UPDATE leaves a dead version of
    # every lead it moved, which a run after it would have to wade through.
    empty_account(db)
    fill(db, account.id, [p.id for p in pools], a.leads, a.unique)
    db.session.commit()
    bare_query(db, account.id)
    t_floor, floor_moved = bare_move(db, account.id, dedup_service.inactive_pool().id)
    return {
        "filled": filled,
        "query": t_query,
        "test": t_test,
        "run": t_run,
        "floor": t_floor,
        "query_dups": query_dups,
        "figures": figures,
        "moved": result["moved"],
        "floor_moved": floor_moved,
        "after": after,
    }


def empty_account(db) -> None:
    """Leads and dedup history gone, pools kept: the next round starts from a clean table
    (TRUNCATE, so no dead rows of the last round slow the next one)."""
    db.session.execute(
        sa.text("TRUNCATE dedup_golden_changes, dedup_moves, email_deliveries, leads CASCADE")
    )
    db.session.execute(sa.text("DELETE FROM dedup_jobs"))
    db.session.commit()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--leads", type=int, default=250_000)
    ap.add_argument("--unique", type=int, default=200_000)
    ap.add_argument("--pools", type=int, default=4)
    ap.add_argument("--database-url", default="postgresql://127.0.0.1:5432/test")
    ap.add_argument("--schema", default="leadapp_bench_dedup")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the queries")
    ap.add_argument("--rounds", type=int, default=3, help="fresh data and a run, N times")
    ap.add_argument(
        "--scope-limit", type=int, help="DEDUP_SCOPE_LIMIT (default: --leads, if over 250,000)"
    )
    a = ap.parse_args()
    if not a.database_url.startswith("postgresql"):
        ap.error("this benchmark fills the table with PostgreSQL's generate_series")
    if not 0 < a.unique <= min(a.leads, MAX_UNIQUE):
        ap.error(f"--unique must be between 1 and --leads, and at most {MAX_UNIQUE:,}")
    truth = {"total": a.leads, "duplicates": a.leads - a.unique, "after": a.unique}

    rounds = []
    with tempfile.TemporaryDirectory(prefix="leadapp-bench-") as tmp:
        environ = {
            "DATABASE_URL": fresh_database(a.database_url, a.schema),
            "LEADAPP_INSTANCE": str(Path(tmp) / "instance"),
            "SECRET_KEY": "bench",
            "REDIS_URL": "redis://127.0.0.1:6379/15",  # never used: everything runs here
        }
        limit = a.scope_limit or (a.leads if a.leads > 250_000 else None)
        if limit:
            environ["DEDUP_SCOPE_LIMIT"] = str(limit)
        from flask_migrate import upgrade

        from leadapp import create_app
        from leadapp.extensions import db
        from leadapp.models import DedupJob, LeadPool
        from leadapp.security import account_scope
        from leadapp.services import accounts as account_service
        from leadapp.services import dedup as dedup_service
        from leadapp.services import pools as pool_service

        app = create_app("production", environ=environ)
        with app.app_context():
            upgrade()
            account = account_service.create_account(
                "Bench", "bench", "admin@bench.test", "correct horse battery"
            )
            db.session.flush()
            with account_scope(account.id):
                pools = [LeadPool(name=f"Bench pool {i + 1}") for i in range(a.pools)]
                db.session.add_all(pools)
                db.session.flush()
                for n in range(a.rounds):
                    if n:
                        empty_account(db)
                    r = one_round(db, account, pools, a, dedup_service, pool_service, DedupJob)
                    rounds.append(r)
                    print(
                        f"round {n + 1}: filled {a.leads:,} leads in {r['filled']:.1f} s; "
                        f"query {r['query']:.3f} s, test run {r['test'] / r['query']:.1f}x, "
                        f"run {r['run'] / r['query']:.1f}x, floor {r['floor'] / r['query']:.1f}x",
                        flush=True,
                    )
            db.session.remove()
            db.engine.dispose()
    drop_schema(a.database_url, a.schema)

    ok = all(
        r["query_dups"] == truth["duplicates"]
        and r["figures"] == truth
        and r["moved"] == truth["duplicates"]
        and r["floor_moved"] == truth["duplicates"]
        and r["after"] == {"total": truth["after"], "duplicates": 0, "after": truth["after"]}
        for r in rounds
    )

    def span(key: str, ratio: bool = True) -> tuple[str, float]:
        """The range over the rounds (one value when they agree) and the median."""
        values = sorted(r[key] / r["query"] if ratio else r[key] for r in rounds)
        low, high = (f"{v:.1f}" if ratio else f"{v:.3f}" for v in (values[0], values[-1]))
        return (low if low == high else f"{low}–{high}"), statistics.median(values)

    print()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(
        f"python {platform.python_version()}, PostgreSQL; leads {a.leads:,} in {a.pools} pools, "
        f"{a.unique:,} distinct phones; {a.rounds} round(s), each on fresh data"
    )
    print()
    print("| what | seconds | × query (range) | × query (median) |")
    print("|---|---:|---:|---:|")
    rows = (
        ("bare window-function query (baseline)", "query"),
        ("test run (`dedup.count`)", "test"),
        ("run (`dedup.run`: plan, moves, counters)", "run"),
        ("floor: one bare UPDATE moving the same leads (rolled back)", "floor"),
    )
    medians = {}
    for label, key in rows:
        seconds, _ = span(key, ratio=False)
        ratios, medians[key] = span(key)
        print(f"| {label} | {seconds} | {ratios} | {medians[key]:.1f} |")
    print()
    for name, key, goal in (("test run", "test", GOAL_TEST_RUN), ("run", "run", GOAL_RUN)):
        verdict = "goal met" if medians[key] <= goal else "goal missed"
        print(f"{name}: median {medians[key]:.1f}x the query (goal <= {goal:g}x: {verdict})")
    last = rounds[-1]
    print(f"counts: {last['figures']}; moved {last['moved']:,}; truth {truth}")
    print(f"peak memory (max RSS): {peak_mib():,.0f} MiB")
    if not ok:
        print("MISMATCH: a count differs from the truth", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
