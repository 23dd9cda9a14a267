"""Bulk actions on the Leads page (issue 17 item 16, seed 003): delete after a page naming
the count, move to another list, mark do-not-call — the checked leads or every lead found;
only the account's own leads; the pools' counters and change logs follow."""

import re

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import AuditLog, Lead, LeadPool
from tests.conftest import csrf_from
from tests.pools.helpers import campaign, pool, stored_and_recounted


def _leads(app, *where):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Lead).where(*where).order_by(Lead.id).execution_options(all_accounts=True)
        ).all()
        db.session.expunge_all()
        return rows


def _bulk(client, **form):
    token = csrf_from(client, "/leads")
    return client.post("/leads/bulk", data={"csrf_token": token, **form})


def _flash(client, response) -> str:
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _setup(app):
    campaign(app, "Spring")
    spring = pool(app, "Spring", [{"first_name": "Sp"}] * 6)
    autumn = pool(app, "Autumn", [{"first_name": "Au"}] * 2)
    ids = [lead.id for lead in _leads(app, Lead.pool_id == spring)]
    return spring, autumn, ids


def test_bulk_delete_names_the_count_then_deletes(app, admin_client):
    spring, autumn, ids = _setup(app)
    first = _bulk(admin_client, action="delete", lead_ids=ids[:3])
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert "Deleting deletes <strong>3</strong> leads" in page
    assert len(_leads(app, Lead.pool_id == spring)) == 6  # nothing yet
    response = _bulk(admin_client, action="delete", lead_ids=ids[:3], confirmed=3)
    assert response.status_code == 302
    assert "Deleted 3 leads." in _flash(admin_client, response)
    assert [lead.id for lead in _leads(app, Lead.pool_id == spring)] == ids[3:]
    stored, fresh = stored_and_recounted(app, [spring, autumn])
    assert stored == fresh
    with app.app_context():
        entry = db.session.scalar(
            sa.select(AuditLog)
            .where(AuditLog.action == "leads.deleted")
            .execution_options(all_accounts=True)
        )
    assert (entry.object_id, entry.details["leads"]) == (spring, 3)


def test_bulk_move_puts_the_leads_at_the_end_of_the_lists_dial_order(app, admin_client):
    spring, autumn, ids = _setup(app)
    response = _bulk(admin_client, action="move", lead_ids=ids[:2], target_pool=autumn)
    assert "Moved 2 leads to Autumn." in _flash(admin_client, response)
    moved = _leads(app, Lead.id.in_(ids[:2]))
    assert {lead.pool_id for lead in moved} == {autumn}
    assert len(_leads(app, Lead.pool_id == autumn)) == 4
    stored, fresh = stored_and_recounted(app, [spring, autumn])
    assert stored == fresh
    page = admin_client.get(f"/pools/{autumn}").get_data(as_text=True)
    assert "Received 2 leads moved from Spring." in page
    assert "Moved 2 leads to Autumn." in admin_client.get(f"/pools/{spring}").get_data(as_text=True)


def test_bulk_do_not_call_marks_by_hand_and_keeps_other_reasons(app, admin_client):
    spring, _autumn, ids = _setup(app)
    with app.app_context():
        lead = db.session.execute(
            sa.select(Lead).where(Lead.id == ids[0]).execution_options(all_accounts=True)
        ).scalar_one()
        lead.do_not_call, lead.dnc_reason = True, "number"
        db.session.commit()
    response = _bulk(admin_client, action="dnc", lead_ids=ids[:3])
    assert "Marked 2 leads do-not-call. 1 were do-not-call already." in _flash(
        admin_client, response
    )
    reasons = [(lead.do_not_call, lead.dnc_reason) for lead in _leads(app, Lead.id.in_(ids[:4]))]
    assert reasons == [(True, "number"), (True, "hand"), (True, "hand"), (False, None)]
    stored, fresh = stored_and_recounted(app, [spring])
    assert stored == fresh


def test_all_matching_acts_on_every_lead_found_not_just_the_page(app, admin_client):
    spring, autumn, ids = _setup(app)
    response = _bulk(
        admin_client,
        action="move",
        all_matching="1",
        filter_query=f"pool={spring}",
        target_pool=autumn,
    )
    assert "Moved 6 leads to Autumn." in _flash(admin_client, response)
    assert _leads(app, Lead.pool_id == spring) == []


def test_nothing_checked_or_the_system_pool_is_refused_with_a_sentence(app, admin_client):
    _spring, _autumn, ids = _setup(app)
    response = _bulk(admin_client, action="dnc")
    assert "Check at least one lead first." in _flash(admin_client, response)
    with app.app_context():
        system = db.session.scalar(sa.select(LeadPool.id).where(LeadPool.is_system.is_(True)))
    response = _bulk(admin_client, action="move", lead_ids=ids[:1], target_pool=system)
    assert "only the Lead Deduplicator moves leads there" in _flash(admin_client, response)
    assert _bulk(admin_client, action="explode", lead_ids=ids[:1]).status_code == 400


def test_another_accounts_leads_are_never_touched(app, admin_client, make_account, make_user):
    spring, _autumn, ids = _setup(app)
    make_account("globex")
    theirs = pool(app, "Theirs", [{}] * 2, account_email="admin@globex.test")
    their_ids = [lead.id for lead in _leads(app, Lead.pool_id == theirs)]
    response = _bulk(admin_client, action="dnc", lead_ids=their_ids + ids[:1])
    assert "Marked 1 lead do-not-call." in _flash(admin_client, response)
    assert not any(lead.do_not_call for lead in _leads(app, Lead.pool_id == theirs))
    response = _bulk(admin_client, action="delete", lead_ids=their_ids, confirmed=2)
    assert "Check at least one lead first." in _flash(admin_client, response)
    assert len(_leads(app, Lead.pool_id == theirs)) == 2


def test_absurd_cursors_ids_and_lists_answer_without_an_error(app, admin_client):
    _spring, _autumn, ids = _setup(app)
    for absurd in ("0", str(2**31), str(2**64), "abc", "-5"):
        for arg in ("after", "before", "page", "pool", "campaign", "q"):
            assert admin_client.get(f"/leads?{arg}={absurd}").status_code == 200, (arg, absurd)
        response = _bulk(admin_client, action="move", lead_ids=[absurd], target_pool=absurd)
        assert response.status_code == 302
        response = _bulk(admin_client, action="move", lead_ids=ids[:1], target_pool=absurd)
        assert response.status_code in (302, 404)
