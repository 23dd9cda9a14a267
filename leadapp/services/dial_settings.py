"""A campaign's dial settings, and what a recorded call does to the lead's place in the
queue (issue 18). Services flush, never commit.

After an outbound call is recorded — through the API, the lead page or a command, all of
which add an ``Interaction`` — the lead's lease ends, its attempt count grows by one and it
may be called again only after the recycle delay of the call's outcome (the campaign's
table; "OTHER" for an outcome it does not list). A callback waits for its own time instead.
This runs as the interaction is flushed, so no way of recording a call can skip it. A call
posted after its lease ran out and the lead went to another agent is recorded as history
only: the other agent's lease, the attempts and the recycle time stay as they are, and its
wrap code changes nothing but do-not-call (``leads.record_interaction``).
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from leadapp.extensions import db
from leadapp.models import Campaign, DialLease, DialSettings, Interaction, Lead, PoolAssignment
from leadapp.models.base import utcnow
from leadapp.models.dialing import DEFAULT_RECYCLE_MINUTES, LEAD_ORDERS
from leadapp.services import audit, pool_counters

MAX_ATTEMPTS_LIMIT = 100
LEASE_MINUTES_LIMIT = 24 * 60
RECYCLE_MINUTES_LIMIT = 30 * 24 * 60
LEAD_ORDER_TEXT = {
    "file": "Dial order (file order until the pool is shuffled)",
    "fewest_attempts": "Fewest attempts first, then dial order",
}
# Callback wrap codes before the account's wrap-code table says otherwise.
_CALLBACK_WORDS = frozenset({"CALLBACK", "CALL_BACK", "CB"})
_SEPARATORS = re.compile(r"[\s\-]+")


class DialSettingsError(ValueError):
    """A setting refused; the message is one sentence for people."""


def code_key(code: str | None) -> str | None:
    """A wrap code or outcome as the recycle table's key: "no answer" → "NO_ANSWER"."""
    text = _SEPARATORS.sub("_", (code or "").strip()).upper()
    return text or None


def settings_for(campaign: Campaign) -> DialSettings:
    """The campaign's dial settings, created with the defaults on first use."""
    settings = db.session.scalar(
        sa.select(DialSettings).where(DialSettings.campaign_id == campaign.id)
    )
    if settings is None:
        settings = DialSettings(
            account_id=campaign.account_id,
            campaign_id=campaign.id,
            recycle_minutes=dict(DEFAULT_RECYCLE_MINUTES),
        )
        db.session.add(settings)
        db.session.flush()
    return settings


def recycle_table(settings: DialSettings | None) -> dict[str, int]:
    """Outcome → minutes, the campaign's over the defaults."""
    table = dict(DEFAULT_RECYCLE_MINUTES)
    if settings is not None:
        table.update({k: int(v) for k, v in (settings.recycle_minutes or {}).items()})
    return table


def recycle_delay(settings: DialSettings | None, code: str | None) -> dt.timedelta:
    """How long after a call with outcome ``code`` the lead waits before it is called
    again: the campaign's minutes for that outcome, else its "OTHER" minutes."""
    table = recycle_table(settings)
    key = code_key(code)
    minutes = table.get(key, table.get("OTHER", DEFAULT_RECYCLE_MINUTES["OTHER"]))
    return dt.timedelta(minutes=int(minutes))


def _whole(value, what: str, low: int, high: int) -> int:
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"\d{1,6}", text) or not low <= int(text) <= high:
        raise DialSettingsError(f"{what} must be a whole number from {low} to {high:,}.")
    return int(text)


def update_settings(
    settings: DialSettings,
    *,
    max_attempts,
    lease_minutes,
    lead_order: str,
    recycle_minutes: dict[str, object],
) -> dict[str, list]:
    """Change a campaign's dial settings; returns ``{field: [old, new]}``. Every value is
    checked before anything changes."""
    new = {
        "max_attempts": _whole(max_attempts, "Maximum attempts", 1, MAX_ATTEMPTS_LIMIT),
        "lease_minutes": _whole(lease_minutes, "The lease length", 1, LEASE_MINUTES_LIMIT),
    }
    if lead_order not in LEAD_ORDERS:
        raise DialSettingsError("Choose the lead order: dial order or fewest attempts first.")
    new["lead_order"] = lead_order
    table = {}
    for code, minutes in recycle_minutes.items():
        key = code_key(code)
        if key is None:
            continue
        label = key.replace("_", " ").lower()
        table[key] = _whole(minutes, f"The recycle delay after '{label}'", 0, RECYCLE_MINUTES_LIMIT)
    new["recycle_minutes"] = {**recycle_table(settings), **table}
    with pool_counters.attempt_limits_watched(_pools_dialled(settings.campaign_id)):
        return audit.set_changed(settings, new)


def _pools_dialled(campaign_id: int) -> list[int]:
    """The pools the campaign dials (their ready counters read its maximum attempts)."""
    return list(
        db.session.scalars(
            sa.select(PoolAssignment.pool_id).where(PoolAssignment.campaign_id == campaign_id)
        )
    )


def _is_callback(account_id: int, code: str | None) -> bool:
    key = code_key(code)
    if key is None:
        return False
    try:  # the account's wrap-code table (issue 14) when it exists
        from leadapp.services import wrap_codes
    except ImportError:  # pragma: no cover - before the wrap-code table lands
        return key in _CALLBACK_WORDS
    return key in wrap_codes.callback_codes(account_id)


def _settings_of(session: Session, campaign_id: int | None) -> DialSettings | None:
    if campaign_id is None:
        return None
    return session.scalar(sa.select(DialSettings).where(DialSettings.campaign_id == campaign_id))


def late_call(session: Session, lead_id: int | None, agent_id: int | None) -> bool:
    """Whether a call ``agent_id`` posts on the lead is a late one: the agent's last lease
    on it ran out (no outcome, no release) and the lead was leased since to someone else
    who did not give it back (their lease runs, ran out or ended with their call). Unknown
    without an agent (or a lease of theirs): then the call is the current one."""
    if agent_id is None or lead_id is None:
        return False
    theirs = session.execute(
        sa.select(DialLease.id, DialLease.end_reason)
        .where(DialLease.lead_id == lead_id, DialLease.agent_id == agent_id)
        .order_by(DialLease.id.desc())
        .limit(1)
    ).first()
    if theirs is None or theirs.end_reason != "expired":
        return False
    since = session.scalar(
        sa.select(DialLease.id)
        .where(
            DialLease.lead_id == lead_id,
            DialLease.id > theirs.id,
            sa.or_(DialLease.agent_id.is_(None), DialLease.agent_id != agent_id),
            sa.or_(DialLease.end_reason.is_(None), DialLease.end_reason != "released"),
        )
        .limit(1)
    )
    return since is not None


def after_call(session: Session, interaction: Interaction, lead: Lead) -> None:
    """An outbound call on ``lead`` was recorded: end its lease, count the attempt and set
    when it may be called again (see the module's rule). A late call (``late_call``) is
    history: the lease, attempts and recycle time are the current holder's."""
    if late_call(session, lead.id, interaction.agent_id):
        return
    now = utcnow()
    at = interaction.at or now
    lease = session.scalar(
        sa.select(DialLease).where(DialLease.lead_id == lead.id, DialLease.ended_at.is_(None))
    )
    campaign_id = interaction.campaign_id or (lease.campaign_id if lease else None)
    if lease is not None:
        lease.ended_at = now
        lease.end_reason = "outcome"
    lead.dial_attempts = (lead.dial_attempts or 0) + 1
    code = interaction.wrap_code or interaction.outcome
    if _is_callback(lead.account_id, code):
        if lead.last_called_at is None or at >= lead.last_called_at:
            # The callback this call set is its agent's, nobody's when none was given
            # (an earlier caller does not keep it).
            lead.callback_agent_id = interaction.agent_id
        lead.next_call_at = at  # the callback's own time decides
    else:
        lead.next_call_at = at + recycle_delay(_settings_of(session, campaign_id), code)


@event.listens_for(Session, "before_flush")
def _calls_recorded(session: Session, _context, _instances) -> None:
    new_calls = [
        obj
        for obj in session.new
        if isinstance(obj, Interaction) and obj.direction in (None, "outbound") and obj.lead_id
    ]
    if not new_calls:
        return
    with session.no_autoflush:
        for interaction in new_calls:
            lead = interaction.lead or session.get(Lead, interaction.lead_id)
            if lead is not None:
                after_call(session, interaction, lead)
