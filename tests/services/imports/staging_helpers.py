"""A real staged import (file attached, mapped, staged with the engine) for the check-data
tests, and what a supervisor sees in its grid."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Campaign, User
from leadapp.services import imports as import_service
from leadapp.services.accounts import create_campaign

HEADER = ["Phone", "First name"]


def csv_bytes(rows: list[tuple[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def staged_import(account_id: int, folder: Path, rows: list[tuple[str, str]], scope="campaign"):
    """An import of ``rows`` (phone, first name) staged as the check-data step shows it.

    Call inside an app context and ``account_scope(account_id)``."""
    account = db.session.get(Account, account_id)
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring"))
    if campaign is None:
        campaign = create_campaign(account, "Spring")
    admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
    imp = import_service.create_import(
        account, admin, campaign, pool_name=f"Check {uuid.uuid4().hex[:8]}"
    )
    path = folder / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(csv_bytes(rows))
    info = import_service.attach_file(imp, path, "leads.csv")
    import_service.set_mapping(
        imp,
        {"Phone": "phone1", "First name": "first_name"},
        info.headers,
        [],
        import_service.DuplicateSettings(scope=scope),
    )
    import_service.stage(imp)
    import_service.analyse(imp)
    return imp
