"""A campaign with weighted pools of leads, for the dial queue's tests and its benchmark."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from leadapp.domain.calling_hours import lead_zone_key
from leadapp.extensions import db
from leadapp.models import Account, Campaign, Lead, LeadPool, PoolAssignment
from leadapp.services.accounts import create_campaign

# 2026-06-02 (a Tuesday) 16:00 UTC = 11:00 in Chicago (CDT), 09:00 in Los Angeles.
AT = dt.datetime(2026, 6, 2, 16, 0)


@dataclass
class World:
    account_id: int
    campaign_id: int
    code: str
    pools: dict[str, int]


def add_leads(pool: LeadPool, n: int, *, zone="America/Chicago", first_order=0, **extra):
    """``n`` open leads in ``pool`` (Core insert: fast), dial order from ``first_order``."""
    rows = [
        {
            "account_id": pool.account_id,
            "pool_id": pool.id,
            "first_name": f"Lead{first_order + i}",
            "phone1": f"+1312555{(first_order + i) % 10000:04d}",
            "timezone": zone,
            "zone_key": lead_zone_key([zone], extra.get("country"), extra.get("state")),
            "status": "open",
            "source": "outbound",
            "completed": False,
            "do_not_call": False,
            "dial_order": first_order + i,
            "call_count": 0,
            "custom": {},
            "created_at": AT,
            "updated_at": AT,
            **extra,
        }
        for i in range(n)
    ]
    if rows:
        db.session.execute(sa.insert(Lead), rows)
    pool.dial_order_next = max(pool.dial_order_next or 0, first_order + n)
    pool.total_count = (pool.total_count or 0) + n


def build(account_id: int, weights: dict[str, int], leads: int = 50, **pool_args) -> World:
    """A campaign "Dialing" with one pool per entry of ``weights`` (name → weight), each
    with ``leads`` leads in Chicago, active since 2026-01-01."""
    account = db.session.get(Account, account_id)
    campaign = create_campaign(account, "Dialing", timezone="America/Chicago")
    pools = {}
    for name, weight in weights.items():
        pool = LeadPool(
            account_id=account_id,
            name=name,
            active_from=dt.date(2026, 1, 1),
            **pool_args,
        )
        db.session.add(pool)
        db.session.flush()
        db.session.add(
            PoolAssignment(
                account_id=account_id,
                pool_id=pool.id,
                campaign_id=campaign.id,
                to_dial=True,
                weight=weight,
            )
        )
        add_leads(pool, leads)
        pools[name] = pool.id
    db.session.flush()
    return World(account_id, campaign.id, campaign.api_code, pools)


def campaign(world: World) -> Campaign:
    return db.session.get(Campaign, world.campaign_id)
