"""Benchmark: a whole import through the engine against the per-row phonenumbers loop.

usage: python bench/import.py [--rows 1000000] [--seed 1] [--file leads.csv --truth truth.json]
                              [--database-url postgresql://127.0.0.1:5432/test | sqlite:///x.db]
                              [--schema leadapp_bench]

Makes a US lead file with leadapp.domain.leadgen (default duplicate and invalid rates, in a
child process, so generating it does not count towards this process's peak memory) or takes
--file. Sets up a fresh database: on PostgreSQL the schema --schema is dropped and created
again and the migrations run into it; a SQLite file is deleted and created again. Creates an
account and a campaign, then times in the same run:
  * engine: the import as ``flask leads import FILE --auto-map --scope campaign
    --action discard-new`` runs it (create_import, attach_file, suggest, set_mapping, then
    stage, analyse, execute), each phase timed;
  * loop:   for each row of the phone column, phonenumbers.parse, is_valid_number,
    format_number(E164).
It prints rows/s, the ratio engine time / loop time (goal <= 0.33), the leads written and
the process's peak memory (goal < 1.5 GiB). On PostgreSQL it then measures the database's own
floor: the same leads in one COPY into a new table with no index or constraint, then with
the leads table's indexes, then with its foreign keys too. Exits 1 when the leads
written differ from the generator's truth (``unique_valid_phones``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

GOAL_RATIO = 1 / 3
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


def write_floor(db) -> dict[str, float]:
    """What PostgreSQL alone takes to store the leads the engine wrote: the same rows (taken
    back out with COPY TO) in one COPY into a new table of the same columns with nothing
    else (the floor), then with the leads table's indexes, then with its foreign keys too.
    The tables are dropped; nothing of the import changes."""
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
    foreign_keys = (
        "ALTER TABLE floor_leads ADD FOREIGN KEY (account_id, pool_id) "
        "REFERENCES lead_pools (account_id, id) ON DELETE CASCADE",
        "ALTER TABLE floor_leads ADD FOREIGN KEY (import_id) "
        "REFERENCES imports (id) ON DELETE SET NULL",
    )
    times = {}
    for name, like, extra in (
        ("no index, no constraint", "INCLUDING DEFAULTS", ()),
        ("the leads indexes", "INCLUDING DEFAULTS INCLUDING INDEXES", ()),
        ("the leads indexes and foreign keys", "INCLUDING ALL", foreign_keys),
    ):
        with conn.cursor() as cur:
            # A plain table, WAL-logged like the leads (a temporary one is not).
            cur.execute(f"CREATE TABLE floor_leads (LIKE leads {like})")
            for statement in extra:
                cur.execute(statement)
            conn.commit()
            t0 = time.perf_counter()
            with cur.copy(f"COPY floor_leads ({columns}) FROM STDIN") as copy:
                view = memoryview(data)
                for start in range(0, len(data), 1 << 20):
                    copy.write(view[start : start + (1 << 20)])
            conn.commit()
            times[name] = time.perf_counter() - t0
            cur.execute("DROP TABLE floor_leads")
            conn.commit()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--file", help="import this CSV instead of generating one")
    ap.add_argument("--truth", help="the generator's truth JSON for --file")
    ap.add_argument("--column", default="Phone", help="the phone column for the loop")
    ap.add_argument("--database-url", default="postgresql://127.0.0.1:5432/test")
    ap.add_argument("--schema", default="leadapp_bench", help="PostgreSQL schema (re-created)")
    a = ap.parse_args()
    region = "US"

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

        db_url = fresh_database(a.database_url, a.schema)
        environ = {
            "DATABASE_URL": db_url,
            "LEADAPP_INSTANCE": str(Path(tmp) / "instance"),
            "SECRET_KEY": "bench",
            "REDIS_URL": "redis://127.0.0.1:6379/15",  # never used: the import runs here
        }
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

        app = create_app("production", environ=environ)
        with app.app_context():
            upgrade()
            account = account_service.create_account(
                "Bench", "bench", "admin@bench.test", "correct horse battery", region=region
            )
            campaign = account_service.create_campaign(account, "Bench campaign")
            db.session.commit()
            dialect = db.engine.dialect.name

            times: dict[str, float] = {}
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
                times = {
                    "prepare (sniff, copy, map)": t1 - t0,
                    "stage (read, map, validate, normalise)": t2 - t1,
                    "analyse (duplicates)": t3 - t2,
                    "execute (write leads)": t4 - t3,
                }
                written = db.session.scalar(
                    sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == counts["pool_id"])
                )
            floor = write_floor(db) if dialect == "postgresql" else {}
            engine_peak = peak_mib()
            db.session.remove()
            db.engine.dispose()

        col = pd.read_csv(
            path, usecols=[a.column], dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )[a.column]
        values = col.tolist()
        del col
        t0 = time.perf_counter()
        loop_valid = loop_normalise(values, region)
        t_loop = time.perf_counter() - t0
    drop_schema(a.database_url, a.schema)

    rows = counts["rows"]
    t_engine = sum(times.values())
    ratio = t_engine / t_loop
    expected = truth["unique_valid_phones"] if truth else None
    ok = expected is None or (written == expected == counts["imported"])
    peak = peak_mib()

    print()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(
        f"python {platform.python_version()}, pandas {pd.__version__}, "
        f"phonenumbers {phonenumbers.__version__}; database {dialect}; rows {rows:,}"
    )
    print(
        f"engine counts: valid {counts['valid']:,}, invalid {counts['invalid']:,}, "
        f"duplicates in file {counts['duplicates_in_file']:,}, "
        f"existing {counts['duplicates_existing']:,}, imported {counts['imported']:,}"
    )
    print()
    print("| phase | seconds | rows/s |")
    print("|---|---:|---:|")
    for name, sec in times.items():
        print(f"| engine: {name} | {sec:.2f} | {rows / sec:,.0f} |")
    print(f"| **engine: whole import** | **{t_engine:.2f}** | **{rows / t_engine:,.0f}** |")
    print(f"| per-row phonenumbers.parse loop (baseline) | {t_loop:.2f} | {rows / t_loop:,.0f} |")
    print()
    if floor:
        print(f"PostgreSQL alone, one COPY of the {written:,} leads written (× loop):")
        for name, sec in floor.items():
            print(f"  into a table with {name}: {sec:.2f} s ({sec / t_loop:.2f}×)")
        stage = times["stage (read, map, validate, normalise)"]
        print(
            f"  stage alone: {stage / t_loop:.2f}× the loop; stage + the bare-table COPY: "
            f"{(stage + min(floor.values())) / t_loop:.2f}×"
        )
        print()
    verdict = "goal met" if ratio <= GOAL_RATIO else "goal missed"
    print(f"ratio engine / loop: {ratio:.3f} (goal <= {GOAL_RATIO:.2f}: {verdict})")
    print(f"loop valid phones: {loop_valid:,}")
    if expected is None:
        print(f"leads written: {written:,} (no truth to compare with)")
    else:
        print(f"leads written: {written:,}; generator truth unique_valid_phones: {expected:,}")
    verdict = "goal met" if peak < GOAL_PEAK_MIB else "goal missed"
    print(
        f"peak memory (max RSS of this process): {peak:,.0f} MiB; after the engine "
        f"{engine_peak:,.0f} MiB (goal < {GOAL_PEAK_MIB:,.0f} MiB: {verdict})"
    )
    if not ok:
        print("MISMATCH: the leads written differ from the truth", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
