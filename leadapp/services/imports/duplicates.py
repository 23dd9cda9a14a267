"""The import's duplicate rules (``DuplicateSettings``) and the search of existing leads
they match (set-based SQL against the indexed keys, a chunk of keys per query); also the
words a supervisor reads for them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from leadapp.domain.duplicates import (
    KEY_SEPARATOR,
    MATCH_MODES,
    key_parts,
    match_key,
    repeats_earlier,
)
from leadapp.extensions import db
from leadapp.models import Campaign, Import, Lead, LeadPool, PoolAssignment
from leadapp.services import import_outcomes
from leadapp.services.imports.errors import ImportError_
from leadapp.services.imports.fields import field_definitions

SCOPES = ("none", "pool", "campaign", "project", "account")
ACTIONS = (
    "notify",
    "discard-new",
    "deactivate-existing",
    "remove-existing",
    "update-existing",
    "move-existing",
)
MULTIPLE = ("update-all", "update-newest", "create-new")
MATCH_FIELDS = ("phone1", "email", "customer_key")  # and custom:<field key>
CUSTOM_PREFIX = "custom:"
MAX_MATCHES_TO_ACT = import_outcomes.MAX_MATCHES_TO_ACT  # more matches: notify only
KEY_CHUNK = 5_000


@dataclass
class DuplicateSettings:
    match: list[str] = field(default_factory=lambda: ["phone1"])
    # Several keys: "any" = a lead is a duplicate when any one of them is equal (email OR
    # phone), "all" = only when every one is.
    match_mode: str = "any"
    scope: str = "campaign"
    open_only: bool = False
    include_inactive: bool = False
    action: str = "discard-new"
    update_mode: str = "overwrite"  # or "fill-blanks"
    multiple: str = "update-all"

    def check(self) -> DuplicateSettings:
        if self.scope not in SCOPES:
            raise ImportError_(f"The duplicate scope must be one of: {', '.join(SCOPES)}.")
        if self.action not in ACTIONS:
            raise ImportError_(f"The duplicate action must be one of: {', '.join(ACTIONS)}.")
        if self.multiple not in MULTIPLE:
            raise ImportError_(f"When several leads match, choose one of: {', '.join(MULTIPLE)}.")
        if self.update_mode not in ("overwrite", "fill-blanks"):
            raise ImportError_("Updating existing leads is either overwrite or fill-blanks.")
        if self.match_mode not in MATCH_MODES:
            raise ImportError_("Several match keys match on any of them or on all of them.")
        unknown = [m for m in self.match if m not in MATCH_FIELDS and not is_custom_key(m)]
        if not self.match or unknown:
            raise ImportError_(
                f"Match duplicates on {', '.join(MATCH_FIELDS)} or custom:<field> (or "
                "several of them)" + (f", not {', '.join(unknown)}." if unknown else ".")
            )
        if len(set(self.match)) != len(self.match):
            raise ImportError_("Each match key can be chosen once.")
        return self

    def repeats_earlier(self, keys: pd.Series) -> pd.Series:
        """Rows (staged ``_key``) repeating an earlier row of the file under these keys."""
        return repeats_earlier(keys, len(self.match), self.match_mode)

    def existing_matches(
        self, keys: pd.Series, pool_ids: list[int], exclude_import: int
    ) -> pd.DataFrame:
        """``existing_matches`` for these settings."""
        return existing_matches(
            keys,
            self.match,
            pool_ids,
            self.open_only,
            exclude_import,
            self.match_mode,
            include_inactive=self.include_inactive,
        )


def is_custom_key(key: str) -> bool:
    """``custom:<field>``: a custom lead field used as a match key."""
    return isinstance(key, str) and key.startswith(CUSTOM_PREFIX) and len(key) > len(CUSTOM_PREFIX)


def match_keys_named(names) -> list[str]:
    """Match keys as people write them: a custom field's key alone (``policy``) means
    ``custom:policy``; blanks are dropped."""
    custom = {f.key for f in field_definitions() if not f.is_standard}
    out = []
    for name in names or []:
        name = str(name).strip()
        if name:
            out.append(CUSTOM_PREFIX + name if name in custom else name)
    return out


def key_field(key: str) -> str:
    """The lead field a match key reads: ``custom:policy`` -> ``policy``."""
    return key[len(CUSTOM_PREFIX) :] if is_custom_key(key) else key


def scope_pool_ids(imp: Import, pool: LeadPool | None, settings: DuplicateSettings) -> list[int]:
    """The pools whose leads count as "existing" for duplicate search."""
    query = sa.select(LeadPool.id)
    if settings.scope == "pool":
        if pool is None:
            return []
        query = query.where(LeadPool.id == pool.id)
    elif settings.scope in ("campaign", "project"):
        campaign_ids = [imp.campaign_id]
        if settings.scope == "project":
            campaign = db.session.get(Campaign, imp.campaign_id)
            campaign_ids = list(
                db.session.scalars(
                    sa.select(Campaign.id).where(Campaign.project_id == campaign.project_id)
                )
            )
        assigned = sa.select(PoolAssignment.pool_id).where(
            PoolAssignment.campaign_id.in_(campaign_ids)
        )
        query = query.where(LeadPool.id.in_(assigned))
    if not settings.include_inactive:
        query = query.where(LeadPool.status == "active", LeadPool.is_system.is_(False))
    return list(db.session.scalars(query))


def _no_matches() -> pd.DataFrame:
    return pd.DataFrame({"_key": [], "lead_id": [], "created_at": []})


_NO_MATCHES = _no_matches()


def _key_column(key: str):
    """The lead column (or custom value, as text) a match key compares."""
    standard = {"phone1": Lead.phone1, "email": Lead.email_key, "customer_key": Lead.customer_key}
    if key in standard:
        return standard[key]
    return sa.func.nullif(sa.func.trim(Lead.custom[key_field(key)].as_string()), "")


def existing_matches(
    keys: pd.Series,
    match: list[str],
    pool_ids: list[int],
    open_only: bool,
    exclude_import: int,
    mode: str = "all",
    include_inactive: bool = True,
) -> pd.DataFrame:
    """Existing leads whose match key is one of ``keys``: columns ``_key``, ``lead_id``,
    ``created_at`` — one query per chunk of keys, on the indexed first key part.

    Inactive leads (deactivated, e.g. by an earlier import's "deactivate the existing
    lead") are disregarded unless ``include_inactive`` (seed 004); the duplicate settings
    leave them out by default.

    ``mode == "any"`` with several keys: each key is searched on its own and a lead matches
    a row when any one of them is equal (a lead matched twice by one row counts once)."""
    wanted = pd.Series(keys.dropna().unique(), dtype="str")
    if wanted.empty or not pool_ids:
        return _no_matches()
    if mode == "any" and len(match) > 1:
        found = []
        for key, part in zip(match, key_parts(wanted, len(match)), strict=True):
            has = part.notna()
            if not has.any():
                continue
            hits = existing_matches(
                part[has],
                [key],
                pool_ids,
                open_only,
                exclude_import,
                include_inactive=include_inactive,
            )
            if hits.empty:
                continue
            rows = pd.DataFrame({"_part": part[has].to_numpy(), "_key": wanted[has].to_numpy()})
            hits = hits.rename(columns={"_key": "_part"}).merge(rows, on="_part")
            found.append(hits[["_key", "lead_id", "created_at"]])
        if not found:
            return _no_matches()
        both = pd.concat(found, ignore_index=True).drop_duplicates(["_key", "lead_id"])
        return both.reset_index(drop=True)
    # The first key with an index narrows the search; custom fields have none (a key of
    # custom fields only reads every lead in scope that has a value).
    position = next((i for i, m in enumerate(match) if not is_custom_key(m)), None)
    searched = [None] if position is None else _first_parts(wanted, match, position)
    found = []
    for part in searched:
        conditions = [
            Lead.pool_id.in_(pool_ids),
            sa.or_(Lead.import_id.is_(None), Lead.import_id != exclude_import),
        ]
        if part is None:
            conditions += [_key_column(m).is_not(None) for m in match]
        else:
            first = _key_column(match[position])
            # Implied by the match, spelled out so both databases see that the partial
            # index (leads that have the key) answers it.
            conditions += [part, first.is_not(None)]
        if open_only:
            conditions.append(Lead.status == "open")
        elif not include_inactive:
            conditions.append(Lead.status != "inactive")
        query = sa.select(
            Lead.id.label("lead_id"),
            Lead.created_at,
            *[_key_column(m).label(f"k{i}") for i, m in enumerate(match)],
        ).where(*conditions)
        found.append(pd.DataFrame(db.session.execute(query).mappings().all()))
    rows = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
    if rows.empty:
        return _no_matches()
    parts = pd.DataFrame({m: rows[f"k{i}"].astype("str") for i, m in enumerate(match)})
    rows["_key"] = match_key(parts, match)
    return rows[rows["_key"].isin(set(wanted))][["_key", "lead_id", "created_at"]]


def _first_parts(wanted: pd.Series, match: list[str], position: int) -> list:
    """Conditions on the key part at ``position`` (a standard, indexed column), one per
    chunk of its values."""
    values = key_parts(wanted, len(match))[position].dropna().drop_duplicates()
    column = _key_column(match[position])
    # PostgreSQL takes the keys as one parameter: thousands of separate bind parameters
    # cost more to render and parse than the index lookups themselves. One text split on
    # the server (by the key separator, which no key part holds) is five times cheaper for
    # the driver to send than an array parameter.
    as_array = db.session.get_bind().dialect.name == "postgresql"
    chunk = KEY_CHUNK * 20 if as_array else KEY_CHUNK
    out = []
    for start in range(0, len(values), max(chunk, 1)):
        part = values.iloc[start : start + chunk].tolist()
        if not as_array:
            out.append(column.in_(part))
        elif any(KEY_SEPARATOR in value for value in part):
            out.append(column == sa.any_(sa.bindparam("keys", part, type_=ARRAY(sa.String))))
        else:
            joined = sa.bindparam("keys", KEY_SEPARATOR.join(part), type_=sa.Text)
            out.append(
                column
                == sa.any_(sa.func.string_to_array(joined, sa.literal(KEY_SEPARATOR, sa.Text)))
            )
    return out


ACTION_WORDS = {
    "notify": "import the new lead and report the match",
    "discard-new": "discard the new lead",
    "deactivate-existing": "deactivate the existing lead and import the new one",
    "remove-existing": "set the existing lead to removed and import the new one",
    "update-existing": "update the existing lead instead of importing the new one",
    "move-existing": "move the existing lead into this pool instead of importing the new one",
}
SCOPE_WORDS = {
    "none": "no duplicate search: every valid row is imported",
    "pool": "in this pool",
    "campaign": "in this campaign",
    "project": "in this project",
    "account": "in the whole account",
}


def key_labels() -> dict[str, str]:
    """Match key -> the words a supervisor reads (``custom:policy`` -> its label)."""
    labels = {"phone1": "Phone", "email": "Email", "customer_key": "Customer key"}
    for f in field_definitions():
        if not f.is_standard:
            labels[CUSTOM_PREFIX + f.key] = f.label
    return labels


def match_words(match: list[str], mode: str = "any") -> str:
    """``A lead is a duplicate when any of: Phone, Email`` (``all of``; one key: ``when its
    Phone is equal``)."""
    labels = key_labels()
    names = [labels.get(m, key_field(m)) for m in match]
    if len(names) == 1:
        return f"a lead is a duplicate when its {names[0]} is equal"
    return f"a lead is a duplicate when {'any' if mode == 'any' else 'all'} of: {', '.join(names)}"
