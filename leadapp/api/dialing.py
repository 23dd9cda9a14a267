"""The dial queue's API (issue 18), on the ``/api/v1`` blueprint: a dialer asks for the
campaign's next leads and gives back those it will not call. Recording the call itself is
``POST /api/v1/leads/<id>/interactions`` (it ends the lease; ``services.dial_settings``).
Tokens need the scope "dial" where tokens have scopes."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from leadapp.api.scopes import require_scope
from leadapp.api.views import ApiError, _campaign, _done, _iso, _json_body, _own, bp
from leadapp.extensions import db
from leadapp.models import Account, Campaign, DialLease, DialSettings
from leadapp.services import dial_queue

ENDPOINTS = [
    'POST /api/v1/campaigns/<code>/dial/next  {"count": N, "agent": email?}',
    "POST /api/v1/leases/<id>/release",
]


def handed_json(item: dial_queue.Handed) -> dict:
    lead = item.lead
    return {
        "id": lead.id,
        "lease_id": item.lease.id,
        "lease_expires_at": _iso(item.lease.expires_at),
        "reason": item.reason,
        "pool": item.pool.name,
        "pool_id": item.pool.id,
        "phone": lead.phone1,
        "phones": lead.phones,
        "timezone": item.zone,
        "local_time": item.local_time.isoformat(timespec="minutes"),
        "attempts": lead.dial_attempts,
        "customer_key": lead.customer_key,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "state": lead.state,
        "postal_code": lead.postal_code,
        "country": lead.country,
        "custom": lead.custom or {},
    }


def _dial_campaign(code: str) -> tuple[Campaign, DialSettings | None, Account]:
    """The campaign, its dial settings (None before their first use) and its account, in
    one statement: the queue reads all three on every request."""
    row = db.session.execute(
        sa.select(Campaign, DialSettings, Account)
        .join(Account, Account.id == Campaign.account_id)
        .outerjoin(DialSettings, DialSettings.campaign_id == Campaign.id)
        .where(Campaign.api_code == code, Campaign.account_id == g.api_user.account_id)
    ).first()
    if row is None:
        _campaign(code)  # its 404
    campaign, settings, account = row
    return campaign, settings, account


@bp.post("/campaigns/<code>/dial/next")
@require_scope("dial")
def dial_next(code: str):
    """The campaign's next leads, leased to the caller (see ``services.dial_queue``)."""
    # The account is held here: the queue's read of it finds it in the session.
    campaign, settings, _account = _dial_campaign(code)
    body = _json_body()
    unknown = sorted(set(body) - {"count", "agent"})
    if unknown:
        raise ApiError(
            422,
            "The leads were not handed out.",
            errors={k: f"Unknown field {k}; send count and agent." for k in unknown},
        )
    count = body.get("count", 1)
    agent = body.get("agent")
    if agent is not None and not isinstance(agent, str):
        raise ApiError(422, "agent must be the email of a user of this account.")
    if not campaign.active:
        raise ApiError(409, f"Campaign {campaign.api_code} is not active; nothing is dialled.")
    try:
        handed = dial_queue.next_leads(campaign, count, agent_email=agent, settings=settings)
    except dial_queue.DialError as exc:
        raise ApiError(422, str(exc)) from None
    return _done({"campaign": campaign.api_code, "leads": [handed_json(h) for h in handed]})


@bp.post("/leases/<int:lease_id>/release")
@require_scope("dial")
def release_lease(lease_id: int):
    """Give a leased lead back to the queue at once (the dialer will not call it)."""
    lease = _own(DialLease, lease_id, "lease")
    released = dial_queue.release(lease)
    return _done(
        {
            "lease_id": lease.id,
            "lead_id": lease.lead_id,
            "released": released,
            "ended_at": _iso(lease.ended_at),
            "end_reason": lease.end_reason,
        }
    )
