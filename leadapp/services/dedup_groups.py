"""The Lead Deduplicator's groups found with pandas: chains of leads sharing any one
key's value ("any of" several keys; any of the five phones), and keys of custom fields
(compared trimmed and case-folded, as at import). Every standard key equal is the window
query's work in ``dedup``.

Business rule (``any of``): A shares a phone with B and B an email with C puts A, B and C in
one group; the golden record is chosen among the whole group by the keep rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from leadapp.domain.duplicates import (
    KEY_SEPARATOR,
    any_of_groups,
    choose_golden,
    key_pairs,
    normalise_key,
)
from leadapp.extensions import db
from leadapp.models import Lead
from leadapp.services import dedup_golden
from leadapp.services.dedup_settings import DedupSettings

PHONE_COLUMNS = [f"phone{i}" for i in range(1, 6)]


def _in_scope(pool_ids: list[int]):
    # Leads already inactive are out of the dialing and out of deduplication.
    return sa.and_(Lead.pool_id.in_(pool_ids), Lead.status != "inactive")


def _key_columns(keys: list[str]) -> list:
    columns = []
    for key in keys:
        if key == "phone1":
            columns.append(Lead.phone1)
        elif key == "email":
            columns.append(Lead.email_key)
        elif key == "customer_key":
            columns.append(Lead.customer_key)
        else:  # custom:<field>
            field = key.split(":", 1)[1]
            columns.append(sa.func.nullif(Lead.custom[field].as_string(), ""))
    return columns


def uses_groups(settings: DedupSettings) -> bool:
    """Whether the groups are found with pandas (chains through any phone or any of several
    keys; custom fields, compared trimmed and case-folded as at import) rather than by the
    window query (every standard key equal)."""
    keys = settings.match_keys
    return (
        "phones" in keys
        or (settings.several and settings.match_mode == "any")
        or any(k.startswith("custom:") for k in keys)
    )


GROUP_COLUMNS = [
    "id",
    "pool_id",
    "status",
    "source",
    "created_at",
    "last_called_at",
    "do_not_call",
    "call_count",
    "completed",
    "callback_at",
]


def _key_parts(settings: DedupSettings, leads: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """(kind, normalised values) per match key; the five phones share one kind."""
    parts = []
    for key in settings.match_keys:
        if key == "phones":
            parts += [("phone", normalise_key(leads[c], c)) for c in PHONE_COLUMNS]
        elif key.startswith("custom:"):
            parts.append((key, normalise_key(leads[key], key)))
        else:
            parts.append((key, normalise_key(leads[key], key)))
    return parts


def groups(settings: DedupSettings, pool_ids: list[int]) -> pd.DataFrame:
    """Leads in scope with their group and golden record, found with pandas: chains of
    leads sharing any one key's value ("any of", any phone), or, for "all of" with a custom
    field, leads equal on every key."""
    columns = {name: getattr(Lead, name) for name in GROUP_COLUMNS}
    has_key = []
    for key in settings.match_keys:
        if key == "phones":
            columns.update({c: getattr(Lead, c) for c in PHONE_COLUMNS})
            has_key.append(sa.or_(*[getattr(Lead, c).is_not(None) for c in PHONE_COLUMNS]))
        else:
            column = _key_columns([key])[0]
            columns[key] = column
            has_key.append(column.is_not(None))
    # "all of": a lead needs every key; "any of": one is enough.
    having = sa.and_(*has_key) if settings.match_mode == "all" else sa.or_(*has_key)
    query = sa.select(*[c.label(f"c{i}") for i, c in enumerate(columns.values())]).where(
        _in_scope(pool_ids), having
    )
    leads = pd.DataFrame(db.session.execute(query).all(), columns=list(columns))
    if leads.empty:
        return leads.assign(group=[], golden_id=[], is_golden=[], match_key=[], reason=[])
    parts = _key_parts(settings, leads)
    ids = leads["id"]
    if settings.match_mode == "all" and "phones" not in settings.match_keys:
        key = pd.Series(parts[0][1].to_numpy(dtype=object), index=leads.index)
        for _kind, part in parts[1:]:
            key = key + KEY_SEPARATOR + part
        codes, _ = pd.factorize(key, use_na_sentinel=True)
        group = pd.Series(np.where(codes >= 0, codes, -1 - ids.to_numpy()), index=leads.index)
        leads["group"] = group.to_numpy()
        shared_key = key.where(key.duplicated(keep=False))
        leads["match_key"] = shared_key.str.replace(KEY_SEPARATOR, " | ", regex=False).to_numpy()
    else:
        leads["group"] = any_of_groups(ids, parts).to_numpy()
        # The value each lead shares with another lead of its group (what matched it).
        pairs = key_pairs(ids, parts)
        pairs["group"] = leads.set_index("id").loc[pairs["id"], "group"].to_numpy()
        shared = pairs[pairs.duplicated(["group", "value"], keep=False)]
        first = shared.drop_duplicates("id").set_index("id")["value"]
        leads["match_key"] = ids.map(first.str.split(KEY_SEPARATOR, n=1).str[1]).to_numpy()
    golden = choose_golden(leads, "group", settings.keep_rule)
    leads["golden_id"] = golden["golden_id"].to_numpy()
    leads["is_golden"] = golden["is_golden"].to_numpy()
    leads["reason"] = dedup_golden.frame_reasons(leads, settings.keep_rule)
    return leads


def moves(settings: DedupSettings, leads: pd.DataFrame) -> pd.DataFrame:
    moving = ~leads["is_golden"]
    if settings.retain_inbound:
        moving &= leads["source"] != "inbound"
    return leads[moving]
