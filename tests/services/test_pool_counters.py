"""A pool's counters move by deltas in the transaction that changes a lead: equal to a full
recount after every kind of change, under concurrent writers, and no pool is counted while
a call is recorded."""

from __future__ import annotations

import json
import re
import threading

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, DialSettings, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import accounts as account_service
from leadapp.services import leads as lead_service
from leadapp.services import pools as pool_service
from tests.pools.helpers import assert_breakdowns_recounted
from tests.test_write_lock import api_token

COUNTERS = ("total", "open", "ready", "closed", "used")


def stored(pool_id: int) -> dict[str, int]:
    row = db.session.execute(
        sa.select(*(getattr(LeadPool, f"{k}_count") for k in COUNTERS))
        .where(LeadPool.id == pool_id)
        .execution_options(all_accounts=True)
    ).one()
    return dict(zip(COUNTERS, row, strict=True))


def recounted(pool_id: int) -> dict[str, int]:
    """A full recount; the pool's breakdowns are checked against theirs on the way."""
    assert_breakdowns_recounted([pool_id])
    return pool_service.pool_counts([pool_id]).get(pool_id, dict.fromkeys(COUNTERS, 0))


def world(account_id: int, leads: int, max_attempts: int = 2):
    """A campaign dialling one pool of ``leads`` leads, ``max_attempts`` allowed."""
    account = db.session.get(Account, account_id)
    campaign = account_service.create_campaign(account, "Spring")
    db.session.add(
        DialSettings(account_id=account_id, campaign_id=campaign.id, max_attempts=max_attempts)
    )
    pool = LeadPool(name="Spring list")
    db.session.add(pool)
    db.session.flush()
    db.session.add(PoolAssignment(pool_id=pool.id, campaign_id=campaign.id))
    db.session.add_all(
        Lead(pool_id=pool.id, phone1=f"+1415555{i:04d}", dial_order=i) for i in range(leads)
    )
    db.session.flush()
    pool_service.refresh_counts([pool])
    return campaign, pool


def test_every_change_to_a_lead_moves_the_counters_to_a_full_recount(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        campaign, pool = world(account_id, 6)
        other = LeadPool(name="Autumn list")
        db.session.add(other)
        db.session.flush()
        leads = list(db.session.scalars(sa.select(Lead).order_by(Lead.id)))
        assert stored(pool.id) == recounted(pool.id) == {
            "total": 6, "open": 6, "ready": 6, "closed": 0, "used": 0,
        }  # fmt: skip
        # Attempts up to the campaign's maximum (2): no longer ready, still open.
        lead_service.record_interaction(leads[0], campaign=campaign, wrap_code="NO_ANSWER")
        assert stored(pool.id)["ready"] == 6 and stored(pool.id)["used"] == 1
        lead_service.record_interaction(leads[0], campaign=campaign, wrap_code="BUSY")
        assert stored(pool.id)["ready"] == 5 and stored(pool.id)["open"] == 6
        # A sale closes; do-not-call and a lead without a phone are not ready.
        lead_service.record_interaction(leads[1], campaign=campaign, wrap_code="SALE")
        leads[2].do_not_call = True
        leads[3].phone1 = None
        # Another time zone, another state (the zone key follows): the breakdowns move.
        leads[1].timezone = "America/Chicago"
        leads[0].state, leads[0].country = "TX", "US"
        db.session.flush()
        assert stored(pool.id) == recounted(pool.id)
        # Moved to another pool, deleted, added.
        leads[4].pool_id = other.id
        db.session.delete(leads[5])
        db.session.add(Lead(pool_id=other.id, phone1="+14155550999", status="closed"))
        db.session.flush()
        assert stored(pool.id) == recounted(pool.id) == {
            "total": 4, "open": 3, "ready": 0, "closed": 1, "used": 2,
        }  # fmt: skip
        assert stored(other.id) == recounted(other.id)
        assert stored(other.id)["total"] == 2 and stored(other.id)["ready"] == 1
        # The counters of a loaded pool are read again after they moved.
        assert (pool.total_count, pool.ready_count, other.total_count) == (4, 0, 2)


def test_a_raised_maximum_of_attempts_makes_leads_ready_again(app_ctx, make_account):
    """The campaign's maximum decides the ready counter: changing it recounts its pools."""
    from leadapp.services import dial_settings

    account_id = make_account("acme")
    with account_scope(account_id):
        campaign, pool = world(account_id, 2, max_attempts=1)
        lead = db.session.scalars(sa.select(Lead).order_by(Lead.id)).first()
        lead_service.record_interaction(lead, campaign=campaign, wrap_code="NO_ANSWER")
        assert stored(pool.id)["ready"] == 1
        settings = dial_settings.settings_for(campaign)
        dial_settings.update_settings(
            settings, max_attempts=3, lease_minutes=5, lead_order="file", recycle_minutes={}
        )
        assert stored(pool.id)["ready"] == recounted(pool.id)["ready"] == 2


def _statements(engine) -> tuple[list[str], callable]:
    seen: list[str] = []

    def observe(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", observe)
    return seen, lambda: sa.event.remove(engine, "before_cursor_execute", observe)


def test_recording_a_call_counts_no_pool(committed, client, make_account):
    """The dialer posts twenty outcomes a second; a count of the pool per outcome read every
    lead of it (a second at 250,000 leads). No aggregate over leads runs for a call: its
    pool's counters move by the lead's change, visible as soon as the answer is sent."""
    app = committed
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        campaign, pool = world(account_id, 3)
        db.session.commit()
        lead_id = db.session.scalars(sa.select(Lead.id).order_by(Lead.id)).first()
        pool_id, code = pool.id, campaign.api_code
    plaintext = api_token(app, "admin@acme.test")
    with app.app_context():
        seen, stop = _statements(db.engine)
    try:
        answer = client.post(
            f"/api/v1/leads/{lead_id}/interactions",
            data=json.dumps({"campaign": code, "wrap_code": "SALE", "direction": "outbound"}),
            headers={"Authorization": f"Bearer {plaintext}", "Content-Type": "application/json"},
        )
    finally:
        stop()
    assert answer.status_code == 201, answer.text
    counting = [s for s in seen if re.search(r"count\(leads\.id\)|GROUP BY leads\.pool_id", s)]
    assert seen and counting == []
    with app.app_context(), account_scope(account_id):
        assert stored(pool_id) == recounted(pool_id)
        assert stored(pool_id)["closed"] == 1 and stored(pool_id)["used"] == 1


@pytest.mark.database
def test_outcomes_recorded_at_once_leave_the_counters_equal_to_a_recount(committed, make_account):
    """Eight writers record outcomes on the same few leads at the same moment (real
    sessions, real transactions): every transition moves the counters once."""
    app = committed
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("concurrent writers of one pool: PostgreSQL's row locks are the case")
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        campaign, pool = world(account_id, 4, max_attempts=3)
        db.session.commit()
        lead_ids = list(db.session.scalars(sa.select(Lead.id).order_by(Lead.id)))
        pool_id, campaign_id = pool.id, campaign.id
    codes = ["NO_ANSWER", "BUSY", "NO_ANSWER", "SALE", "BUSY", "NO_ANSWER"]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context(), account_scope(account_id):
                start.wait()
                for i, code in enumerate(codes):
                    lead = db.session.get(Lead, lead_ids[(n + i) % len(lead_ids)])
                    lead_service.record_interaction(
                        lead, campaign=db.session.get(type(campaign), campaign_id), wrap_code=code
                    )
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context(), account_scope(account_id):
        assert stored(pool_id) == recounted(pool_id)
        assert stored(pool_id)["used"] == 4


def test_the_migration_counts_the_breakdowns_as_the_service_does(app_ctx, make_account):
    """Migrations 0025 and 0026 fill the breakdowns of the leads already there: their
    counts equal the service's recount (statuses, zones, ready zone keys and ready
    attempts under each pool's maximum, reopenable leads, a pool no campaign dials)."""
    import importlib.util
    from pathlib import Path

    from leadapp.services import pool_counters

    def load(name):
        path = Path(__file__).parents[2] / "migrations" / "versions" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        return migration

    migration = load("0025_pool_breakdowns")
    attempts = load("0026_ready_attempts_breakdown")
    account_id = make_account("acme")
    with account_scope(account_id):
        campaign, pool = world(account_id, 6, max_attempts=2)
        other = LeadPool(name="Autumn list")
        db.session.add(other)
        db.session.flush()
        leads = list(db.session.scalars(sa.select(Lead).order_by(Lead.id)))
        for _ in range(2):
            lead_service.record_interaction(leads[0], campaign=campaign, wrap_code="NO_ANSWER")
        lead_service.record_interaction(leads[1], campaign=campaign, wrap_code="SALE")
        leads[2].do_not_call = True
        leads[3].timezone, leads[3].state, leads[3].country = "America/Chicago", "TX", "US"
        leads[4].pool_id, leads[4].completed = other.id, True
        db.session.add(Lead(pool_id=other.id, phone1="+14155550999", status="inactive"))
        db.session.flush()
        ids = {pool.id, other.id}
        dialect = db.session.connection().dialect.name
        filled = {
            (pool_id, kind, key): n
            for select in [*migration.fill_selects(dialect), attempts.fill_select(dialect)]
            for _account, pool_id, kind, key, n in db.session.execute(sa.text(select))
            if pool_id in ids
        }
        assert filled == pool_counters.breakdown_counts(sorted(ids))
        assert filled == pool_counters.stored_breakdowns(sorted(ids))
        assert filled[(pool.id, "reopenable", "")] == 1  # the sale
        assert filled[(other.id, "reopenable", "")] == 1  # the completed lead moved there
        by_kind = {kind: 0 for kind in ("ready_zone", "ready_attempts")}
        for (pool_id, kind, _key), n in filled.items():
            if pool_id == pool.id and kind in by_kind:
                by_kind[kind] += n
        assert by_kind["ready_zone"] == by_kind["ready_attempts"] > 0
