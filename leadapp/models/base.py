"""Column helpers and the mixin that marks a table as belonging to one account."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Mapper, declared_attr, mapped_column

from leadapp.domain.names import clean_name
from leadapp.extensions import db

# Ids are INTEGER columns: 32-bit on PostgreSQL (SQLite's hold 64 bits). A larger number
# names no object, and sent to the database it fails there ("integer out of range").
ID_MAX = 2**31 - 1


def is_id(value) -> bool:
    """Whether ``value`` can be the id of a stored object (a positive INTEGER)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def enum(*values: str, name: str) -> sa.Enum:
    # Plain VARCHAR + CHECK instead of a PostgreSQL ENUM type: migrations stay portable.
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


class AccountScoped:
    """Rows of one account. Queries are filtered to the current account in one place
    (``leadapp.security.isolation``); nothing else needs to remember it."""

    @declared_attr
    def account_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
        )


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


# Names people and uploads give things, cleaned wherever they are set (a form, the API, the
# CLI, a job): control characters (CR, LF, tab, NUL, bidi overrides) become spaces and the
# name is cut to its column. A file named "evil.csv\r\nBcc: ..." is stored as one line, so
# downloads (Content-Disposition) and email subjects never break on it.
NAME_COLUMNS = {
    "Account": ("name",),
    "User": ("name",),
    "Project": ("name",),
    "Campaign": ("name",),
    "ApiToken": ("name",),
    "DedupJob": ("name",),
    "FieldDefinition": ("label",),
    "MappingTemplate": ("name",),
    "Import": ("file_name",),
    "LeadPool": ("name", "source_file_name"),
    "SavedView": ("name",),
    "BackgroundJob": ("title",),
    "WrapCode": ("label",),
}


def _name_cleaner(limit: int | None):
    def clean(_target, value, _old, _initiator):
        return value if value is None else clean_name(value, limit)

    return clean


@event.listens_for(Mapper, "mapper_configured")
def _clean_names(mapper, cls) -> None:
    for attr in NAME_COLUMNS.get(cls.__name__, ()):
        column = mapper.columns[attr]
        limit = getattr(column.type, "length", None)
        event.listen(getattr(cls, attr), "set", _name_cleaner(limit), retval=True)


__all__ = ["AccountScoped", "Timestamped", "db", "enum", "utcnow"]
