"""Benchmark: a whole import through the engine against what the database alone needs to
store the same leads (issue 19 §1), and against the per-row phonenumbers loop (issue 4).

usage: python bench/import.py [--rows 1000000] [--seed 1] [--runs 3] [--no-loop]
                              [--file leads.csv --truth truth.json]
                              [--database-url postgresql://127.0.0.1:5432/test | sqlite:///x.db]
                              [--schema leadapp_bench]

Makes a US lead file with leadapp.domain.leadgen (default duplicate and invalid rates, in a
child process, so generating it does not count towards this process's peak memory) or takes
--file. Each run sets up a fresh database (on PostgreSQL the schema --schema is dropped and
created again and the migrations run into it; a SQLite file is deleted and created again),
creates an account and a campaign, then times in the same run:
  * engine: the import as ``flask leads import FILE --auto-map --scope campaign
    --action discard-new`` runs it (create_import, attach_file, suggest, set_mapping, then
    stage, analyse, execute), each phase timed; within execute, the time the writer
    waited for the builder thread and the time the builder worked;
  * floor: what the database alone needs to store the leads the engine wrote, taken back
    out of the leads table: on PostgreSQL one COPY into a twin of the leads table with its
    indexes and foreign keys; on SQLite one executemany into a twin with the same indexes
    and foreign keys, in one transaction. The ratio whole import / floor is the goal
    (<= 1.15).
With --runs N the figures are each run's and their median (the ratio: the median of each
run's own ratio). The load average is printed with each run: the machine may be shared.
The per-row loop (for each phone: phonenumbers.parse, is_valid_number, format_number E164)
is timed once, after the runs, unless --no-loop. It prints the process's peak memory (goal
< 1.5 GiB). Exits 1 when the leads written differ from the generator's truth
(``unique_valid_phones``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pandas as pd  # noqa: E402
import phonenumbers  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from _common import cpu_model, drop_schema, fresh_database, peak_mib  # noqa: E402

GOAL_RATIO = 1.15  # whole import / the database's floor
GOAL_PEAK_MIB = 1.5 * 1024


def loop_normalise(values: list[str], region: str) -> int:
    """The obvious way: one parse per row; returns how many are valid."""
    valid = 0
    for v in values:
        try:
            n = phonenumbers.parse(v, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n):
            phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
            valid += 1
    return valid


def pg_floor(db) -> float:
    """What PostgreSQL alone takes to store the leads the engine wrote: the same rows (taken
    back out with COPY TO) in one COPY into a new table like the leads, with its indexes
    and foreign keys, committed. The table is dropped; nothing of the import changes."""
    conn = db.session.connection().connection.driver_connection
    conn.commit()
    with conn.cursor() as cur:
        columns = ", ".join(
            r[0]
            for r in cur.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'leads' AND table_schema = current_schema() "
                "AND column_name <> 'id' ORDER BY ordinal_position"
            )
        )
        data = bytearray()
        with cur.copy(f"COPY leads ({columns}) TO STDOUT") as copy:
            for block in copy:
                data += block
        # A plain table, WAL-logged like the leads (a temporary one is not).
        cur.execute("CREATE TABLE floor_leads (LIKE leads INCLUDING ALL)")
        cur.execute(
            "ALTER TABLE floor_leads ADD FOREIGN KEY (account_id, pool_id) "
            "REFERENCES lead_pools (account_id, id) ON DELETE CASCADE"
        )
        cur.execute(
            "ALTER TABLE floor_leads ADD FOREIGN KEY (import_id) "
            "REFERENCES imports (id) ON DELETE SET NULL"
        )
        conn.commit()
        t0 = time.perf_counter()
        with cur.copy(f"COPY floor_leads ({columns}) FROM STDIN") as copy:
            view = memoryview(data)
            for start in range(0, len(data), 1 << 20):
                copy.write(view[start : start + (1 << 20)])
        conn.commit()
        seconds = time.perf_counter() - t0
        cur.execute("DROP TABLE floor_leads")
        conn.commit()
    return seconds


def sqlite_floor(path: str) -> float:
    """What SQLite alone takes to store the leads the engine wrote: the same rows (read
    back) in one executemany into a twin of the leads table (its own CREATE statement,
    foreign keys included, and every index of the leads), in one transaction, with the
    app's pragmas. The table is dropped."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        table = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'leads'"
        ).fetchone()[0]
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads' "
                "AND sql IS NOT NULL"
            )
        ]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(leads)") if r[1] != "id"]
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM leads").fetchall()
        conn.execute(re.sub(r"^CREATE TABLE \"?leads\"?", "CREATE TABLE floor_leads", table))
        for statement in indexes:
            conn.execute(
                re.sub(
                    r"^CREATE (UNIQUE )?INDEX \"?(\w+)\"? ON \"?leads\"?",
                    r"CREATE \1INDEX floor_\2 ON floor_leads",
                    statement,
                )
            )
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO floor_leads ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            rows,
        )
        conn.execute("COMMIT")
        seconds = time.perf_counter() - t0
        conn.execute("DROP TABLE floor_leads")
    finally:
        conn.close()
    return seconds


def timing_the_builder(import_write, stats: dict):
    """Wrap the write stage's pipeline to count the time the writer waited for the builder
    thread and the builder's own time (wall and CPU): is one thread enough? Returns the
    function to put back after the run (each run counts into its own ``stats``)."""
    real = import_write.built_ahead

    def built_ahead(items, build, depth=1):
        def timed(item):
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return build(item)
            finally:
                stats["builder busy"] += time.perf_counter() - t0
                stats["builder CPU"] += time.thread_time() - c0

        results = real(items, timed, depth)

        def waited():
            try:
                while True:
                    t0 = time.perf_counter()
                    try:
                        value = next(results)
                    except StopIteration:
                        return
                    finally:
                        stats["writer waited for the builder"] += time.perf_counter() - t0
                    yield value
            finally:
                results.close()

        return waited()

    import_write.built_ahead = built_ahead
    return real


def one_run(a, path: Path, tmp: str, number: int) -> dict:
    """A fresh database, the import phase by phase, the floor: one run's figures."""
    from flask_migrate import upgrade

    from leadapp import create_app
    from leadapp.extensions import db
    from leadapp.models import Lead, User
    from leadapp.security import account_scope
    from leadapp.services import accounts as account_service
    from leadapp.services.imports import analyse as import_analyse
    from leadapp.services.imports import duplicates as import_duplicates
    from leadapp.services.imports import mapping as import_mapping
    from leadapp.services.imports import read as import_read
    from leadapp.services.imports import stage as import_stage
    from leadapp.services.imports import write as import_write

    region = "US"
    db_url = fresh_database(a.database_url, a.schema)
    environ = {
        "DATABASE_URL": db_url,
        "LEADAPP_INSTANCE": str(Path(tmp) / f"instance{number}"),
        "SECRET_KEY": "bench",
        "REDIS_URL": "redis://127.0.0.1:6379/15",  # never used: the import runs here
    }
    app = create_app("production", environ=environ)
    builder = {"writer waited for the builder": 0.0, "builder busy": 0.0, "builder CPU": 0.0}
    real_built_ahead = timing_the_builder(import_write, builder)
    load_before = os.getloadavg()
    with app.app_context():
        upgrade()
        account = account_service.create_account(
            "Bench", "bench", "admin@bench.test", "correct horse battery", region=region
        )
        campaign = account_service.create_campaign(account, "Bench campaign")
        db.session.commit()
        dialect = db.engine.dialect.name
        with account_scope(account.id):
            t0 = time.perf_counter()
            admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
            imp = import_read.create_import(account, admin, campaign, pool_name="Bench pool")
            info = import_read.attach_file(imp, path, path.name)
            mapping = import_mapping.suggest(imp, info)
            import_mapping.set_mapping(
                imp,
                mapping,
                info.headers,
                [],
                import_duplicates.DuplicateSettings(scope="campaign", action="discard-new"),
            )
            db.session.commit()
            t1 = time.perf_counter()
            import_stage.stage(imp)
            t2 = time.perf_counter()
            import_analyse.analyse(imp)
            t3 = time.perf_counter()
            counts = import_write.execute(imp)
            t4 = time.perf_counter()
            phases = {
                "prepare (sniff, copy, map)": t1 - t0,
                "stage (read, map, validate, normalise)": t2 - t1,
                "analyse (duplicates)": t3 - t2,
                "execute (write leads, pipelined)": t4 - t3,
            }
            written = db.session.scalar(
                sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == counts["pool_id"])
            )
        engine_peak = peak_mib()
        if dialect == "postgresql":
            floor = pg_floor(db)
        else:
            floor = sqlite_floor(db_url[len("sqlite:///") :])
        db.session.remove()
        db.engine.dispose()
    import_write.built_ahead = real_built_ahead
    whole = sum(phases.values())
    return {
        "dialect": dialect,
        "counts": counts,
        "written": written,
        "phases": phases,
        "builder": builder,
        "whole": whole,
        "floor": floor,
        "ratio": whole / floor,
        "engine_peak": engine_peak,
        "load": (load_before, os.getloadavg()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1, help="runs; figures are their median")
    ap.add_argument("--no-loop", action="store_true", help="skip the per-row loop baseline")
    ap.add_argument("--file", help="import this CSV instead of generating one")
    ap.add_argument("--truth", help="the generator's truth JSON for --file")
    ap.add_argument("--column", default="Phone", help="the phone column for the loop")
    ap.add_argument("--database-url", default="postgresql://127.0.0.1:5432/test")
    ap.add_argument("--schema", default="leadapp_bench", help="PostgreSQL schema (re-created)")
    a = ap.parse_args()
    region = "US"

    runs = []
    with tempfile.TemporaryDirectory(prefix="leadapp-bench-") as tmp:
        path = Path(a.file) if a.file else Path(tmp) / "leads.csv"
        truth: dict | None = None
        if a.file:
            truth = json.loads(Path(a.truth).read_text()) if a.truth else None
        else:
            truth_path = Path(tmp) / "truth.json"
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "leadapp.domain.leadgen", str(a.rows), str(path),
                 "--seed", str(a.seed), "--region", region, "--truth", str(truth_path)],
                check=True, cwd=ROOT,
            )  # fmt: skip
            truth = json.loads(truth_path.read_text())
            print(f"generated {a.rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)

        for number in range(1, a.runs + 1):
            run = one_run(a, path, tmp, number)
            runs.append(run)
            print_run(number, run)

        t_loop = loop_valid = None
        if not a.no_loop:
            col = pd.read_csv(
                path, usecols=[a.column], dtype=str, keep_default_na=False, encoding="utf-8-sig"
            )[a.column]
            values = col.tolist()
            del col
            t0 = time.perf_counter()
            loop_valid = loop_normalise(values, region)
            t_loop = time.perf_counter() - t0
    drop_schema(a.database_url, a.schema)

    first = runs[0]
    counts = first["counts"]
    rows = counts["rows"]
    expected = truth["unique_valid_phones"] if truth else None
    ok = all(
        expected is None or (r["written"] == expected == r["counts"]["imported"]) for r in runs
    )
    peak = peak_mib()

    def median(get) -> float:
        return statistics.median(get(r) for r in runs)

    print()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(
        f"python {platform.python_version()}, pandas {pd.__version__}, "
        f"phonenumbers {phonenumbers.__version__}; database {first['dialect']}; rows {rows:,}; "
        f"runs {len(runs)} (figures: the median)"
    )
    print(
        f"engine counts: valid {counts['valid']:,}, invalid {counts['invalid']:,}, "
        f"duplicates in file {counts['duplicates_in_file']:,}, "
        f"existing {counts['duplicates_existing']:,}, imported {counts['imported']:,}"
    )
    print()
    whole = median(lambda r: r["whole"])
    print("| phase | seconds | share of the whole | rows/s |")
    print("|---|---:|---:|---:|")
    for name in first["phases"]:
        sec = median(lambda r, n=name: r["phases"][n])
        share = median(lambda r, n=name: r["phases"][n] / r["whole"])
        print(f"| engine: {name} | {sec:.2f} | {share:.0%} | {rows / sec:,.0f} |")
    print(f"| **engine: whole import** | **{whole:.2f}** | 100% | **{rows / whole:,.0f}** |")
    for name in first["builder"]:
        sec = median(lambda r, n=name: r["builder"][n])
        print(f"| (within execute) {name} | {sec:.2f} | | |")
    floor = median(lambda r: r["floor"])
    what = (
        "one COPY into a twin with the leads indexes and foreign keys"
        if first["dialect"] == "postgresql"
        else "one executemany into a twin with the leads indexes and foreign keys, one transaction"
    )
    print(f"| floor: {what} | {floor:.2f} | | {first['written'] / floor:,.0f} |")
    if t_loop is not None:
        print(
            f"| per-row phonenumbers.parse loop (issue 4) | {t_loop:.2f} | | {rows / t_loop:,.0f} |"
        )
    print()
    ratio = median(lambda r: r["ratio"])
    verdict = "goal met" if ratio <= GOAL_RATIO else "goal missed"
    each = ", ".join(f"{r['ratio']:.2f}" for r in runs)
    print(
        f"ratio whole import / floor: {ratio:.2f} (runs: {each}; goal <= {GOAL_RATIO}: {verdict})"
    )
    if t_loop is not None:
        print(f"ratio whole import / loop: {whole / t_loop:.3f}; loop valid phones {loop_valid:,}")
    if expected is None:
        print(f"leads written: {first['written']:,} (no truth to compare with)")
    else:
        written = ", ".join(f"{r['written']:,}" for r in runs)
        print(f"leads written: {written}; generator truth unique_valid_phones: {expected:,}")
    verdict = "goal met" if peak < GOAL_PEAK_MIB else "goal missed"
    engine_peak = max(r["engine_peak"] for r in runs)
    print(
        f"peak memory (max RSS of this process): {peak:,.0f} MiB; after the engine "
        f"{engine_peak:,.0f} MiB (goal < {GOAL_PEAK_MIB:,.0f} MiB: {verdict})"
    )
    if not ok:
        print("MISMATCH: the leads written differ from the truth", file=sys.stderr)
    return 0 if ok else 1


def print_run(number: int, run: dict) -> None:
    phases = ", ".join(f"{name.split(' ')[0]} {sec:.2f}" for name, sec in run["phases"].items())
    (b1, b5, _), (a1, a5, _) = run["load"]
    print(
        f"run {number}: whole {run['whole']:.2f} s ({phases}); floor {run['floor']:.2f} s; "
        f"ratio {run['ratio']:.2f}; writer waited for the builder "
        f"{run['builder']['writer waited for the builder']:.2f} s, builder busy "
        f"{run['builder']['builder busy']:.2f} s; peak memory so far {run['engine_peak']:,.0f} "
        f"MiB; load average 1/5 min {b1:.1f}/{b5:.1f} before, {a1:.1f}/{a5:.1f} after",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
