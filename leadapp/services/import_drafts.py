"""Imports still being prepared in the wizard (drafts): listed with their pool and step,
resumed, or discarded."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Import, LeadPool, User
from leadapp.services import audit

STEP_LABELS = {
    "settings": "Settings",
    "file": "File",
    "mapping": "Mapping",
    "duplicates": "Duplicates",
    "check": "Check data",
    "review": "Review",
}


class NotADraft(ValueError):
    """The import has started; its own page says where it is."""


def is_draft(imp: Import) -> bool:
    return imp.status in ("draft", "failed") and imp.step in STEP_LABELS


def drafts() -> list[dict]:
    """Every draft of the account, newest first: the import, the pool it goes into (the
    existing pool's name, else the name given for the new one, else the file's name), the
    step it stopped at in words."""
    rows = db.session.scalars(
        sa.select(Import)
        .where(Import.status == "draft", Import.step.in_(list(STEP_LABELS)))
        .order_by(Import.updated_at.desc(), Import.id.desc())
    ).all()
    pools = {
        p.id: p.name
        for p in db.session.scalars(
            sa.select(LeadPool).where(LeadPool.id.in_({r.pool_id for r in rows if r.pool_id}))
        )
    }
    users = {
        u.id: u.name
        for u in db.session.scalars(
            sa.select(User).where(User.id.in_({r.user_id for r in rows if r.user_id}))
        )
    }
    out = []
    for imp in rows:
        settings = imp.settings or {}
        pool = pools.get(imp.pool_id) if imp.pool_id else None
        name = (
            pool or settings.get("pool_name") or (Path(imp.file_name).stem if imp.file_name else "")
        )
        out.append(
            {
                "imp": imp,
                "pool": name or "(named after the file)",
                "existing_pool": bool(pool),
                "step": STEP_LABELS[imp.step],
                "by": users.get(imp.user_id, ""),
            }
        )
    return out


def discard(imp: Import, user_id: int | None) -> str:
    """Discard a draft: its staged file and rows go, nothing was written to any pool.
    Returns the file name (or pool name) for the sentence saying so."""
    if not is_draft(imp) or imp.status != "draft":
        raise NotADraft("This import has already started; it cannot be discarded.")
    what = imp.file_name or (imp.settings or {}).get("pool_name") or f"import {imp.id}"
    if imp.staging_path and Path(imp.staging_path).exists():
        shutil.rmtree(imp.staging_path, ignore_errors=True)
    audit.record(imp.account_id, user_id, "import.discard", imp, file=imp.file_name)
    db.session.delete(imp)
    db.session.flush()
    return what
