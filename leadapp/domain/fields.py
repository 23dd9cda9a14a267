"""The standard lead fields every account starts with (its lead table definition).

The app seeds each new account's field definitions from ``STANDARD_FIELDS``; admins add
custom fields on top. Validation and column matching read the same list.
"""

from __future__ import annotations

from dataclasses import dataclass

FIELD_TYPES = ("text", "number", "date", "phone", "email", "boolean")


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    type: str = "text"
    required: bool = False
    unique: bool = False
    max_length: int | None = None


STANDARD_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("customer_key", "Customer key", max_length=120),
    FieldSpec("first_name", "First name", max_length=120),
    FieldSpec("last_name", "Last name", max_length=120),
    FieldSpec("email", "Email", "email", max_length=254),
    FieldSpec("phone1", "Phone 1", "phone", max_length=64),
    FieldSpec("phone2", "Phone 2", "phone", max_length=64),
    FieldSpec("phone3", "Phone 3", "phone", max_length=64),
    FieldSpec("phone4", "Phone 4", "phone", max_length=64),
    FieldSpec("phone5", "Phone 5", "phone", max_length=64),
    FieldSpec("timezone", "Time zone", max_length=64),
    FieldSpec("state", "State / region", max_length=64),
    FieldSpec("postal_code", "Postal code", max_length=20),
    FieldSpec("country", "Country", max_length=2),
    FieldSpec("source", "Source", max_length=20),
    FieldSpec("status", "Status", max_length=20),
    FieldSpec("created_at", "Created", "date"),
    FieldSpec("last_called_at", "Last called", "date"),
    FieldSpec("notes", "Notes", max_length=5000),
)

STANDARD_KEYS = frozenset(f.key for f in STANDARD_FIELDS)
PHONE_FIELDS = tuple(f"phone{i}" for i in range(1, 6))
