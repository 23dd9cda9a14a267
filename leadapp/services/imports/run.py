"""What the job and the CLI run: the stages one after another (stage, analyse, write), or
the import marked failed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from leadapp.extensions import db
from leadapp.models import Import
from leadapp.services.imports.analyse import analyse
from leadapp.services.imports.stage import stage
from leadapp.services.imports.write import execute


def fail(imp: Import, message: str) -> None:
    """Mark the import failed with a sentence for the supervisor (caller commits)."""
    imp.status = "failed"
    imp.error = message
    db.session.flush()


def run(
    imp: Import,
    progress: Callable[[float, str], None] | None = None,
    with_the_results: Callable[[dict], None] | None = None,
) -> dict:
    """Stage (unless already staged), analyse and execute: what the job and the CLI run.

    Progress: staging is the first 30 %, writing the rest. ``with_the_results``: see
    ``execute``."""

    def part(lo: float, hi: float):
        if progress is None:
            return None
        return lambda pct, msg: progress(lo + (hi - lo) * pct / 100.0, msg)

    if not (Path(imp.staging_path) / "staged.parquet").exists():
        stage(imp, part(0, 30))
        db.session.commit()  # the staged counts: analyse reads without SQLite's write lock
        analyse(imp)
    elif "duplicates_in_file" not in (imp.counts or {}):
        analyse(imp)
    return execute(imp, part(30, 100), with_the_results)
