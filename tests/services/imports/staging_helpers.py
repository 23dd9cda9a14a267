"""A real staged import (file attached, mapped, staged with the engine) for the check-data
tests, what a supervisor sees in its grid, and an existing lead to match."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Campaign, Lead, User
from leadapp.services.accounts import create_campaign
from leadapp.services.imports import analyse as import_analyse
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import read as import_read
from leadapp.services.imports import stage as import_stage

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
    imp = import_read.create_import(
        account, admin, campaign, pool_name=f"Check {uuid.uuid4().hex[:8]}"
    )
    path = folder / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(csv_bytes(rows))
    info = import_read.attach_file(imp, path, "leads.csv")
    import_mapping.set_mapping(
        imp,
        {"Phone": "phone1", "First name": "first_name"},
        info.headers,
        [],
        import_duplicates.DuplicateSettings(scope=scope),
    )
    import_stage.stage(imp)
    import_analyse.analyse(imp)
    return imp


def add(pool, **values) -> Lead:
    """An existing lead in ``pool`` (flushed), for the duplicate search to find."""
    lead = Lead(pool_id=pool.id, **values)
    db.session.add(lead)
    db.session.flush()
    return lead
