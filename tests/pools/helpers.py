"""Building real pools, leads, campaigns and assignments for the pool tests."""

from __future__ import annotations

import re

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Campaign, Lead, LeadPool, PoolAssignment, User
from leadapp.security import account_scope
from leadapp.services import pool_counters
from leadapp.services import pools as pool_service
from leadapp.services.accounts import create_campaign

HX = {"HX-Request": "true"}


def account_id_of(email: str = "admin@acme.test") -> int:
    return db.session.query(User.account_id).filter_by(email=email).scalar()


def campaign(app, name, project="Default", account_email="admin@acme.test", **fields) -> int:
    with app.app_context():
        account = db.session.get(Account, account_id_of(account_email))
        with account_scope(account.id):
            c = create_campaign(account, name, project=project)
            for key, value in fields.items():
                setattr(c, key, value)
            db.session.commit()
            return c.id


def pool(
    app,
    name,
    leads=(),
    campaigns=(),
    to_dial=True,
    account_email="admin@acme.test",
    **fields,
) -> int:
    """A pool with ``leads`` (dicts of Lead fields; defaults: open, ready, never called),
    assigned to ``campaigns`` (ids), its counters refreshed from the leads."""
    with app.app_context():
        account_id = account_id_of(account_email)
        with account_scope(account_id):
            p = LeadPool(account_id=account_id, name=name, **fields)
            db.session.add(p)
            db.session.flush()
            for i, lead in enumerate(leads):
                values = {"phone1": f"+1212555{i:04d}", "timezone": "America/New_York"}
                values.update(lead)
                db.session.add(Lead(account_id=account_id, pool_id=p.id, **values))
            for campaign_id in campaigns:
                db.session.add(
                    PoolAssignment(
                        account_id=account_id, pool_id=p.id, campaign_id=campaign_id,
                        to_dial=to_dial,
                    )
                )  # fmt: skip
            db.session.flush()
            pool_service.refresh_counts([p])
            db.session.commit()
            return p.id


COUNTERS = ("total", "open", "ready", "closed", "used")


def stored_counters(pool: LeadPool) -> dict[str, int]:
    """The counters stored on ``pool``, keyed like ``pools.pool_counts``."""
    return {name: getattr(pool, f"{name}_count") for name in COUNTERS}


def recounted(pool_ids) -> dict[int, dict[str, int]]:
    """A full recount of ``pool_ids`` in the current session (pools without leads: zeros).
    Their stored breakdowns are checked against a recount on the way: every test comparing
    stored counters with a recount checks the breakdowns too."""
    assert_breakdowns_recounted(pool_ids)
    recount = pool_service.pool_counts(list(pool_ids))
    return {pid: recount.get(pid, dict.fromkeys(COUNTERS, 0)) for pid in pool_ids}


def assert_breakdowns_recounted(pool_ids) -> None:
    """The pools' stored breakdowns (leads per status, time zone, ready zone key, ready
    attempts and zone key, reopenable: kept by deltas) equal a full recount from their
    leads."""
    ids = list(pool_ids)
    assert pool_counters.stored_breakdowns(ids) == pool_counters.breakdown_counts(ids)


def stored_and_recounted(app, pool_ids, account_email="admin@acme.test"):
    """(stored counters, a full recount) of ``pool_ids``, in the same shape."""
    with app.app_context(), account_scope(account_id_of(account_email)):
        stored = {
            p.id: stored_counters(p)
            for p in db.session.scalars(sa.select(LeadPool).where(LeadPool.id.in_(pool_ids)))
        }
        return stored, recounted(pool_ids)


def lead_rows(app, pool_id, *columns):
    with app.app_context():
        query = sa.select(*(getattr(Lead, c) for c in columns)).where(Lead.pool_id == pool_id)
        return [
            tuple(r)
            for r in db.session.execute(
                query.order_by(Lead.id).execution_options(all_accounts=True)
            )
        ]


CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
ROW = re.compile(r'<tr data-testid="pool-row-(\d+)">(.*?)</tr>', re.S)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def grid_rows(html: str) -> dict[str, list[str]]:
    """Pool name -> the texts of its row's cells after the checkbox: name, project,
    campaigns, ready, open, % closed, % used, total, uploaded, status, extra columns."""
    rows = {}
    for _pool_id, row in ROW.findall(html):
        cells = [text(c) for c in CELL.findall(row)][1:]
        name = re.search(r'<a href="/pools/\d+">(.*?)</a>', row).group(1)
        rows[name] = cells
    return rows


def grid_order(html: str) -> list[str]:
    return list(grid_rows(html))


def campaign_row(app, campaign_id):
    with app.app_context():
        return db.session.get(Campaign, campaign_id)
