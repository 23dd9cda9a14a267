"""The account's lead table definition and its saved mapping templates."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import AccountScoped, Timestamped, db, enum

FIELD_TYPES = ("text", "number", "date", "phone", "email", "boolean")


class FieldDefinition(AccountScoped, db.Model):
    __tablename__ = "field_definitions"
    __table_args__ = (sa.UniqueConstraint("account_id", "key", name="uq_field_definitions_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(60))
    label: Mapped[str] = mapped_column(sa.String(120))
    type: Mapped[str] = mapped_column(enum(*FIELD_TYPES, name="field_type"), default="text")
    required: Mapped[bool] = mapped_column(default=False)
    unique: Mapped[bool] = mapped_column(default=False)
    max_length: Mapped[int | None]
    # Standard fields are predefined and cannot be removed; custom ones live in Lead.custom.
    is_standard: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class MappingTemplate(AccountScoped, Timestamped, db.Model):
    """A saved header→field mapping with time-zone rules, reusable across imports."""

    __tablename__ = "mapping_templates"
    __table_args__ = (sa.UniqueConstraint("account_id", "name", name="uq_mapping_templates_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    mapping: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # [{"field": "state", "value": "NSW", "zone": "Australia/Sydney"}, ...]
    timezone_rules: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Import settings saved with the mapping: {"first_valid_phone": true}. Templates saved
    # before this existed have {} (the setting off).
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
