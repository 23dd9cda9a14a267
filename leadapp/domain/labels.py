"""The words people read for the app's internal names: fields (``phone1`` is "Phone 1"),
duplicate actions (``discard-new`` is "Keep the existing lead, skip the new row"), and a
pool's duplicate-check field (``phone1|email`` is "Phone 1 or Email")."""

from __future__ import annotations

from leadapp.domain.fields import STANDARD_FIELDS

FIELD_LABELS = {
    **{f.key: f.label for f in STANDARD_FIELDS},
    "phones": "Any phone (Phone 1 to Phone 5)",
}
ACTION_LABELS = {
    "notify": "Import the new row and report the match (notify only)",
    "discard-new": "Keep the existing lead, skip the new row",
    "deactivate-existing": "Import the new row and deactivate the existing lead",
    "remove-existing": "Import the new row and set the existing lead to removed",
    "update-existing": "Update the existing lead with the new row",
    "move-existing": "Move the existing lead into this pool",
}


def field_label(key: str | None, custom: dict[str, str] | None = None) -> str:
    """A field key as its label; ``custom:policy`` (or ``policy``) by the custom field's
    label when given, else its key."""
    if not key:
        return "—"
    name = key[len("custom:") :] if key.startswith("custom:") else key
    return FIELD_LABELS.get(name) or (custom or {}).get(name) or name


def match_label(value: str | None, custom: dict[str, str] | None = None) -> str:
    """A pool's duplicate-check field: ``phone1|email`` (any of) as "Phone 1 or Email",
    ``phone1+email`` (all of) as "Phone 1 and Email"."""
    if not value:
        return "—"
    joiner, words = ("|", " or ") if "|" in value else ("+", " and ")
    return words.join(field_label(part.strip(), custom) for part in value.split(joiner))


def action_label(value: str | None) -> str:
    if not value:
        return "—"
    return ACTION_LABELS.get(value, value)
