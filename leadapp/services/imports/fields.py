"""The lead fields an import fills: the account's field definitions, the mapped
targets and the phone that is dialled."""

from __future__ import annotations

import sqlalchemy as sa

from leadapp.domain.columns import FULL_NAME
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.extensions import db
from leadapp.models import Campaign, FieldDefinition, Import


def field_definitions() -> list[FieldDefinition]:
    return list(db.session.scalars(sa.select(FieldDefinition).order_by(FieldDefinition.position)))


def import_region(imp: Import) -> str:
    """The phone region the import's numbers are read in: the CLI's --region, else the
    campaign's."""
    campaign = db.session.get(Campaign, imp.campaign_id)
    return (imp.settings or {}).get("region") or campaign.default_region


def _targets(mapping) -> list[str]:
    """The lead fields a mapping fills (a full name fills the first and last name)."""
    out: list[str] = []
    for target in mapping.values():
        if not target:
            continue
        out.extend([target] if isinstance(target, str) else list(target))
    return [f for t in out for f in (("first_name", "last_name") if t == FULL_NAME else (t,))]


def _key_phone(mapping) -> str:
    """The phone that is dialled and matched: phone1 or the first mapped phone field."""
    phones_mapped = [t for t in _targets(mapping) if t in PHONE_FIELDS]
    return "phone1" if "phone1" in phones_mapped else sorted(phones_mapped)[0]


def first_valid_phone(imp: Import) -> bool:
    """The import's "use the first valid phone as Phone 1" setting (chosen at the mapping
    step; imports begun before it existed keep it off)."""
    return bool((imp.settings or {}).get("first_valid_phone", False))


def mapped_fields(imp: Import) -> list[str]:
    """The lead fields this import fills, in the account's field order."""
    targets = set(_targets(imp.mapping or {}))
    return [f.key for f in field_definitions() if f.key in targets]
