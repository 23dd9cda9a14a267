"""The analyse step: the review's counts — rows, valid and invalid, duplicates in the file
and of existing leads in the campaign's pools."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services.imports import analyse as import_analyse
from tests.services.imports.staging_helpers import add, staged_import

ROWS = [
    ("212 555 0101", "Ann"),
    ("(212) 555-0101", "Ann again"),  # the same number written otherwise: in the file
    ("212 555 0102", "Bob"),
    ("12", "Flo"),  # invalid
]


def test_the_review_counts_duplicates_in_the_file_and_of_existing_leads(
    app, make_account, tmp_path
):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        imp = staged_import(account_id, tmp_path, ROWS)
        counts = import_analyse.analyse(imp)
        assert (counts["rows"], counts["valid"], counts["invalid"]) == (4, 3, 1)
        assert (counts["duplicates_in_file"], counts["duplicates_existing"]) == (1, 0)
        older = LeadPool(name="Older")
        db.session.add(older)
        db.session.flush()
        db.session.add(PoolAssignment(pool_id=older.id, campaign_id=imp.campaign_id))
        add(older, phone1="+12125550102")
        counts = import_analyse.analyse(imp)
        assert (counts["duplicates_existing"], counts["existing_leads_matched"]) == (1, 1)
        assert imp.step == "review"
