"""``run``: what the job and the CLI run — stage, analyse and write in one call."""

from __future__ import annotations

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Lead, User
from leadapp.security import account_scope
from leadapp.services.accounts import create_campaign
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import read as import_read
from leadapp.services.imports import run as import_run
from tests.services.imports.staging_helpers import csv_bytes


def test_run_stages_analyses_and_writes_an_import_mapped_but_never_checked(
    app, make_account, tmp_path
):
    account_id = make_account("acme")
    source = tmp_path / "leads.csv"
    source.write_bytes(csv_bytes([("212 555 0101", "Ann"), ("212 555 0101", "Bo"), ("1", "Cy")]))
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        campaign = create_campaign(account, "Spring")
        imp = import_read.create_import(account, admin, campaign, pool_name="Run")
        info = import_read.attach_file(imp, source, source.name)
        import_mapping.set_mapping(
            imp,
            {"Phone": "phone1", "First name": "first_name"},
            info.headers,
            [],
            import_duplicates.DuplicateSettings(scope="campaign"),
        )
        counts = import_run.run(imp)
        assert (counts["rows"], counts["valid"], counts["invalid"]) == (3, 2, 1)
        assert (counts["imported"], counts["duplicates_in_file"]) == (1, 1)
        names = db.session.scalars(sa.select(Lead.first_name).where(Lead.import_id == imp.id))
        assert list(names) == ["Ann"]
        assert (imp.status, imp.step) == ("completed", "done")
