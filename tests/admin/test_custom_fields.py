"""Admin → Lead fields: admins add, change and remove custom lead fields; removing a field
that holds values asks first with the count; supervisors and other accounts cannot."""

from __future__ import annotations

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Campaign, FieldDefinition, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import campaign_duplicates
from tests.conftest import csrf_from, login


def _field(app, account_id, key):
    with app.app_context(), account_scope(account_id):
        return db.session.scalar(sa.select(FieldDefinition).where(FieldDefinition.key == key))


def _add(client, **data):
    token = csrf_from(client, "/admin/fields")
    return client.post("/admin/fields", data={"csrf_token": token, **data})


def _leads_with(app, account_id, values: list[str | None]):
    with app.app_context(), account_scope(account_id):
        pool = LeadPool(account_id=account_id, name="list")
        db.session.add(pool)
        db.session.flush()
        for i, value in enumerate(values):
            custom = {} if value is None else {"policy_number": value}
            db.session.add(
                Lead(
                    account_id=account_id, pool_id=pool.id, phone1=f"+1415555{i:04d}", custom=custom
                )
            )
        db.session.commit()


def test_an_admin_adds_a_field_whose_key_comes_from_its_label(app, client, make_account):
    account_id = make_account("acme")
    login(client, "admin@acme.test")
    answer = _add(client, label="Policy number", type="text", unique="y", max_length="12")
    assert answer.status_code == 302
    field = _field(app, account_id, "policy_number")
    assert (field.label, field.type, field.unique, field.required, field.max_length) == (
        "Policy number", "text", True, False, 12,
    )  # fmt: skip
    assert not field.is_standard
    page = client.get("/admin/fields").get_data(as_text=True)
    assert "policy_number" in page and "unique in the account" in page
    # The same label again, a blank one, a standard key's label: refused in a sentence.
    again = _add(client, label="policy number", type="text")
    assert again.status_code == 422
    assert "There is already a field labelled policy number" in again.get_data(as_text=True)
    assert "Give the field a label" in _add(client, label="  ", type="text").get_data(as_text=True)
    email = _add(client, label="Email", type="text")
    assert email.status_code == 422  # the standard field's label
    assert _add(client, label="Width", type="colour").status_code == 422
    too_long = _add(client, label="Notes 2", type="text", max_length="99999999999999")
    assert "between 1 and 10,000" in too_long.get_data(as_text=True)


def test_a_key_that_would_name_a_standard_field_gets_a_suffix(app, client, make_account):
    account_id = make_account("acme")
    login(client, "admin@acme.test")
    assert _add(client, label="Phone 1!", type="phone").status_code == 302
    assert _field(app, account_id, "phone_1") is not None
    assert _add(client, label="postal code ", type="text").status_code == 422  # label taken


def test_edit_keeps_the_key_and_changes_the_rules(app, client, make_account):
    account_id = make_account("acme")
    login(client, "admin@acme.test")
    _add(client, label="Policy number", type="text")
    field = _field(app, account_id, "policy_number")
    url = f"/admin/fields/{field.id}"
    token = csrf_from(client, url)
    answer = client.post(
        url,
        data={"csrf_token": token, "label": "Policy no.", "type": "number", "required": "y"},
    )
    assert answer.status_code == 302
    field = _field(app, account_id, "policy_number")
    assert (field.label, field.type, field.required) == ("Policy no.", "number", True)


def test_removing_a_field_with_values_asks_with_the_count_first(app, client, make_account):
    account_id = make_account("acme")
    login(client, "admin@acme.test")
    _add(client, label="Policy number", type="text")
    _leads_with(app, account_id, ["P-1", "P-2", None])
    field = _field(app, account_id, "policy_number")
    token = csrf_from(client, "/admin/fields")
    asked = client.post(f"/admin/fields/{field.id}/remove", data={"csrf_token": token})
    assert asked.status_code == 200
    assert "2 lead(s) hold a Policy number" in asked.get_data(as_text=True)
    assert _field(app, account_id, "policy_number") is not None  # nothing removed yet
    # A stale count (a lead got a value meanwhile) asks again.
    stale = client.post(
        f"/admin/fields/{field.id}/remove", data={"csrf_token": token, "confirmed_count": "1"}
    )
    assert stale.status_code == 409 and _field(app, account_id, "policy_number") is not None
    done = client.post(
        f"/admin/fields/{field.id}/remove", data={"csrf_token": token, "confirmed_count": "2"}
    )
    assert done.status_code == 302
    assert _field(app, account_id, "policy_number") is None
    with app.app_context(), account_scope(account_id):
        assert all(
            "policy_number" not in (lead.custom or {})
            for lead in db.session.scalars(sa.select(Lead))
        )


def test_a_field_the_api_rules_match_on_cannot_be_removed(app, client, make_account):
    from leadapp.models import Account
    from leadapp.services.accounts import create_campaign

    account_id = make_account("acme")
    login(client, "admin@acme.test")
    _add(client, label="Policy number", type="text")
    with app.app_context(), account_scope(account_id):
        campaign = create_campaign(db.session.get(Account, account_id), "Spring")
        campaign_duplicates.set_api_rules(campaign, {"match": "policy_number"}, user_id=None)
        db.session.commit()
    field = _field(app, account_id, "policy_number")
    token = csrf_from(client, "/admin/fields")
    answer = client.post(
        f"/admin/fields/{field.id}/remove", data={"csrf_token": token}, follow_redirects=True
    )
    assert "is a match key of the API duplicate rules of campaign Spring" in answer.get_data(
        as_text=True
    )
    assert _field(app, account_id, "policy_number") is not None
    with app.app_context(), account_scope(account_id):
        assert db.session.scalar(sa.select(Campaign.name)) == "Spring"


def test_supervisors_and_other_accounts_cannot_touch_fields(app, client, make_account, make_user):
    account_id = make_account("acme")
    other_id = make_account("other")
    make_user(account_id, "sup@acme.test")
    other = app.test_client()
    login(other, "admin@other.test")
    _add(other, label="Secret", type="text")
    secret = _field(app, other_id, "secret")
    login(client, "admin@acme.test")
    assert client.get(f"/admin/fields/{secret.id}").status_code == 404
    assert "Secret" not in client.get("/admin/fields").get_data(as_text=True)
    standard = _field(app, account_id, "email")
    assert client.get(f"/admin/fields/{standard.id}").status_code == 404
    supervisor = app.test_client()
    login(supervisor, "sup@acme.test")
    assert supervisor.get("/admin/fields").status_code == 403
