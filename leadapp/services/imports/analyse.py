"""Stage 3, analyse: duplicates in the file (pandas over the staged keys) and of existing
leads in scope, giving the counts shown on the review step."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import Import, LeadPool
from leadapp.services import import_outcomes
from leadapp.services.imports.duplicates import _NO_MATCHES, DuplicateSettings, scope_pool_ids
from leadapp.services.imports.edits import deleted_rows
from leadapp.services.imports.grid import zone_unsure_count
from leadapp.services.imports.stage import staged


def analyse(imp: Import) -> dict:
    """Count duplicates in the file and of existing leads; store the counts."""
    settings = DuplicateSettings(**imp.duplicate_settings).check()
    frame = staged(imp, ["_row", "_valid", "_key"])
    counts = dict(imp.counts or {})

    counts["deleted"] = len(deleted_rows(imp))
    counts["valid"] = int(frame["_valid"].sum())
    counts["invalid"] = len(frame) - counts["valid"]
    counts["rows"] = len(frame)
    counts["zone_unsure"] = zone_unsure_count(imp)
    if settings.scope == "none":
        counts.update(duplicates_in_file=0, duplicates_existing=0, existing_leads_matched=0)
        counts["predicted"] = import_outcomes.forecast(
            frame.loc[frame["_valid"], "_key"], _NO_MATCHES, settings, 0
        )
    else:
        valid = frame[frame["_valid"]]
        in_file = settings.repeats_earlier(valid["_key"])
        firsts = valid.loc[~in_file, "_key"]
        pool = db.session.get(LeadPool, imp.pool_id) if imp.pool_id else None
        matches = settings.existing_matches(firsts, scope_pool_ids(imp, pool, settings), imp.id)
        counts["duplicates_in_file"] = int(in_file.sum())
        counts["duplicates_existing"] = int(firsts.isin(set(matches["_key"])).sum())
        counts["existing_leads_matched"] = int(matches["lead_id"].nunique())
        counts["predicted"] = import_outcomes.forecast(
            firsts, matches, settings, counts["duplicates_in_file"]
        )
    imp.counts = counts
    imp.step = "review"
    db.session.flush()
    return counts
