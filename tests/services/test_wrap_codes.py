"""Wrap codes: what each outcome does to its lead, from the account's table."""

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, WrapCode
from leadapp.security import account_scope
from leadapp.services import wrap_codes as service

CALLBACK_AT = dt.datetime(2030, 1, 2, 15, 30)


@pytest.fixture
def ctx(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        pool = LeadPool(account_id=account_id, name="Spring list")
        db.session.add(pool)
        db.session.flush()
        lead = Lead(account_id=account_id, pool_id=pool.id, phone1="+14155550132")
        db.session.add(lead)
        db.session.flush()
        yield {"account": db.session.get(Account, account_id), "lead": lead}


def state(lead: Lead):
    return (lead.status, lead.completed, lead.do_not_call, lead.callback_at)


def test_a_new_account_has_the_default_codes(ctx):
    codes = {c.code: c.effect for c in service.codes(ctx["account"].id)}
    assert codes == {code: effect for code, _label, effect in service.DEFAULT_WRAP_CODES}
    assert service.closing_codes(ctx["account"].id) == {
        "SALE", "NOT_INTERESTED", "WRONG_NUMBER", "DO_NOT_CALL", "DNC",
    }  # fmt: skip
    assert service.callback_codes(ctx["account"].id) == {"CALLBACK"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("SALE", ("closed", True, False, None)),
        ("sale", ("closed", True, False, None)),
        ("NOT_INTERESTED", ("closed", False, False, None)),
        ("wrong number", ("closed", False, False, None)),
        ("DNC", ("closed", False, True, None)),
        ("NO_ANSWER", ("open", False, False, None)),
        ("SOMETHING_ELSE", ("open", False, False, None)),  # unknown: never closes
        ("Call-back", ("open", False, False, None)),  # CALL_BACK is not in the table
        ("CALLBACK", ("open", False, False, CALLBACK_AT)),
    ],
)
def test_each_effect(ctx, code, expected):
    lead = ctx["lead"]
    service.apply_outcome(lead, code, callback_at=CALLBACK_AT)
    assert state(lead) == expected
    assert lead.wrap_code == service.normalise(code)
    if expected[2]:
        assert lead.dnc_reason == "hand"


def test_callback_then_sale_clears_the_callback_and_a_later_code_reopens(ctx):
    lead = ctx["lead"]
    with pytest.raises(service.WrapCodeError, match="date and time"):
        service.apply_outcome(lead, "CALLBACK")
    aware = dt.datetime(2030, 1, 2, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    service.apply_outcome(lead, "CALLBACK", callback_at=aware)
    assert lead.callback_at == CALLBACK_AT  # stored in UTC
    service.apply_outcome(lead, "SALE")
    assert state(lead) == ("closed", True, False, None)
    service.apply_outcome(lead, "NO_ANSWER")  # a correction: the lead is dialled again
    assert state(lead) == ("open", False, False, None)


def test_do_not_call_stays_and_removed_or_inactive_leads_keep_their_status(ctx):
    lead = ctx["lead"]
    service.apply_outcome(lead, "DO_NOT_CALL")
    service.apply_outcome(lead, "NO_ANSWER")
    assert (lead.status, lead.do_not_call) == ("open", True)
    lead.status = "inactive"  # moved to Inactive by the Lead Deduplicator
    service.apply_outcome(lead, "SALE")
    assert (lead.status, lead.completed) == ("inactive", True)


def test_the_completed_flag(ctx):
    lead = ctx["lead"]
    service.apply_outcome(lead, "NO_ANSWER", completed=True)
    assert state(lead) == ("closed", True, False, None)
    service.apply_outcome(lead, "SALE", completed=False)
    assert state(lead) == ("open", False, False, None)


def test_the_table_is_editable(ctx):
    account_id = ctx["account"].id
    sale = db.session.scalar(sa.select(WrapCode).where(WrapCode.code == "SALE"))
    service.save_code(account_id, "sale", "Sale, callback to confirm", "callback", wrap_code=sale)
    lead = ctx["lead"]
    service.apply_outcome(lead, "SALE", callback_at=CALLBACK_AT)
    assert state(lead) == ("open", False, False, CALLBACK_AT)
    added = service.save_code(account_id, " Appointment set ", "", "completed")
    assert added.code == "APPOINTMENT_SET"
    service.apply_outcome(lead, "appointment-set")
    assert state(lead) == ("closed", True, False, None)
    with pytest.raises(service.WrapCodeError, match="exists already"):
        service.save_code(account_id, "APPOINTMENT_SET", "", "closed")
    with pytest.raises(service.WrapCodeError, match="Choose what"):
        service.save_code(account_id, "X", "", "explode")
    with pytest.raises(service.WrapCodeError, match="at most 60"):
        service.save_code(account_id, "X" * 61, "", "closed")
    service.delete_code(added)
    service.apply_outcome(lead, "APPOINTMENT_SET")
    assert lead.status == "open"  # a deleted code keeps the lead open


def test_each_account_has_its_own_table(app_ctx, make_account):
    acme, globex = make_account("acme"), make_account("globex")
    with account_scope(acme):
        service.save_code(acme, "APPOINTMENT_SET", "", "completed")
        sale = db.session.scalar(sa.select(WrapCode).where(WrapCode.code == "SALE"))
        service.save_code(acme, "SALE", "", "closed", wrap_code=sale)
    with account_scope(globex):
        assert "APPOINTMENT_SET" not in service.effects(globex)
        assert service.effects(globex)["SALE"] == "completed"
