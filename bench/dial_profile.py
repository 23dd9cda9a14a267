"""The CPU cost of one ``POST /api/v1/campaigns/<code>/dial/next`` (issue 18), in process.

usage: python bench/dial_profile.py [--leads 10000] [--requests 200] [--database-url URL]
                                    [--profile N] [--echo]

Builds bench/dialer.py's campaign (three pools weighted 70 / 30 / 100, leads in nine zones,
calling hours all day) in the schema ``bench_dial_profile`` (PostgreSQL) or a fresh SQLite
file, then posts ``--requests`` dial/next requests (count 1) through the Flask test client,
one after the other, and reports per request: CPU milliseconds (``time.process_time``: the
machine's other load does not count), SQL statements (``before_cursor_execute``) and
SQLAlchemy's compiled-statement cache misses. ``--profile N`` prints cProfile's top N
functions by cumulative time over the same requests; ``--echo`` prints each statement of
one request. The latency under 20 concurrent callers is bench/dialer.py's; this is what
each of those requests costs the CPU (the 2-core machine's bound).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from _common import drop_schema, fresh_database  # noqa: E402

SCHEMA = "bench_dial_profile"


class Counter:
    """Statements and compiled-cache misses seen on the engine."""

    def __init__(self, engine, echo: bool = False):
        self.statements = 0
        self.misses = 0
        self.echo = echo
        sa.event.listen(engine, "before_cursor_execute", self.before)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self.statements += 1
        # The dialect's compiled cache: "generated in" is a miss (compiled this time);
        # "no key" is a statement without a cache key (a savepoint).
        stats = context._get_cache_stats() if context is not None else "raw"
        if stats.startswith("generated"):
            self.misses += 1
        if self.echo:
            print(f"  [{stats}] {' '.join(statement.split())[:160]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--leads", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--profile", type=int, default=0, help="cProfile's top N by cumtime")
    ap.add_argument("--sort", default="cumulative", help="cProfile's order: cumulative, tottime")
    ap.add_argument("--echo", action="store_true", help="print one request's statements")
    ap.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/test"),
    )
    a = ap.parse_args()

    from dialer import ALL_DAY, app_environ, build, set_total
    from flask_migrate import upgrade

    from leadapp import create_app
    from leadapp.extensions import db
    from leadapp.models import Campaign

    url = fresh_database(a.database_url, SCHEMA)
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    try:
        with tempfile.TemporaryDirectory(prefix="leadapp-dialprof-") as tmp:
            app = create_app(
                "production",
                environ=app_environ(url, tmp),
                PASSWORD_HASH_METHOD="pbkdf2:sha256:1",  # noqa: S106
            )
            with app.app_context():
                upgrade()
                account_id, campaign_id, code, pools, _agents, token = build(db, a.leads)
                set_total(db, pools, a.leads)
                db.session.get(Campaign, campaign_id).calling_hours = ALL_DAY
                db.session.commit()
                if kind == "PostgreSQL":
                    db.session.execute(sa.text("ANALYZE"))
                    db.session.commit()
                engine = db.engine
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            path = f"/api/v1/campaigns/{code}/dial/next"

            def post():
                # Closed: the admission slot (leadapp.admission) is given back on close.
                with client.post(path, json={"count": 1}, headers=headers) as answer:
                    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
                    return json.loads(answer.data)["leads"]

            for _ in range(5):  # warm: connections, caches, the compiled statements
                post()
            counter = Counter(engine)
            if a.echo:
                counter.echo = True
                print("one request's statements:")
                post()
                counter.echo = False
            counter.statements = counter.misses = 0
            handed = 0
            profiler = cProfile.Profile(time.process_time) if a.profile else None
            cpu0 = time.process_time()
            wall0 = time.perf_counter()
            if profiler:
                profiler.enable()
            for _ in range(a.requests):
                handed += len(post())
            if profiler:
                profiler.disable()
            cpu = (time.process_time() - cpu0) * 1000 / a.requests
            wall = (time.perf_counter() - wall0) * 1000 / a.requests
            print(
                f"dial/next on {kind}, {a.leads:,} leads, {a.requests} requests one after "
                f"the other: {cpu:.2f} ms CPU per request (wall {wall:.2f} ms), "
                f"{counter.statements / a.requests:.2f} statements per request, "
                f"{counter.misses / a.requests:.2f} compiled-cache misses per request, "
                f"{handed} leads handed out" + (" (cProfile on: CPU inflated)" if profiler else "")
            )
            if profiler:
                stats = pstats.Stats(profiler)
                # Deterministic, unlike any time on a loaded machine: Python's work.
                print(f"{stats.total_calls / a.requests:,.0f} Python function calls per request")
                stats.sort_stats(a.sort).print_stats(a.profile)
    finally:
        drop_schema(a.database_url, SCHEMA)
    return 0


if __name__ == "__main__":
    sys.exit(main())
