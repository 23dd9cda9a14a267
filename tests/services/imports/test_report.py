"""The report: the counts of ``leads import --json`` (zero for what an import has not
done yet) and the log download."""

from __future__ import annotations

from leadapp.models import Import
from leadapp.services.imports import report as import_report


def test_public_counts_are_zero_for_what_was_not_done_and_name_mapped_columns_only(app):
    with app.app_context():
        imp = Import(
            counts={"rows": 3, "valid": 2, "invalid": 1, "imported": 2},
            mapping={"Phone": "phone1", "Notes": None},
            settings={"header": False},
            pool_id=7,
        )
        counts = import_report.public_counts(imp)
    assert (counts["rows"], counts["valid"], counts["invalid"]) == (3, 2, 1)
    assert (counts["imported"], counts["updated"], counts["moved"]) == (2, 0, 0)
    assert counts["mapping"] == {"Phone": "phone1"}
    assert (counts["header"], counts["warnings"], counts["pool_id"]) == (False, [], 7)
