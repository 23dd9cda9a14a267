"""The audit trail behind "last modified by" and each object's full log."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import AuditLog


def record(account_id: int, user_id: int | None, action: str, obj, **details) -> AuditLog:
    """Note that ``user_id`` did ``action`` to ``obj``; part of the caller's transaction."""
    entry = AuditLog(
        account_id=account_id,
        user_id=user_id,
        action=action,
        object_type=type(obj).__name__,
        object_id=getattr(obj, "id", None),
        details=details,
    )
    db.session.add(entry)
    return entry
