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


def set_changed(obj, new: dict) -> dict[str, list]:
    """Set each of ``new``'s fields on ``obj`` that differs and return what changed as
    ``{field: [old, new]}`` (the audit log's shape); flushes when anything changed."""
    changes = {}
    for key, value in new.items():
        old = getattr(obj, key)
        if old != value:
            changes[key] = [old, value]
            setattr(obj, key, value)
    if changes:
        db.session.flush()
    return changes
