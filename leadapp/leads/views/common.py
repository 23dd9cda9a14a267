"""What the leads pages share: the account's zone, pools, custom fields, and safe
parsing of ids, dates and return paths."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_login import current_user

from leadapp.extensions import db
from leadapp.models import (
    FieldDefinition,
    LeadPool,
)
from leadapp.models.base import is_id
from leadapp.security import safe_next

# ---------------------------------------------------------------------------------------
# Helpers


def _account():
    return current_user.account


def _custom_definitions() -> list[FieldDefinition]:
    return list(
        db.session.scalars(
            sa.select(FieldDefinition)
            .where(FieldDefinition.is_standard.is_(False))
            .order_by(FieldDefinition.position, FieldDefinition.id)
        )
    )


def _pools(include_system: bool = False) -> list[LeadPool]:
    query = sa.select(LeadPool).order_by(LeadPool.name)
    if not include_system:
        query = query.where(LeadPool.is_system.is_(False))
    return list(db.session.scalars(query))


def _zone() -> ZoneInfo:
    return ZoneInfo(_account().timezone)


def _day_start_utc(day: dt.date) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(0, 0), tzinfo=_zone())
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()) if (text or "").strip() else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    text = (text or "").strip().lstrip("#")
    number = int(text) if text.isascii() and text.isdigit() else None
    return number if is_id(number) else None  # past an INTEGER column: no object


def _safe_next(target: str | None, fallback: str) -> str:
    """Only paths of this site (never another host) are followed after a form."""
    return safe_next(target, fallback)
