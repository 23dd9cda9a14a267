"""The leads table itself refuses a lead in another account's pool: the (account, pool)
foreign key, below the ORM's account guard, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from leadapp.models.base import utcnow


def _insert_lead(account_id: int, pool_id: int) -> None:
    # Core, not the ORM: the flush guard would refuse first, and this is about the table.
    now = utcnow()
    db.session.execute(
        sa.insert(Lead.__table__).values(
            account_id=account_id,
            pool_id=pool_id,
            phone1="+14155550100",
            source="outbound",
            status="open",
            completed=False,
            do_not_call=False,
            dial_order=0,
            call_count=0,
            custom={},
            created_at=now,
            updated_at=now,
        )
    )


def test_a_lead_in_its_own_accounts_pool_is_stored(app, make_account):
    acme = make_account("acme")
    with app.app_context():
        pool_id = db.session.scalar(
            sa.select(LeadPool.id)
            .where(LeadPool.account_id == acme)
            .execution_options(all_accounts=True)
        )
        _insert_lead(acme, pool_id)
        db.session.flush()
        stored = db.session.scalar(
            sa.select(sa.func.count(Lead.id))
            .where(Lead.pool_id == pool_id)
            .execution_options(all_accounts=True)
        )
        assert stored == 1


def test_a_lead_in_another_accounts_pool_is_refused_by_the_database(app, make_account):
    acme, globex = make_account("acme"), make_account("globex")
    with app.app_context():
        globex_pool = db.session.scalar(
            sa.select(LeadPool.id)
            .where(LeadPool.account_id == globex)
            .execution_options(all_accounts=True)
        )
        with pytest.raises(sa.exc.IntegrityError):
            _insert_lead(acme, globex_pool)
            db.session.flush()
        db.session.rollback()
