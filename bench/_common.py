"""What the benchmarks share: the machine's description, peak memory, a fresh database."""

from __future__ import annotations

import platform
import resource
import sys
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def peak_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def fresh_database(url: str, schema: str) -> str:
    """An empty database for this run; returns the URL the app should use (on PostgreSQL
    the schema ``schema`` is dropped and created again)."""
    from config import _database_url

    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return url
    engine = sa.create_engine(_database_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    full = _database_url(url)
    return f"{full}{'&' if '?' in full else '?'}options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    from config import _database_url

    if url.startswith("sqlite"):
        return
    engine = sa.create_engine(_database_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()
