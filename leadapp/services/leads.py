"""One lead at a time: created by hand or through the API, edited, copied, deleted, called.

Creating a lead runs the import engine on a one-row frame (``imports.stage.stage_frame``):
the same normalisation (phones to E.164 with the campaign's region, time zone resolution),
the same field validation and the same duplicate search and actions
(``imports.duplicates.existing_matches``, ``imports.write._apply_duplicate_action``).
Nothing here is a second validator.

Every change writes the audit log; the counters of the pools it touched move by the
change in the same flush (``services.pool_counters``), so the pool grid always equals a
full recount without counting a pool per call. Services flush;
the view, task or API call commits once.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd
import sqlalchemy as sa

from leadapp.domain import phones
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.domain.timezones import REASON_TEXT as TZ_REASON_TEXT
from leadapp.domain.timezones import is_valid_zone
from leadapp.domain.validation import REASON_TEXT
from leadapp.extensions import db
from leadapp.models import (
    Account,
    Campaign,
    FieldDefinition,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    User,
)
from leadapp.models.base import utcnow
from leadapp.models.lead import DIRECTIONS
from leadapp.services import audit, dial_settings, dnc, pool_recount, wrap_codes
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import errors as import_errors
from leadapp.services.imports import lead_writer
from leadapp.services.imports import stage as import_stage
from leadapp.services.imports import write as import_write

# Fields a person or a script may set on a lead (plus the account's custom fields).
EDITABLE = (
    "customer_key",
    "first_name",
    "last_name",
    "email",
    *PHONE_FIELDS,
    "timezone",
    "state",
    "postal_code",
    "country",
)
# Standard fields that are not lead columns of their own: stored in ``Lead.custom``.
STANDARD_EXTRA = ("notes",)
WRAP_CODE_MAX = 60


class LeadError(ValueError):
    """A change the rules refuse; the message is one sentence a supervisor can act on."""


@dataclass
class LeadOutcome:
    """What happened to one lead.

    ``action``: ``created`` (a new lead), ``notified`` (created; existing matches reported),
    ``discarded`` (not created: it duplicates ``matches``), ``deactivated`` / ``removed``
    (created; the matched leads were deactivated / set to removed), ``updated`` (the matched
    lead was updated instead; ``lead`` is it), ``moved`` (the matched lead was moved into the
    pool instead), ``invalid`` (``errors`` per field, nothing written).
    ``warnings``: per field, what was accepted with a change (an invalid extra phone
    dropped, a text cut to its maximum length)."""

    lead: Lead | None
    action: str
    errors: dict[str, str] = field(default_factory=dict)
    matches: list[int] = field(default_factory=list)
    warnings: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------
# Helpers


def _pool_campaign(pool: LeadPool) -> Campaign | None:
    """The campaign a pool feeds (its first assignment, to-dial first), if any."""
    return db.session.scalar(
        sa.select(Campaign)
        .join(PoolAssignment, PoolAssignment.campaign_id == Campaign.id)
        .where(PoolAssignment.pool_id == pool.id)
        .order_by(PoolAssignment.to_dial.desc(), PoolAssignment.id)
        .limit(1)
    )


def _context(pool: LeadPool, campaign: Campaign | None) -> tuple[str, str]:
    """(phone region, default time zone) for leads of ``pool``: the list's own zone, else
    the campaign's, else the account's."""
    if campaign is not None:
        return campaign.default_region, pool.timezone or campaign.timezone
    account = db.session.get(Account, pool.account_id)
    return account.default_region, pool.timezone or account.timezone


def _definitions(account_id: int | None = None) -> list[FieldDefinition]:
    """The account's field definitions (the bound account's when not given)."""
    query = sa.select(FieldDefinition).order_by(FieldDefinition.position, FieldDefinition.id)
    if account_id is not None:
        query = query.where(FieldDefinition.account_id == account_id)
    return list(db.session.scalars(query))


def _clean(data: dict) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, value in (data or {}).items():
        if value is None:
            out[key] = None
        elif isinstance(value, str):
            out[key] = value
        elif isinstance(value, bool):
            out[key] = "yes" if value else "no"
        elif isinstance(value, (int, float, dt.date)):
            out[key] = value.isoformat() if isinstance(value, dt.date) else str(value)
        else:
            raise LeadError(f"The field {key} must be text, not {type(value).__name__}.")
    return out


def _check_keys(data: dict, definitions) -> None:
    known = {f.key for f in definitions}
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise LeadError(
            f"There is no lead field {', '.join(unknown)}; an administrator can add custom "
            "fields under Admin."
        )


def _reason_message(field_key: str, code: str) -> str:
    code = code.strip()
    return REASON_TEXT.get(code) or TZ_REASON_TEXT.get(code) or code.replace("_", " ")


def _parse_reasons(text: str) -> dict[str, str]:
    """``"phone1: phone_too_short; email: invalid_email"`` -> {field: code}."""
    out: dict[str, str] = {}
    for part in (text or "").split("; "):
        if ": " in part:
            key, code = part.split(": ", 1)
            out[key.strip()] = code.strip()
    return out


def _stage_one(
    data: dict[str, str | None],
    *,
    definitions,
    region: str,
    default_zone: str,
    match: list[str],
    match_mode: str = "any",
    taken: dict | None = None,
) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """The import's staging of one row: (staged frame, errors, warnings) by field."""
    phone_keys = [k for k in PHONE_FIELDS if (data.get(k) or "").strip()]
    key_phone = "phone1" if "phone1" in phone_keys or not phone_keys else phone_keys[0]
    columns = {k: [v] for k, v in data.items()}
    columns.setdefault(key_phone, [None])
    chunk = pd.DataFrame(columns, index=[1], dtype="str")
    staged = import_stage.stage_frame(
        chunk,
        {k: k for k in chunk.columns},
        definitions,
        region=region,
        default_zone=default_zone,
        rules=[],
        key_phone=key_phone,
        match=match,
        match_mode=match_mode,
        taken=taken,
    )
    reasons = _parse_reasons(staged["_reasons"].iloc[0])
    valid = bool(staged["_valid"].iloc[0])
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for key, code in reasons.items():
        message = _reason_message(key, code)
        dropped = key in PHONE_FIELDS and key != key_phone and staged[key].isna().iloc[0]
        if code == "truncated" or dropped:
            warnings[key] = message + (" It was left out." if dropped else "")
        else:
            errors[key] = message
    if key_phone != "phone1" and key_phone in errors:
        errors["phone1"] = errors.pop(key_phone)
    if not valid and not errors:
        errors["phone1"] = _reason_message("phone1", "phone_empty")
    # The import falls back to other zones for a zone it does not know; a lead typed by
    # a person or sent by a script should hear about it instead.
    zone = (data.get("timezone") or "").strip()
    if zone and not is_valid_zone(zone):
        errors["timezone"] = _reason_message("timezone", "invalid_timezone")
    return staged, errors, warnings


def _lead_values(account_id: int, pool: LeadPool, staged: pd.DataFrame) -> dict:
    """Column values for a new ``Lead`` from a staged row, as the import's writer makes
    them (``lead_writer.lead_frame``)."""
    rows = staged.drop(columns=["_key"])
    for col in lead_writer.DIRECT:
        if col not in rows:
            rows[col] = pd.Series([None] * len(rows), index=rows.index, dtype="str")
    frame = lead_writer.lead_frame(SimpleNamespace(account_id=account_id, id=None), pool, rows)
    row = frame.iloc[0].to_dict()
    out = {}
    for key, value in row.items():
        if isinstance(value, float) and np.isnan(value) or value is pd.NaT:
            value = None
        elif isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    out["custom"] = {
        k: v for k, v in json.loads(out.get("custom") or "{}").items() if v not in (None, "")
    }
    out["custom"] = {k: v for k, v in out["custom"].items() if not _is_nan(v)}
    out.pop("import_id", None)
    return out


def _is_nan(value) -> bool:
    return isinstance(value, float) and value != value


def _pools_of(lead_ids: list[int]) -> list[int]:
    if not lead_ids:
        return []
    return list(db.session.scalars(sa.select(Lead.pool_id).where(Lead.id.in_(lead_ids)).distinct()))


def _refresh(pool_ids) -> None:
    # In a request, once it has committed: counting a pool must not hold SQLite's lock.
    pool_recount.recount(pool_ids)


def duplicate_settings(options: dict | None, campaign: Campaign | None):
    """The duplicate rules for one lead: ``options``, else the campaign's API options, else
    what an import defaults to (match phone1 in the campaign, discard the new lead)."""
    chosen = options
    if chosen is None and campaign is not None:
        chosen = campaign.api_duplicate_options or {}
    chosen = dict(chosen or {})
    if "keys" in chosen and "match" not in chosen:  # the CLI's word is --match, people say keys
        chosen["match"] = chosen.pop("keys")
    allowed = set(import_duplicates.DuplicateSettings.__dataclass_fields__)
    unknown = sorted(set(chosen) - allowed)
    if unknown:
        raise LeadError(
            f"Unknown duplicate option(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}."
        )
    if isinstance(chosen.get("match"), str):
        chosen["match"] = chosen["match"].split(",")
    if chosen.get("match") is not None:
        chosen["match"] = import_duplicates.match_keys_named(chosen["match"])
    try:
        return import_duplicates.DuplicateSettings(**chosen).check()
    except import_errors.ImportError_ as exc:
        raise LeadError(str(exc)) from exc


# ---------------------------------------------------------------------------------------
# Create


def create_lead(
    pool: LeadPool,
    data: dict[str, str | None],
    *,
    user_id: int | None,
    source: str = "manual",
    options: dict | None = None,
    campaign: Campaign | None = None,
) -> LeadOutcome:
    """A new lead in ``pool`` with the import's normalisation, validation and duplicate
    rules. ``campaign`` (default: the campaign the pool feeds) gives the phone region, the
    default time zone and the duplicate scope; ``options`` the duplicate rules (default:
    the campaign's ``api_duplicate_options``, else the import's defaults).

    Invalid input: ``action == "invalid"`` with ``errors`` per field and nothing written;
    a request that cannot be served at all (system pool, unknown field, bad options) raises
    ``LeadError``."""
    if pool.is_system:
        raise LeadError("Leads cannot be added to the system Inactive pool; choose another pool.")
    data = _clean(data)
    definitions = _definitions(pool.account_id)
    _check_keys(data, definitions)
    campaign = campaign or _pool_campaign(pool)
    settings = duplicate_settings(options, campaign)
    region, default_zone = _context(pool, campaign)
    staged, errors, warnings = _stage_one(
        data,
        definitions=definitions,
        region=region,
        default_zone=default_zone,
        match=settings.match,
        match_mode=settings.match_mode,
        # A unique custom field's value held by another lead is refused (unless the field
        # is a match key: then the duplicate rules decide).
        taken=import_stage.taken_values(definitions, settings.match, settings.scope),
    )
    if errors:
        return LeadOutcome(None, "invalid", errors=errors, warnings=warnings)

    matches = import_duplicates._NO_MATCHES
    scope_ids: list[int] = []
    key = staged["_key"].iloc[0]
    # As in an import, a lead without a match key (e.g. no email when matching on email)
    # is never a duplicate.
    if settings.scope != "none" and isinstance(key, str) and key not in ("", "nan"):
        scope_ids = _scope_pool_ids(pool, campaign, settings)
        matches = settings.existing_matches(staged["_key"], scope_ids, 0)
    matched = [int(i) for i in matches["lead_id"]]
    touched = {pool.id, *_pools_of(matched)}
    action = "created"
    to_insert = staged
    if matched:
        acting = SimpleNamespace(account_id=pool.account_id, id=0)
        to_insert, acted = import_write._apply_duplicate_action(
            acting, pool, staged, matches, settings
        )
        crowded = len(matched) > import_duplicates.MAX_MATCHES_TO_ACT or (
            settings.multiple == "create-new" and len(matched) > 1
        )
        if settings.action == "discard-new":
            action = "discarded"
        elif settings.action == "notify" or crowded:
            action = "notified"
        else:
            action = {
                "deactivate-existing": "deactivated",
                "remove-existing": "removed",
                "update-existing": "updated",
                "move-existing": "moved",
            }[settings.action]
        dnc.expire_leads()  # the engine changed matched leads with set-based UPDATEs

    lead: Lead | None = None
    if not to_insert.empty:
        values = _lead_values(pool.account_id, pool, to_insert)
        if "source" not in data:
            values["source"] = source
        lead = Lead(**values)
        lead.do_not_call = dnc.is_listed(pool.account_id, lead.phones)
        lead.dnc_reason = "number" if lead.do_not_call else None
        db.session.add(lead)
        db.session.flush()
        audit.record(
            pool.account_id,
            user_id,
            "lead.created",
            lead,
            pool_id=pool.id,
            source=lead.source,
            outcome=action,
            matches=matched,
        )
    elif action in ("updated", "moved") and matched:
        if settings.multiple == "update-newest":
            newest = matches.sort_values(["created_at", "lead_id"]).iloc[-1]
            lead = db.session.get(Lead, int(newest["lead_id"]))
        else:
            lead = db.session.get(Lead, matched[0])
        for lead_id in matched:
            changed = db.session.get(Lead, lead_id)
            listed = changed is not None and dnc.is_listed(pool.account_id, changed.phones)
            if listed and not changed.do_not_call:
                changed.do_not_call, changed.dnc_reason = True, "number"
    if matched:
        audit.record(
            pool.account_id,
            user_id,
            f"lead.duplicate_{action}",
            pool,
            matches=matched,
            lead_id=lead.id if lead is not None else None,
            settings=asdict(settings),
            source=source,
        )
    db.session.flush()
    if matched:
        # The duplicate action changed the matched leads with set-based statements, which
        # move no counter (``pool_counters``): their pools are counted again.
        _refresh(touched | set(_pools_of(matched)))
    return LeadOutcome(lead, action, matches=matched, warnings=warnings)


def _scope_pool_ids(pool: LeadPool, campaign: Campaign | None, settings) -> list[int]:
    """The import's duplicate scope for one lead; this pool always counts as in scope
    (an import's pool is assigned to its campaign), unless inactive pools are excluded."""
    if settings.scope in ("campaign", "project") and campaign is None:
        settings = import_duplicates.DuplicateSettings(**{**asdict(settings), "scope": "pool"})
    stub = SimpleNamespace(campaign_id=campaign.id if campaign else None)
    # Only this account's pools, even if no account is bound to the session.
    ids = set(import_duplicates.scope_pool_ids(stub, pool, settings))
    if ids:
        ids = set(
            db.session.scalars(
                sa.select(LeadPool.id).where(
                    LeadPool.id.in_(ids), LeadPool.account_id == pool.account_id
                )
            )
        )
    if settings.include_inactive or (pool.status == "active" and not pool.is_system):
        ids.add(pool.id)
    return sorted(ids)


# ---------------------------------------------------------------------------------------
# Edit


def custom_field_keys() -> list[str]:
    return [f.key for f in _definitions() if not f.is_standard]


def lead_data(lead: Lead) -> dict[str, str | None]:
    """The editable values of ``lead`` as text (phones as received), e.g. to fill a form."""
    out: dict[str, str | None] = {}
    for key in EDITABLE:
        if key in PHONE_FIELDS:
            out[key] = getattr(lead, key) and (getattr(lead, f"{key}_raw") or getattr(lead, key))
        else:
            out[key] = getattr(lead, key)
    for key, value in (lead.custom or {}).items():
        out[key] = None if value is None else str(value)
    return out


def update_lead(lead: Lead, data: dict[str, str | None], *, user_id: int | None) -> LeadOutcome:
    """Change the fields given in ``data`` (others stay) with the import's validation.

    An empty value clears the field; the dialled phone (phone1) cannot be cleared. Errors:
    ``action == "invalid"`` and nothing changed."""
    data = _clean(data)
    definitions = _definitions(lead.account_id)
    _check_keys(data, definitions)
    pool = db.session.get(LeadPool, lead.pool_id)
    region, default_zone = _context(pool, _pool_campaign(pool))
    if (
        data.keys() & {"phone1", "state", "postal_code", "country"}
        and "timezone" not in data
        and lead.timezone_source in (None, "postal", "state", "number", "default", "several")
    ):
        # The zone came from the old number or address: resolve it again.
        data["timezone"] = ""
    merged = {**lead_data(lead), **data}
    # Phones already stored are given as E.164 so they re-validate as they were stored.
    for key in PHONE_FIELDS:
        if key not in data and getattr(lead, key):
            merged[key] = getattr(lead, key)
    known = {f.key for f in definitions}
    merged = {k: v for k, v in merged.items() if k in known}
    if not (merged.get("phone1") or "").strip():
        return LeadOutcome(
            lead,
            "invalid",
            errors={"phone1": "Phone 1 is the number that is dialled; it cannot be empty."},
        )
    staged, errors, warnings = _stage_one(
        merged,
        definitions=definitions,
        region=region,
        default_zone=default_zone,
        match=["phone1"],
        # Only a value being changed must be free: stored values are not checked again.
        taken={
            k: v
            for k, v in import_stage.taken_values(
                definitions, [], "none", exclude_lead=lead.id
            ).items()
            if k in data
        },
    )
    if errors:
        return LeadOutcome(lead, "invalid", errors=errors, warnings=warnings)
    row = staged.iloc[0]
    before = {k: getattr(lead, k) for k in EDITABLE}
    for key in EDITABLE:
        if key not in data:
            continue
        if key == "timezone":
            lead.timezone = _text(row.get("timezone"))
            lead.timezone_source = _text(row.get("timezone_source"))
            lead.timezone_note = _text(row.get("timezone_note"))
            lead.zone_key = _text(row.get("zone_key"))
        elif key in PHONE_FIELDS:
            e164 = _text(row.get(key))
            setattr(lead, key, e164)
            raw = _text(row.get(f"{key}_raw")) if e164 else None
            setattr(lead, f"{key}_raw", raw.strip()[:64] if raw else None)
        else:
            setattr(lead, key, _text(row.get(key)))
    lead.email_key = lead.email.strip().lower() if lead.email else None
    custom = dict(lead.custom or {})
    for key in data:
        if key not in EDITABLE and key not in lead_writer.NOT_CUSTOM:
            value = _text(row.get(key))
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
    lead.custom = custom
    if dnc.is_listed(lead.account_id, lead.phones) and not lead.do_not_call:
        lead.do_not_call, lead.dnc_reason = True, "number"
    lead.updated_at = utcnow()
    changed = {k: [before[k], getattr(lead, k)] for k in EDITABLE if before[k] != getattr(lead, k)}
    audit.record(lead.account_id, user_id, "lead.updated", lead, changes=changed)
    db.session.flush()
    return LeadOutcome(lead, "updated", warnings=warnings)


def _text(value) -> str | None:
    if value is None or _is_nan(value) or value is pd.NA:
        return None
    text = str(value)
    return text if text.strip() and text != "nan" else None


def _utc_naive(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def set_wrap_code(
    lead: Lead,
    wrap_code: str | None,
    *,
    completed: bool | None = None,
    callback_at: dt.datetime | None = None,
    user_id: int | None,
) -> Lead:
    """Set the lead's wrap code by hand (the lead page): the account's wrap-code table
    decides what it does to the lead (``wrap_codes.apply_outcome``); a callback code needs
    ``callback_at`` (a naive time is UTC), any other code clears it."""
    before = {
        "wrap_code": lead.wrap_code,
        "completed": lead.completed,
        "status": lead.status,
        "callback_at": lead.callback_at.isoformat() if lead.callback_at else None,
    }
    try:
        effect = wrap_codes.apply_outcome(
            lead, wrap_code, callback_at=callback_at, completed=completed
        )
    except wrap_codes.WrapCodeError as exc:
        raise LeadError(str(exc)) from None
    audit.record(
        lead.account_id,
        user_id,
        "lead.wrap_code",
        lead,
        before=before,
        wrap_code=lead.wrap_code,
        effect=effect,
        status=lead.status,
        completed=lead.completed,
        callback_at=lead.callback_at.isoformat() if lead.callback_at else None,
    )
    db.session.flush()
    return lead


# ---------------------------------------------------------------------------------------
# Copy and delete

COPIED = (
    "customer_key",
    "first_name",
    "last_name",
    "email",
    "email_key",
    *PHONE_FIELDS,
    *(f"{p}_raw" for p in PHONE_FIELDS),
    "timezone",
    "timezone_source",
    "timezone_note",
    "zone_key",
    "state",
    "postal_code",
    "country",
    "source",
    "do_not_call",
)


def copy_lead(
    lead: Lead, target_pool: LeadPool, *, as_update_by_customer_key: bool, user_id: int | None
) -> LeadOutcome:
    """A copy of ``lead`` (its data, not its calls) in ``target_pool``; or, as an update by
    customer key, the leads of ``target_pool`` with the same customer key get its data (a
    new copy when none has it). Do-not-call travels with the data."""
    if target_pool.is_system:
        raise LeadError("Leads cannot be copied into the system Inactive pool.")
    if target_pool.id == lead.pool_id:
        raise LeadError("The lead is already in that pool; choose another pool.")
    if as_update_by_customer_key:
        if not lead.customer_key:
            raise LeadError("This lead has no customer key, so it cannot update by customer key.")
        targets = list(
            db.session.scalars(
                sa.select(Lead).where(
                    Lead.pool_id == target_pool.id, Lead.customer_key == lead.customer_key
                )
            )
        )
        if targets:
            for target in targets:
                for key in COPIED:
                    value = getattr(lead, key)
                    if key == "do_not_call":
                        if lead.do_not_call and not target.do_not_call:
                            target.do_not_call, target.dnc_reason = True, "hand"
                    elif value not in (None, ""):
                        setattr(target, key, value)
                target.custom = {**(target.custom or {}), **(lead.custom or {})}
                target.updated_at = utcnow()
            audit.record(
                lead.account_id,
                user_id,
                "lead.copied",
                lead,
                target_pool_id=target_pool.id,
                updated=[t.id for t in targets],
            )
            db.session.flush()
            return LeadOutcome(targets[0], "updated", matches=[t.id for t in targets])
    copy = Lead(
        account_id=lead.account_id,
        pool_id=target_pool.id,
        **{k: getattr(lead, k) for k in COPIED},
        custom=dict(lead.custom or {}),
        # The end of the target list's dial order, like any lead arriving in it.
        dial_order=lead_writer.reserve_dial_orders(target_pool, 1),
    )
    # A copy made by hand of a do-not-call lead is do-not-call by hand, unless its own
    # number is listed.
    copy.dnc_reason = "hand" if copy.do_not_call else None
    if dnc.is_listed(lead.account_id, copy.phones):
        copy.do_not_call, copy.dnc_reason = True, "number"
    db.session.add(copy)
    db.session.flush()
    audit.record(
        lead.account_id,
        user_id,
        "lead.copied",
        lead,
        target_pool_id=target_pool.id,
        copy_id=copy.id,
    )
    db.session.flush()
    return LeadOutcome(copy, "created")


def delete_lead(lead: Lead, *, user_id: int | None) -> None:
    """Delete the lead and its call history (the audit log keeps who it was)."""
    pool_id = lead.pool_id
    audit.record(
        lead.account_id,
        user_id,
        "lead.deleted",
        lead,
        pool_id=pool_id,
        name=lead.display_name,
        phone1=lead.phone1,
        customer_key=lead.customer_key,
    )
    db.session.delete(lead)
    db.session.flush()


# ---------------------------------------------------------------------------------------
# Calls


def _number(value: str | None, region: str, what: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    e164, _ext, reason = phones.normalise_phone(text, region)
    if e164 is None:
        why = phones.REASON_TEXT.get(reason or "", "It is not a phone number.")
        raise LeadError(f"The {what} “{text[:40]}” is not a valid phone number: {why}")
    return e164


def record_interaction(
    lead: Lead,
    *,
    campaign: Campaign | None = None,
    agent_id: int | None = None,
    called_number: str | None = None,
    caller_number: str | None = None,
    wrap_code: str | None = None,
    outcome: str | None = None,
    notes: str = "",
    direction: str = "outbound",
    at: dt.datetime | None = None,
    completed: bool | None = None,
    callback_at: dt.datetime | None = None,
) -> Interaction:
    """One call on ``lead``: the interaction, and the lead's last called time, call count
    and last outcome. The latest call's wrap code does what the account's wrap-code table
    says (``wrap_codes.apply_outcome``: SALE completes and closes the lead, a callback
    needs ``callback_at``); ``completed`` true completes the lead whatever the code. A
    call older than the lead's last one is history only. Numbers in any format are stored
    in E.164; a naive ``at`` is UTC (default now)."""
    if direction not in DIRECTIONS:
        raise LeadError(f"The direction must be {' or '.join(DIRECTIONS)}.")
    for what, value in (("wrap code", wrap_code), ("outcome", outcome)):
        if value and len(value.strip()) > WRAP_CODE_MAX:
            raise LeadError(f"The {what} has at most {WRAP_CODE_MAX} characters.")
    if campaign is not None and campaign.account_id != lead.account_id:
        raise LeadError("That campaign does not exist in this account.")
    if agent_id is not None:
        agent = db.session.get(User, agent_id)
        if agent is None or agent.account_id != lead.account_id:
            raise LeadError("That agent is not a user of this account.")
    pool = db.session.get(LeadPool, lead.pool_id)
    region, _zone = _context(pool, campaign or _pool_campaign(pool))
    called = _number(called_number, region, "called number")
    caller = _number(caller_number, region, "caller number")
    if called is None and direction == "outbound":
        called = lead.phone1
    at = _utc_naive(at) or utcnow()
    interaction = Interaction(
        account_id=lead.account_id,
        lead_id=lead.id,
        campaign_id=campaign.id if campaign else None,
        agent_id=agent_id,
        called_number=called,
        caller_number=caller,
        wrap_code=(wrap_code or "").strip() or None,
        outcome=(outcome or "").strip() or None,
        notes=notes or "",
        direction=direction,
        at=at,
    )
    # A late call (its lease over, the lead another agent's since) is history only, but
    # for a person's do-not-call request (``dial_settings.late_call``).
    late = dial_settings.late_call(db.session, lead.id, agent_id)
    latest = not late and (lead.last_called_at is None or at >= lead.last_called_at)
    asked_dnc = late and not lead.do_not_call
    if asked_dnc and wrap_codes.effect_of(lead.account_id, interaction.wrap_code) == "do_not_call":
        lead.do_not_call, lead.dnc_reason = True, "hand"
    if latest and (interaction.wrap_code or completed is not None):
        try:
            wrap_codes.apply_outcome(
                lead,
                interaction.wrap_code or lead.wrap_code,
                # Only "completed" sent: the lead's callback (if any) stands.
                callback_at=callback_at or (None if interaction.wrap_code else lead.callback_at),
                completed=completed,
            )
        except wrap_codes.WrapCodeError as exc:
            raise LeadError(str(exc)) from None
        interaction.wrap_code = interaction.wrap_code and lead.wrap_code
    db.session.add(interaction)
    if latest:
        lead.last_called_at = at
        if interaction.outcome:
            lead.last_outcome = interaction.outcome
    lead.call_count = (lead.call_count or 0) + 1
    lead.updated_at = utcnow()
    db.session.flush()
    audit.record(
        lead.account_id,
        agent_id,
        "lead.interaction",
        lead,
        interaction_id=interaction.id,
        direction=direction,
        outcome=interaction.outcome,
        wrap_code=interaction.wrap_code,
    )
    db.session.flush()
    return interaction
