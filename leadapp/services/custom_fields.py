"""The account's custom lead fields: added, changed and removed by admins.

Business rules:

* A custom field has a label (what people read), a key derived from it once (what the
  import, the API, search and ``--match custom:KEY`` use; it never changes, so the values
  stored under it stay theirs), a type (text, number, date, phone, email, yes/no), and may
  be required, unique and limited to a maximum length. Its values live in ``Lead.custom``.
* Unique means unique among the account's leads: the field definitions are the account's
  one lead table, so a value such as a policy number names one customer in every campaign.
  A file repeating a value, or a value another lead of the account already holds, is a cell
  error — except when the field is one of the duplicate match keys of that import (or of
  the campaign's API rules): then the duplicate rules decide (discard, update, move...).
* Standard fields cannot be changed or removed here.
* Removing a field that holds values asks first, with the number of leads holding one; the
  values are removed with the field. A field used as a match key by a campaign's API rules
  or by a dedup job that has not run yet cannot be removed until that use is changed.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from leadapp.domain.fields import FIELD_TYPES, STANDARD_KEYS
from leadapp.extensions import db
from leadapp.models import Campaign, DedupJob, FieldDefinition, Lead

__all__ = [
    "CustomFieldError",
    "TYPE_WORDS",
    "add_field",
    "change_field",
    "custom_fields",
    "derive_key",
    "remove_field",
    "value_counts",
]

TYPE_WORDS = {
    "text": "Text",
    "number": "Number",
    "date": "Date",
    "phone": "Phone number",
    "email": "Email address",
    "boolean": "Yes / no",
}
LABEL_MAX = 120
KEY_MAX = 60
LENGTH_MAX = 10_000
# Lead attributes and words the API and search use: never a custom field's key.
RESERVED = frozenset(
    {
        "id",
        "pool",
        "pool_id",
        "custom",
        "account",
        "account_id",
        "phones",
        "email_key",
        "do_not_call",
        "completed",
        "wrap_code",
        "callback_at",
        "call_count",
        "dial_order",
        "import_id",
        "updated_at",
        "last_outcome",
        "timezone_source",
    }
)


class CustomFieldError(ValueError):
    """A change the rules refuse; the message is one sentence an admin can act on."""


def custom_fields() -> list[FieldDefinition]:
    """The bound account's custom fields, in their order."""
    return list(
        db.session.scalars(
            sa.select(FieldDefinition)
            .where(FieldDefinition.is_standard.is_(False))
            .order_by(FieldDefinition.position, FieldDefinition.id)
        )
    )


def _value(key: str):
    return sa.func.nullif(sa.func.trim(Lead.custom[key].as_string()), "")


def value_counts(fields: list[FieldDefinition]) -> dict[int, int]:
    """Per field id, how many of the account's leads hold a value for it (one query)."""
    if not fields:
        return {}
    row = db.session.execute(
        sa.select(*[sa.func.count(_value(f.key)).label(f"f{f.id}") for f in fields]).select_from(
            Lead
        )
    ).one()
    return {f.id: int(row[i] or 0) for i, f in enumerate(fields)}


def derive_key(label: str, taken: set[str]) -> str:
    """``Policy number`` -> ``policy_number``: lower-case letters, digits and ``_``,
    starting with a letter, not a standard field or a reserved word; ``_2``, ``_3``... when
    the key is taken."""
    # Keys are plain ASCII: accents are dropped (Zoë -> zoe), other letters too.
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_label.strip().lower()).strip("_")
    if not key or not key[0].isalpha():
        key = f"field_{key}".rstrip("_")
    key = key[: KEY_MAX - 4]
    base, n = key, 1
    while key in taken or key in STANDARD_KEYS or key in RESERVED:
        n += 1
        key = f"{base}_{n}"
    return key


def _checked(label: str, type_: str, max_length) -> tuple[str, str, int | None]:
    label = " ".join((label or "").split())
    if not label:
        raise CustomFieldError("Give the field a label, e.g. Policy number.")
    if len(label) > LABEL_MAX:
        raise CustomFieldError(f"A field label has at most {LABEL_MAX} characters.")
    if type_ not in FIELD_TYPES:
        raise CustomFieldError(
            f"The field type must be one of: {', '.join(TYPE_WORDS[t] for t in FIELD_TYPES)}."
        )
    if max_length in (None, ""):
        limit = None
    else:
        try:
            limit = int(str(max_length).strip())
        except ValueError:
            raise CustomFieldError("The maximum length is a whole number of characters.") from None
        if not 1 <= limit <= LENGTH_MAX:
            raise CustomFieldError(
                f"The maximum length is between 1 and {LENGTH_MAX:,} characters."
            )
    if limit is not None and type_ != "text":
        limit = None  # only text is cut to a length; other types have their own form
    return label, type_, limit


def _label_taken(label: str, exclude_id: int | None = None) -> bool:
    query = sa.select(FieldDefinition.id).where(
        sa.func.lower(FieldDefinition.label) == label.lower()
    )
    if exclude_id is not None:
        query = query.where(FieldDefinition.id != exclude_id)
    return db.session.scalar(query.limit(1)) is not None


def add_field(
    account_id: int,
    label: str,
    type_: str = "text",
    *,
    required: bool = False,
    unique: bool = False,
    max_length=None,
) -> FieldDefinition:
    """A new custom field of the account, after its standard fields and custom ones."""
    label, type_, limit = _checked(label, type_, max_length)
    if _label_taken(label):
        raise CustomFieldError(f"There is already a field labelled {label}; choose another label.")
    taken = set(db.session.scalars(sa.select(FieldDefinition.key)))
    last = db.session.scalar(sa.select(sa.func.max(FieldDefinition.position))) or 0
    field = FieldDefinition(
        account_id=account_id,
        key=derive_key(label, taken),
        label=label,
        type=type_,
        required=bool(required),
        unique=bool(unique),
        max_length=limit,
        is_standard=False,
        position=last + 1,
    )
    db.session.add(field)
    db.session.flush()
    return field


def change_field(
    field: FieldDefinition,
    label: str,
    type_: str,
    *,
    required: bool,
    unique: bool,
    max_length=None,
) -> dict:
    """Change a custom field's label, type and rules (its key stays). The rules apply to
    every lead written from now on; values already stored are not checked again.
    Returns what changed (``{name: [before, after]}``)."""
    if field.is_standard:
        raise CustomFieldError(f"{field.label} is a standard field; it cannot be changed.")
    label, type_, limit = _checked(label, type_, max_length)
    if _label_taken(label, exclude_id=field.id):
        raise CustomFieldError(f"There is already a field labelled {label}; choose another label.")
    after = {
        "label": label,
        "type": type_,
        "required": bool(required),
        "unique": bool(unique),
        "max_length": limit,
    }
    changes = {k: [getattr(field, k), v] for k, v in after.items() if getattr(field, k) != v}
    for key, (_before, value) in changes.items():
        setattr(field, key, value)
    db.session.flush()
    return changes


def _uses(field: FieldDefinition) -> list[str]:
    """What uses the field as a match key (and so stops its removal), in words."""
    key = f"custom:{field.key}"
    uses = []
    for campaign in db.session.scalars(sa.select(Campaign).order_by(Campaign.name)):
        if key in ((campaign.api_duplicate_options or {}).get("match") or []):
            uses.append(f"the API duplicate rules of campaign {campaign.name}")
    waiting = sa.select(DedupJob).where(
        DedupJob.status.in_(("draft", "testing", "tested", "scheduled", "running"))
    )
    for job in db.session.scalars(waiting.order_by(DedupJob.name)):
        if key in (job.match_keys or []):
            uses.append(f"the dedup job {job.name}")
    return uses


def remove_field(field: FieldDefinition, *, confirmed_count: int | None = None) -> int:
    """Remove a custom field and its values; returns how many leads lost a value.

    When leads hold values, ``confirmed_count`` must equal their number (the admin was
    asked with it); otherwise the removal is refused with the count."""
    if field.is_standard:
        raise CustomFieldError(f"{field.label} is a standard field; it cannot be removed.")
    uses = _uses(field)
    if uses:
        raise CustomFieldError(
            f"{field.label} is a match key of {'; '.join(uses)}; choose other match keys "
            "there first."
        )
    count = value_counts([field])[field.id]
    if count and confirmed_count != count:
        raise CustomFieldError(
            f"{count:,} lead(s) hold a {field.label}; confirm to remove the field and those values."
        )
    if count:
        holders = sa.select(Lead.id).where(_value(field.key).is_not(None))
        for lead in db.session.scalars(sa.select(Lead).where(Lead.id.in_(holders))):
            custom = dict(lead.custom or {})
            custom.pop(field.key, None)
            lead.custom = custom
    db.session.delete(field)
    db.session.flush()
    return count
