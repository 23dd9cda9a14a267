"""Golden records of the Lead Deduplicator: they inherit completed / closed states and
callbacks from their moved copies; a do-not-call flag says why it is set, and one inherited
from a copy goes when its cause goes (the copy's number leaves the list, the run is undone)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, DedupJob, DoNotCallNumber, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services import dnc

T0 = dt.datetime(2026, 1, 1, 9, 0)
CALLBACK = dt.datetime(2026, 12, 20, 17, 0)


@pytest.fixture
def pool(app, make_account):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        target = LeadPool(name="Spring list")
        db.session.add(target)
        db.session.flush()
        yield target


def add_lead(pool, phone, created, **extra):
    lead = Lead(pool_id=pool.id, phone1=phone, created_at=created, updated_at=created, **extra)
    db.session.add(lead)
    db.session.flush()
    return lead


def run(**fields) -> DedupJob:
    job = DedupJob(name="x", **fields)
    db.session.add(job)
    db.session.flush()
    dedup_service.run(job)
    return job


def state(lead):
    db.session.refresh(lead)
    return lead.status, lead.completed, lead.callback_at, lead.do_not_call, lead.dnc_reason


@pytest.mark.parametrize("match_keys", [["phone1"], ["phones"]])
def test_the_golden_record_inherits_completed_closed_and_a_callback_and_undo_puts_them_back(
    pool, match_keys
):
    sold = "+14155550401"
    golden = add_lead(pool, sold, T0 + dt.timedelta(days=3))
    add_lead(pool, sold, T0, status="closed", completed=True, wrap_code="SALE", call_count=1)
    later = "+14155550402"
    golden_cb = add_lead(pool, later, T0 + dt.timedelta(days=3))
    add_lead(pool, later, T0, callback_at=CALLBACK + dt.timedelta(days=1))
    add_lead(pool, later, T0 + dt.timedelta(days=1), callback_at=CALLBACK)
    job = run(match_keys=match_keys)
    assert state(golden) == ("closed", True, None, False, None)
    assert state(golden_cb) == ("open", False, CALLBACK, False, None)  # the earliest callback
    dedup_service.undo(job)
    assert state(golden) == ("open", False, None, False, None)
    assert state(golden_cb) == ("open", False, None, False, None)


def test_a_golden_record_keeps_its_own_callback(pool):
    golden = add_lead(pool, "+14155550403", T0 + dt.timedelta(days=1), callback_at=CALLBACK)
    add_lead(pool, "+14155550403", T0, callback_at=CALLBACK - dt.timedelta(days=1))
    run()
    assert state(golden)[2] == CALLBACK


def account(pool) -> Account:
    return db.session.get(Account, pool.account_id)


def test_an_inherited_do_not_call_says_why_and_goes_when_the_copys_number_leaves_the_list(pool):
    listed = "+14155550411"
    golden = add_lead(pool, "+14155550410", T0 + dt.timedelta(days=1), email_key="a@x.test")
    copy = add_lead(pool, listed, T0, email_key="a@x.test")
    entry, _, marked = dnc.add_number(account(pool), listed, user_id=None)
    assert marked == 1 and state(copy)[3:] == (True, "number")
    run(match_keys=["email"])
    assert state(golden)[3:] == (True, "copy")

    dnc.remove_number(entry, user_id=None)
    assert state(copy)[3:] == (False, None)
    assert state(golden)[3:] == (False, None)


def test_an_inherited_flag_stays_while_the_golden_records_own_number_is_listed(pool):
    own, other = "+14155550420", "+14155550421"
    golden = add_lead(pool, own, T0 + dt.timedelta(days=1), email_key="b@x.test")
    add_lead(pool, other, T0, email_key="b@x.test")
    entry, _, _ = dnc.add_number(account(pool), other, user_id=None)
    run(match_keys=["email"])
    assert state(golden)[3:] == (True, "copy")
    dnc.add_number(account(pool), own, user_id=None)
    dnc.remove_number(entry, user_id=None)
    assert state(golden)[3:] == (True, "number")  # its own number is still listed
    own_entry = db.session.scalar(sa.select(DoNotCallNumber).where(DoNotCallNumber.phone == own))
    dnc.remove_number(own_entry, user_id=None)
    assert state(golden)[3:] == (False, None)


def test_a_lead_marked_by_hand_stays_when_its_number_leaves_the_list(pool):
    phone = "+14155550430"
    lead = add_lead(pool, phone, T0, do_not_call=True, dnc_reason="hand")
    entry, _, _ = dnc.add_number(account(pool), phone, user_id=None)
    dnc.remove_number(entry, user_id=None)
    assert state(lead)[3:] == (True, "hand")


def test_undo_clears_an_inherited_do_not_call(pool):
    golden = add_lead(pool, "+14155550440", T0 + dt.timedelta(days=1))
    add_lead(pool, "+14155550440", T0, do_not_call=True, dnc_reason="hand")
    job = run()
    assert state(golden)[3:] == (True, "copy")
    dedup_service.undo(job)
    assert state(golden)[3:] == (False, None)
