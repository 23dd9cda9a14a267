"""A pool's change log as sentences a supervisor reads ("Changed the day count from — to
4."), not the audit rows' dictionaries: for the pool page and its log download."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import AuditLog, LeadPool, User

# The pool's fields as the pool page names them.
FIELD_WORDS = {
    "name": "the name",
    "description": "the description",
    "active_from": "the active-from date",
    "active_until": "the active-until date",
    "day_offset": "the day offset",
    "day_count": "the day count",
    "time_from": "the call-from time",
    "time_until": "the call-until time",
    "priority": "the priority",
    "owner": "the owner",
}
QUOTED = ("name", "description")  # free text, quoted in the sentence
IMPORT_COUNTS = (
    ("imported", "imported"),
    ("updated", "updated"),
    ("discarded", "discarded"),
    ("invalid", "invalid"),
)


def _n(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def _value(value, quoted: bool = False) -> str:
    if value in (None, ""):
        return "—"
    return f"“{value}”" if quoted else str(value)


def _leads(count) -> str:
    return f"{_n(count)} lead{'' if count == 1 else 's'}"


def sentence(action: str, details: dict | None) -> str:
    """One audit entry on a pool as a sentence; an action this does not know is still said
    in words (its name and details), never as a dictionary."""
    d = details or {}
    if action == "pool.created":
        return f"Created the list{' for ' + d['campaign'] if d.get('campaign') else ''}."
    if action == "pool.activated":
        return "Enabled the pool."
    if action == "pool.deactivated":
        return "Disabled the pool."
    if action == "pool.shuffled":
        return "Shuffled the dial order."
    if action == "pool.reset":
        return f"Re-opened {_leads(d.get('leads', 0))} (completed or closed)."
    if action == "pool.unprocessed_deleted":
        return f"Deleted {_leads(d.get('leads', 0))} never called."
    if action == "pool.edited":
        parts = [
            f"{FIELD_WORDS.get(key, key.replace('_', ' '))} from {_value(old, key in QUOTED)} "
            f"to {_value(new, key in QUOTED)}"
            for key, (old, new) in (d.get("changes") or {}).items()
        ]
        return ("Changed " + "; ".join(parts) + ".") if parts else "Saved without changes."
    if action == "import.completed":
        counts = ", ".join(
            f"{_n(d[key])} {word}" for key, word in IMPORT_COUNTS if d.get(key) is not None
        )
        file = f" {d['file']}" if d.get("file") else ""
        return f"Imported{file} (import #{d.get('import_id', '?')}): {counts or 'no counts'}."
    if action == "leads.moved_in":
        return f"Received {_leads(d.get('leads', 0))} moved from {d.get('from', 'another list')}."
    if action == "leads.moved_out":
        return f"Moved {_leads(d.get('leads', 0))} to {d.get('to', 'another list')}."
    if action == "leads.deleted":
        return f"Deleted {_leads(d.get('leads', 0))}."
    if action == "leads.do_not_call":
        return f"Marked {_leads(d.get('leads', 0))} do-not-call."
    words = action.split(".", 1)[-1].replace("_", " ").capitalize()
    said = "; ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in d.items())
    return f"{words}{': ' + said if said else ''}."


@dataclass(frozen=True)
class Change:
    at: dt.datetime
    by: str
    by_email: str
    action: str
    sentence: str


def changes(pool: LeadPool, limit: int | None = None, newest_first: bool = True) -> list[Change]:
    """The pool's audit entries as sentences (``limit`` newest, or all)."""
    order = (AuditLog.at.desc(), AuditLog.id.desc()) if newest_first else (AuditLog.at, AuditLog.id)
    query = (
        sa.select(AuditLog.at, AuditLog.action, AuditLog.details, User.name, User.email)
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(AuditLog.object_type == "LeadPool", AuditLog.object_id == pool.id)
        .order_by(*order)
    )
    if limit:
        query = query.limit(limit)
    return [
        Change(at, name or "", email or "", action, sentence(action, details))
        for at, action, details, name, email in db.session.execute(query)
    ]
