"""What the campaign page's "Dialing" section shows, and the export of a campaign's leads
ready to dial for dialers that load lists (issue 18). Reads only.

- **Callable now**: per pool, the leads the queue would hand out now (every rule).
- **Ready to dial**: the same apart from the hour of day (calling hours and the pools'
  time ranges): what a dialer loading a list today can use.
- **Effective mix**: the leads handed out by weight over the last hour, per pool, next to
  the weights' shares; a pool giving nothing says why (its share goes to the others).
- **Preview**: the next leads in queue order and why each, without leasing them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import phonenumbers
import sqlalchemy as sa

from leadapp.domain import dial_mix
from leadapp.domain.csv_export import to_csv_bytes
from leadapp.extensions import db
from leadapp.models import Campaign, DialLease, Lead
from leadapp.models.base import utcnow
from leadapp.services import campaigns as campaign_service
from leadapp.services import dial_candidates, pool_ready
from leadapp.services.dial_settings import settings_for

PREVIEW = 20
EXPORT_BATCH = 5000
# VICIdial's list loader, "standard format": these columns in this order, no header.
VICIDIAL_COLUMNS = (
    "vendor_lead_code", "source_id", "list_id", "phone_code", "phone_number", "title",
    "first_name", "middle_initial", "last_name", "address1", "address2", "address3", "city",
    "state", "province", "postal_code", "country_code", "gender", "date_of_birth",
    "alt_phone", "email", "security_phrase", "comments", "rank", "owner",
)  # fmt: skip
LEADAPP_COLUMNS = (
    "lead_id", "pool", "customer_key", "first_name", "last_name", "phone1", "phone2",
    "phone3", "phone4", "phone5", "email", "timezone", "state", "postal_code", "country",
    "dial_order", "attempts", "last_called_at", "last_outcome",
)  # fmt: skip


@dataclass
class PoolLine:
    name: str
    pool_id: int
    priority: int
    weight: int
    share: float
    callable_now: int
    ready: int
    handed_last_hour: int
    effective: float | None
    why_not: str | None


def _count(plan, settings, at, zones) -> int:
    if not zones:
        return 0
    conditions = dial_candidates.eligible(plan, settings, at, None)
    keyed = sa.or_(*(dial_candidates.zone_is(z) for z in zones))
    return int(
        db.session.scalar(
            sa.select(sa.func.count(Lead.id))
            .where(*conditions, keyed)
            .execution_options(all_accounts=True)
        )
        or 0
    )


def _figures(plans, settings, at) -> dict[int, tuple[int, int]]:
    """Per pool: (callable now, ready to dial) — its eligible leads in the zone keys open at
    ``at``, and in all its zone keys whatever the hour (a pool not dialled today has none:
    0). Read from the stored breakdowns less the leads waiting
    (``pool_ready.eligible_by_zone``): a cost that does not grow with the pools. Counted
    over the leads only where those cannot answer: a pool with a day count (its figure is
    within the positions released so far, ``dial_order < released``, which the breakdowns
    do not split), and — a guard, not a case met — a campaign allowing more attempts than
    its pools' limit (the limit is the most any campaign dialling the pool allows, and
    changing it recounts the pools in the same transaction:
    ``pool_counters.attempt_limits_watched``)."""
    stored_plans = [p for p in plans if p.released is None]
    by_zone = pool_ready.eligible_by_zone(
        [p.pool.id for p in stored_plans],
        settings.max_attempts,
        at,
        at - dial_candidates.CALLBACK_GRACE,
    )
    out = {}
    for plan in plans:
        if by_zone is None or plan.released is not None:
            callable_now = _count(plan, settings, at, plan.zones)
            ready = _count(plan, settings, at, plan.all_zones)
        else:

            def added(zones, pool_id=plan.pool.id):
                return sum(max(by_zone.get((pool_id, z or ""), 0), 0) for z in set(zones))

            callable_now = added(plan.zones)
            ready = added(plan.all_zones)
        out[plan.pool.id] = (callable_now, ready)
    return out


def panel(campaign: Campaign, at: dt.datetime | None = None) -> dict:
    """The Dialing section's figures at ``at`` (naive UTC, default now)."""
    at = at or utcnow()
    settings = settings_for(campaign)
    plans = dial_candidates.plans(campaign, at)
    weights = {p.pool.id: p.assignment.weight for p in plans}
    shares = campaign_service.shares(weights) if campaign.weighting else {}
    since = at - dt.timedelta(hours=1)
    handed = dict(
        db.session.execute(
            sa.select(DialLease.pool_id, sa.func.count(DialLease.id))
            .where(
                DialLease.campaign_id == campaign.id,
                DialLease.leased_at >= since,
                DialLease.reason == "weighted",
            )
            .group_by(DialLease.pool_id)
        ).all()
    )
    total_handed = sum(handed.values())
    figures = _figures(plans, settings, at)
    lines = []
    for plan in plans:
        callable_now, ready = figures[plan.pool.id]
        why = plan.why_not
        if why is None and callable_now == 0:
            why = "nothing to dial now" if ready else "no lead left to dial"
        lines.append(
            PoolLine(
                name=plan.pool.name,
                pool_id=plan.pool.id,
                priority=plan.pool.priority,
                weight=plan.assignment.weight,
                share=shares.get(plan.pool.id, 0.0),
                callable_now=callable_now,
                ready=ready,
                handed_last_hour=handed.get(plan.pool.id, 0),
                effective=(
                    100.0 * handed.get(plan.pool.id, 0) / total_handed if total_handed else None
                ),
                why_not=why,
            )
        )
    return {
        "settings": settings,
        "lines": lines,
        "callable_total": sum(line.callable_now for line in lines),
        "ready_total": sum(line.ready for line in lines),
        "handed_total": total_handed,
        "preview": preview(campaign, at),
        "at": at,
    }


def preview(campaign: Campaign, at: dt.datetime, count: int = PREVIEW) -> list[dict]:
    """The next ``count`` leads in queue order with why each — nothing is leased."""
    settings = settings_for(campaign)
    plans = [p for p in dial_candidates.plans(campaign, at) if p.zones]
    by_pool = {p.pool.id: p for p in plans}
    shares = (
        campaign_service.shares({p.pool.id: p.assignment.weight for p in plans})
        if campaign.weighting
        else {}
    )
    picks: list[tuple[int, str]] = [
        (i, "callback") for i in dial_candidates.due_callbacks(plans, settings, at, None, count)
    ]
    found = dial_candidates.candidates(
        plans, settings, at, None, {p.pool.id: count for p in plans}, {i for i, _ in picks}
    )
    weights = {
        p.pool.id: (p.pool.priority, p.assignment.weight if campaign.weighting else 1)
        for p in plans
    }
    order = dial_mix.choose(
        weights,
        settings.mix_position or 0,
        count - len(picks),
        {k: len(v) for k, v in found.items()},
    )
    turns = {k: iter(v) for k, v in found.items()}
    picks += [(next(turns[pool_id]), "weighted") for pool_id in order]
    leads = {
        lead.id: lead
        for lead in db.session.scalars(sa.select(Lead).where(Lead.id.in_([i for i, _ in picks])))
    }
    out = []
    for lead_id, reason in picks:
        lead = leads[lead_id]
        plan = by_pool[lead.pool_id]
        zone = dial_candidates.zone_of(lead, campaign)
        local = dial_candidates.local_time(at, zone)
        parts = [plan.pool.name]
        if reason == "callback":
            parts.append(f"callback due {dial_candidates.local_time(lead.callback_at, zone):%H:%M}")
        elif campaign.weighting:
            parts.append(f"weight {campaign_service.format_share(shares.get(plan.pool.id, 0))}")
        parts += [
            f"{local:%H:%M %Z}",
            f"attempt {lead.dial_attempts + 1} of {settings.max_attempts}",
        ]
        out.append({"lead": lead, "why": " · ".join(parts)})
    return out


def _ready_leads(campaign: Campaign, at: dt.datetime) -> Iterator[list[Lead]]:
    """The campaign's leads ready to dial (every rule but the hour of day), in batches."""
    settings = settings_for(campaign)
    # Outside the calling hours too: a list loaded tonight is dialled tomorrow (a pool not
    # dialled today has no zone keys).
    plans = [p for p in dial_candidates.plans(campaign, at) if p.all_zones]
    for plan in plans:
        last = 0
        conditions = dial_candidates.eligible(plan, settings, at, None)
        while True:
            batch = list(
                db.session.scalars(
                    sa.select(Lead)
                    .where(*conditions, Lead.id > last)
                    .order_by(Lead.id)
                    .limit(EXPORT_BATCH)
                )
            )
            if not batch:
                break
            last = batch[-1].id
            yield batch


def _national(phone: str | None) -> tuple[str, str]:
    if not phone:
        return "", ""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return "", phone
    return str(number.country_code), phonenumbers.national_significant_number(number)


def _vicidial_row(lead: Lead, pools: dict[int, str]) -> dict:
    code, number = _national(lead.phone1)
    _alt_code, alt = _national(lead.phone2)
    row = dict.fromkeys(VICIDIAL_COLUMNS, "")
    row.update(
        vendor_lead_code=lead.customer_key or str(lead.id),
        source_id="LeadApp",
        list_id=str(lead.pool_id),
        phone_code=code,
        phone_number=number,
        first_name=lead.first_name or "",
        last_name=lead.last_name or "",
        state=lead.state or "",
        postal_code=lead.postal_code or "",
        country_code=lead.country or "",
        alt_phone=alt,
        email=lead.email or "",
        comments=f"LeadApp lead {lead.id} in {pools.get(lead.pool_id, '')}",
        rank=str(lead.dial_order),
    )
    return row


def _leadapp_row(lead: Lead, pools: dict[int, str]) -> dict:
    return {
        "lead_id": lead.id,
        "pool": pools.get(lead.pool_id, ""),
        "customer_key": lead.customer_key,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        **{f"phone{i}": getattr(lead, f"phone{i}") for i in range(1, 6)},
        "email": lead.email,
        "timezone": lead.timezone,
        "state": lead.state,
        "postal_code": lead.postal_code,
        "country": lead.country,
        "dial_order": lead.dial_order,
        "attempts": lead.dial_attempts,
        "last_called_at": lead.last_called_at.isoformat() if lead.last_called_at else "",
        "last_outcome": lead.last_outcome,
    }


def export_chunks(campaign: Campaign, layout: str, at: dt.datetime | None = None):
    """The ready leads as CSV bytes, chunk by chunk, formula-safe. ``vicidial``: the list
    loader's standard format (no header, national numbers with their country code apart);
    ``leadapp``: LeadApp's own columns with a header."""
    at = at or utcnow()
    pools = {p.pool.id: p.pool.name for p in dial_candidates.plans(campaign, at)}
    columns = VICIDIAL_COLUMNS if layout == "vicidial" else LEADAPP_COLUMNS
    make = _vicidial_row if layout == "vicidial" else _leadapp_row
    first = layout != "vicidial"
    sent = False
    for batch in _ready_leads(campaign, at):
        frame = pd.DataFrame([make(lead, pools) for lead in batch], columns=list(columns))
        yield to_csv_bytes(frame.astype("string"), first=first and not sent)
        sent = True
    if not sent and first:
        yield to_csv_bytes(pd.DataFrame(columns=list(columns)), first=True)
