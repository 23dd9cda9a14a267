"""Stage and write in one go: what ``flask leads import`` and the import job run for a file
nobody checked (``run``). The wizard stages at its check-data step and writes what the
supervisor reviewed (``analyse``, then ``write.execute``); here nobody waits for counts, so
the database writes batch k while the file's next rows are staged (read, mapped,
validated, normalised: pandas in the staging thread) and the leads of batch k+1 are built
(in the builder thread): staging runs on the client's core while PostgreSQL's COPY and
index work run in the server process.

Business rules — the same as staging, analysing and writing one after another:

* The counts are those of the package docstring. A row repeats an earlier valid row when
  its key (or, with "any of" several keys, one of its parts) was seen in an earlier row;
  the staged chunks come in file order and the keys seen so far are kept
  (``repeats_seen``), which marks exactly the rows a search over the whole file marks.
* The existing leads a batch matches are searched when the batch is cut, before its leads
  are built (``write.execute`` searches every batch's before the first write). Leads
  written by this import never match: the search leaves out this import's leads, and a
  pool the import created is not searched. A lead matched by rows of two batches (only
  possible with several keys matched on "any of" them) is found by the later batch as the
  earlier batches left it.
* Exactly once: each batch is written in one transaction with its checkpoint and the
  counts so far. A run that stopped is resumed by staging the file again (deterministic:
  the same rows, numbers and keys) and writing from the checkpoint; the file's counts
  (rows, valid, invalid, repeats in the file, zones unsure) are counted again over the
  whole file, and what the earlier batches did (imported, matched, discarded, ...) comes
  from the checkpoint's counts. A run that stopped before writing its first batch, with
  the file staged, goes the wizard's way (``run``).
* The staged file is complete when the last chunk is staged; the reports read it as they
  read a checked file. A line refused deep in the file (one the upload's check did not
  see) or a full disk stops the import where staging stops: the batches before it stay
  written, as in a run killed there, and the import says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from leadapp.models import Import
from leadapp.services.imports.ahead import built_ahead
from leadapp.services.imports.duplicates import _NO_MATCHES
from leadapp.services.imports.edits import deleted_rows
from leadapp.services.imports.stage import Staging
from leadapp.services.imports.write import Writing, begin, finish, write_batches

# Staged chunks waiting for the writer: memory stays at a few chunks; one more lets staging
# run on while the writer takes a burst of batches.
STAGED_AHEAD = 2
# Rows per staged chunk: about a batch, so the database starts writing (and the staging of
# the last rows ends) soon; smaller chunks cost pandas more per row.
PIPELINE_CHUNK = 20_000


def stage_and_write(
    imp: Import,
    progress: Callable[[float, str], None] | None = None,
    with_the_results: Callable[[dict], None] | None = None,
) -> dict:
    """Stage the file and write its leads as a pipeline; the counts of ``write.execute``.

    Commits (each batch with its checkpoint, then the results); ``with_the_results``: see
    ``write.execute``."""
    # Staging reads through the session: here, before its thread starts.
    staging = Staging(imp, chunk_rows=PIPELINE_CHUNK)
    lines = _lines_estimate(Path(imp.staging_path) / "source.csv", imp.file_size)
    chunks = built_ahead(iter(staging), _as_is, depth=STAGED_AHEAD)
    file_counts = {"duplicates_in_file": 0, "zone_unsure": 0}
    try:
        writing = begin(imp)

        def report(batch: pd.DataFrame, _written: int, totals: dict) -> None:
            if progress:
                done = min(99.0, 100.0 * int(batch["_line"].max()) / lines)
                progress(done, f"Imported {totals['imported']:,} leads.")

        batches = _batches(writing, chunks, file_counts)
        write_batches(writing, batches, report)
    finally:
        chunks.close()  # the staging thread stops with the import, whatever stopped it
    totals = writing.totals
    totals.update(staging.counts(), **file_counts, deleted=len(deleted_rows(imp)))
    scoped = writing.settings.scope != "none"
    if not scoped:
        totals.update(duplicates_existing=0, existing_leads_matched=0)
    # Nobody reviewed a forecast: what the review step would have predicted is what the
    # import did (``import_outcomes.predict`` counts as the engine does).
    predicted = {k: totals.get(k, 0) for k in ("imported", "updated", "moved")}
    predicted.update({k: totals.get(k, 0) for k in ("deactivated", "removed", "notified")})
    predicted["discarded"] = totals["duplicates_in_file"] + totals.get("discarded_existing", 0)
    totals["predicted"] = predicted
    return finish(writing, with_the_results)


def _as_is(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def _batches(
    writing: Writing, chunks: Iterator[pd.DataFrame], file_counts: dict
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame, dict]]:
    """The batches ``write.execute`` would write, cut as the staged chunks come: the valid
    rows that repeat no earlier row, from the checkpoint on, ``step`` at a time, each with
    its existing matches and what to add to the counts. Counts the file's repeats and
    unsure zones into ``file_counts`` (over every row, those before the checkpoint too)."""
    imp, settings, step = writing.imp, writing.settings, writing.step
    scoped = settings.scope != "none"
    checkpoint = writing.checkpoint  # where this run starts (it moves as batches commit)
    seen: list[set] = []
    waiting: list[pd.DataFrame] = []
    size = 0
    for chunk in chunks:
        valid = chunk[chunk["_valid"]]
        if "timezone_note" in valid:
            note = valid["timezone_note"]
            file_counts["zone_unsure"] += int((note.notna() & (note != "")).sum())
        if scoped:
            repeats = settings.repeats_seen(valid["_key"], seen)
            file_counts["duplicates_in_file"] += int(repeats.sum())
            valid = valid[~repeats]
        pending = valid[valid["_row"] >= checkpoint]
        if len(pending):
            waiting.append(pending)
            size += len(pending)
        while size >= step:
            rows = pd.concat(waiting) if len(waiting) > 1 else waiting[0]
            waiting, size = [rows.iloc[step:]], size - step
            yield _with_matches(imp, writing, rows.iloc[:step])
    if size:
        yield _with_matches(imp, writing, pd.concat(waiting) if len(waiting) > 1 else waiting[0])


def _with_matches(imp, writing: Writing, batch: pd.DataFrame) -> tuple:
    """A batch with the existing leads it matches (searched now, in the writer's session,
    between two batches' transactions: on SQLite without the write lock) and the matches'
    counts, committed with the batch."""
    settings = writing.settings
    if settings.scope == "none" or not writing.scope_ids:
        return batch, _NO_MATCHES, {"duplicates_existing": 0, "existing_leads_matched": 0}
    matches = settings.existing_matches(batch["_key"], writing.scope_ids, imp.id)
    hit = batch["_key"].isin(set(matches["_key"])) if not matches.empty else batch["_key"].isna()
    extra = {
        "duplicates_existing": int(hit.sum()) if not matches.empty else 0,
        "existing_leads_matched": int(matches["lead_id"].nunique()),
    }
    return batch, matches, extra


def _lines_estimate(path: Path, size: int | None) -> float:
    """The file's lines, estimated from its first MiB (for the progress shown)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    per_line = len(head) / max(head.count(b"\n"), 1)
    return max((size or len(head)) / max(per_line, 1.0), 1.0)
