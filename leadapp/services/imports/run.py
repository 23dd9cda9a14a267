"""What the job and the CLI run: a file nobody checked is staged and written in one go
(``pipeline``); a file the wizard staged and analysed is written (``write``). Or the
import marked failed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from leadapp.extensions import db
from leadapp.models import Import
from leadapp.services.imports.analyse import analyse
from leadapp.services.imports.pipeline import stage_and_write
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
    """Stage, analyse and write: what the job and the CLI run.

    A file not staged yet is staged and written as a pipeline, and so is one whose
    pipeline stopped after writing batches (it has written rows but was never analysed:
    it is staged again and goes on from its checkpoint). A file staged and analysed (the
    wizard's check-data step) is written as the supervisor reviewed it; one staged but
    not analysed, with nothing written, is analysed first. Progress: when staged
    separately, staging is the first 30 %, writing the rest. ``with_the_results``: see
    ``execute``."""

    def part(lo: float, hi: float):
        if progress is None:
            return None
        return lambda pct, msg: progress(lo + (hi - lo) * pct / 100.0, msg)

    analysed = "duplicates_in_file" in (imp.counts or {})
    staged = (Path(imp.staging_path) / "staged.parquet").exists()
    if not staged or (not analysed and imp.rows_done):
        return stage_and_write(imp, progress, with_the_results)
    if not analysed:
        analyse(imp)
    return execute(imp, part(30, 100), with_the_results)
