"""Lists managed as lists (issue 17 items 11-12, seed 003): a list made without a file that
takes leads by hand, by the API and by a later import; deleting a list with its leads
(admins, confirmed with the count, never a list a campaign dials, never the system pool)."""

import html
import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import (
    Account,
    AuditLog,
    Campaign,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    User,
)
from leadapp.security import account_scope
from leadapp.services import api_tokens
from tests.conftest import PASSWORD, csrf_from, login
from tests.pools.helpers import account_id_of, campaign, pool


def _all(app, model, *where):
    with app.app_context():
        query = sa.select(model).where(*where).execution_options(all_accounts=True)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def _text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def _new_list(client, **fields):
    token = csrf_from(client, "/pools/new")
    return client.post("/pools/new", data={"csrf_token": token, **fields})


# ---------------------------------------------------------------------------------------
# Item 11: a list without a file


def test_a_list_is_created_without_a_file_for_its_campaign(app, admin_client):
    sales = campaign(app, "Spring Sales")
    with app.app_context():
        owner = db.session.scalar(sa.select(User.id).where(User.email == "admin@acme.test"))
    response = _new_list(
        admin_client,
        name="Walk-ins",
        campaign=sales,
        description="Leads from the stand",
        timezone="Australia/Sydney",
        owner=owner,
    )
    assert response.status_code == 302
    (made,) = _all(app, LeadPool, LeadPool.name == "Walk-ins")
    assert response.headers["Location"].endswith(f"/pools/{made.id}")
    assert (made.description, made.timezone, made.owner_id) == (
        "Leads from the stand",
        "Australia/Sydney",
        owner,
    )
    assert (made.total_count, made.source_file_name, made.dial_order_next) == (0, None, 0)
    (assignment,) = _all(app, PoolAssignment, PoolAssignment.pool_id == made.id)
    assert assignment.campaign_id == sales and assignment.to_dial
    page = _text(admin_client.get(f"/pools/{made.id}"))
    assert "Time zone Australia/Sydney" in page
    assert "Created the list for Spring Sales." in page
    assert "Add a lead" in page


@pytest.mark.parametrize(
    "fields,sentence",
    [
        ({"name": ""}, "Give the list a name."),
        ({"name": "Taken"}, "Another list is already called Taken; choose another name."),
        ({"name": "New", "timezone": "Mars/Olympus"}, "Mars/Olympus is not a time zone"),
        ({"name": "New", "campaign": "999999"}, "Choose one of your campaigns for the list."),
    ],
)
def test_a_new_list_is_refused_with_a_sentence(app, admin_client, fields, sentence):
    sales = campaign(app, "Spring Sales")
    pool(app, "Taken")
    response = _new_list(admin_client, **{"campaign": sales, **fields})
    assert response.status_code == 422
    assert sentence in _text(response)
    assert not _all(app, LeadPool, LeadPool.name == "New")


def test_another_accounts_campaign_cannot_receive_a_new_list(app, admin_client, make_account):
    other_account = make_account("globex")
    with app.app_context(), account_scope(other_account):
        from leadapp.services.accounts import create_campaign

        theirs = create_campaign(db.session.get(Account, other_account), "Theirs").id
        db.session.commit()
    campaign(app, "Spring Sales")
    response = _new_list(admin_client, name="Sneaky", campaign=theirs)
    assert response.status_code == 422
    assert "Choose one of your campaigns for the list." in _text(response)


def test_leads_join_the_new_list_by_hand_and_by_the_api(app, admin_client):
    sales = campaign(app, "Spring Sales")
    _new_list(admin_client, name="Walk-ins", campaign=sales, timezone="America/Chicago")
    (made,) = _all(app, LeadPool, LeadPool.name == "Walk-ins")

    # By hand: a toll-free number tells no zone, so the list's own zone is used.
    token = csrf_from(admin_client, f"/leads/new?pool={made.id}")
    response = admin_client.post(
        "/leads/new",
        data={"csrf_token": token, "pool": made.id, "first_name": "Ann", "phone1": "8005550199"},
    )
    assert response.status_code == 302, _text(response)
    # By the API, naming the list.
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "admin@acme.test"))
        with account_scope(user.account_id):
            _token, plaintext = api_tokens.create_token(user, "CRM")
            code = db.session.get(Campaign, sales).api_code
            db.session.commit()
    response = admin_client.post(
        f"/api/v1/campaigns/{code}/leads",
        json={"phone1": "4155550132", "first_name": "Bob", "pool_id": made.id},
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    leads = _all(app, Lead, Lead.pool_id == made.id)
    by_name = {lead.first_name: lead for lead in sorted(leads, key=lambda lead: lead.id)}
    assert set(by_name) == {"Ann", "Bob"}
    assert by_name["Ann"].timezone == "America/Chicago"
    assert by_name["Bob"].timezone == "America/Los_Angeles"  # its number's own zone
    assert [by_name["Ann"].dial_order, by_name["Bob"].dial_order] == [0, 1]  # arrival order
    assert _all(app, LeadPool, LeadPool.id == made.id)[0].total_count == 2


def test_a_later_import_goes_into_the_new_list(app, admin_client, monkeypatch):
    from tests.hostile.conftest import CAMPAIGN, Wizard

    wizard = Wizard(app, admin_client, monkeypatch)
    _new_list(admin_client, name="Walk-ins", campaign=wizard.campaign_id)
    (made,) = _all(app, LeadPool, LeadPool.name == "Walk-ins")
    token = csrf_from(admin_client, "/imports/new")
    response = admin_client.post(
        "/imports/new",
        data={
            "csrf_token": token,
            "campaign": wizard.campaign_id,
            "owner": wizard.user_id,
            "target": "existing",
            "existing_pool": made.id,
            "priority": 5,
            "day_offset": 0,
        },
    )
    assert response.status_code == 302, _text(response)
    import_id = int(re.search(r"/imports/(\d+)/file", response.headers["Location"]).group(1))
    rows = "First Name,Phone\n" + "".join(f"Cy{i},+1 415 234 {i:04d}\n" for i in range(3))
    assert wizard.upload(import_id, rows.encode()).status_code == 302
    assert wizard.mapping(import_id).status_code == 302
    wizard.duplicates(import_id)
    assert wizard.start(import_id).status_code == 302
    assert not wizard.errors, wizard.errors
    assert CAMPAIGN  # the wizard's campaign is the list's
    names = sorted(lead.first_name for lead in _all(app, Lead, Lead.pool_id == made.id))
    assert names == ["Cy0", "Cy1", "Cy2"]


def test_supervisors_may_create_lists(app, client, make_account, make_user):
    acme = make_account("acme")
    sales = campaign(app, "Spring Sales")
    make_user(acme, "sup@acme.test")
    login(client, "sup@acme.test", PASSWORD)
    assert _new_list(client, name="Theirs", campaign=sales).status_code == 302


# ---------------------------------------------------------------------------------------
# Item 12: deleting a list


def _calls(app, pool_id):
    with app.app_context(), account_scope(account_id_of()):
        for lead in db.session.scalars(sa.select(Lead).where(Lead.pool_id == pool_id)):
            db.session.add(Interaction(account_id=lead.account_id, lead_id=lead.id))
        db.session.commit()


def _delete(client, pool_id, leads):
    token = csrf_from(client, f"/pools/{pool_id}/delete")
    return client.post(f"/pools/{pool_id}/delete", data={"csrf_token": token, "leads": leads})


def test_an_admin_deletes_a_list_with_its_leads_after_confirming_the_count(app, admin_client):
    sales = campaign(app, "Spring Sales")
    gone = pool(app, "Old list", [{}] * 7, campaigns=[sales], to_dial=False)
    kept = pool(app, "Kept", [{}] * 3, campaigns=[sales])
    _calls(app, gone)
    confirm = admin_client.get(f"/pools/{gone}/delete")
    assert confirm.status_code == 200
    assert "Deleting Old list deletes its 7 leads, with their call history." in _text(confirm)
    response = _delete(admin_client, gone, 7)
    assert response.status_code == 302
    follow = admin_client.get(response.headers["Location"])
    assert "Deleted the list Old list and its 7 leads." in _text(follow)
    assert not _all(app, LeadPool, LeadPool.id == gone)
    assert not _all(app, Lead, Lead.pool_id == gone)
    assert not _all(app, Interaction)  # their calls went with them
    assert not _all(app, PoolAssignment, PoolAssignment.pool_id == gone)
    assert len(_all(app, Lead, Lead.pool_id == kept)) == 3
    (entry,) = _all(app, AuditLog, AuditLog.action == "pool.deleted")
    assert (entry.details["name"], entry.details["leads"]) == ("Old list", 7)


def test_a_count_that_changed_since_the_confirmation_is_confirmed_again(app, admin_client):
    gone = pool(app, "Old list", [{}] * 7)
    response = _delete(admin_client, gone, 5)
    assert response.status_code == 409
    assert "Old list now has 7 leads, not the 5 you confirmed" in _text(response)
    assert _all(app, LeadPool, LeadPool.id == gone)


def test_a_list_to_dial_in_a_campaign_is_never_deleted(app, admin_client):
    sales = campaign(app, "Spring Sales")
    dialled = pool(app, "Dialled", [{}] * 2, campaigns=[sales])
    sentence = (
        "Dialled is to dial in the campaign Spring Sales: take it off dialling there "
        "(the campaign's page, Pools) before deleting it."
    )
    page = admin_client.get(f"/pools/{dialled}/delete")
    assert sentence in _text(page) and "delete-list-button" not in page.get_data(as_text=True)
    response = _delete(admin_client, dialled, 2)
    assert response.status_code == 409 and sentence in _text(response)
    assert len(_all(app, Lead, Lead.pool_id == dialled)) == 2


def test_the_system_inactive_pool_is_never_deleted(app, admin_client):
    with app.app_context():
        system = db.session.scalar(sa.select(LeadPool.id).where(LeadPool.is_system.is_(True)))
    response = _delete(admin_client, system, 0)
    assert response.status_code == 409
    assert "Inactive is the system pool" in _text(response)
    assert _all(app, LeadPool, LeadPool.id == system)
    assert "delete-list" not in admin_client.get(f"/pools/{system}").get_data(as_text=True)


def test_only_admins_delete_lists_and_only_their_own(app, client, make_user, make_account):
    acme = make_account("acme")
    gone = pool(app, "Old list", [{}] * 2)
    make_user(acme, "sup@acme.test")
    login(client, "sup@acme.test", PASSWORD)
    assert client.get(f"/pools/{gone}/delete").status_code == 403
    assert "delete-list" not in client.get(f"/pools/{gone}").get_data(as_text=True)
    token = csrf_from(client, f"/pools/{gone}")
    response = client.post(f"/pools/{gone}/delete", data={"csrf_token": token, "leads": 2})
    assert response.status_code == 403
    # An admin of another account gets a 404.
    other = make_account("globex")
    make_user(other, "boss@globex.test", role="admin")
    client.delete_cookie("session")
    login(client, "boss@globex.test", PASSWORD)
    assert client.get(f"/pools/{gone}/delete").status_code == 404
    assert _all(app, LeadPool, LeadPool.id == gone)


@pytest.mark.parametrize("absurd", ["0", str(2**31), str(2**64), "abc", "-1"])
def test_absurd_ids_are_refused_with_a_sentence_never_an_error(app, admin_client, absurd):
    campaign(app, "Spring Sales")
    response = _new_list(admin_client, name="New", campaign=absurd, owner=absurd)
    assert response.status_code == 422
    assert "Choose one of your campaigns for the list." in _text(response)
    assert admin_client.get(f"/pools/new?campaign={absurd}").status_code == 200
    gone = pool(app, "Old list", [{}] * 2)
    response = _delete(admin_client, gone, absurd)
    assert response.status_code in (400, 409)
    assert _all(app, LeadPool, LeadPool.id == gone)
