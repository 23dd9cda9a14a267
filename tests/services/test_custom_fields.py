"""Custom fields' rules wherever a lead is written: the API, the lead page's edit (the
import's are in tests/imports/test_match_keys.py) — required, type, maximum length, unique in
the account; and the key made from a label."""

from __future__ import annotations

import pytest

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment, User
from leadapp.security import account_scope
from leadapp.services import api_tokens, custom_fields
from leadapp.services import leads as lead_service
from leadapp.services.accounts import create_campaign


@pytest.fixture
def acme(app, make_account, make_user):
    account_id = make_account("acme")
    user_id = make_user(account_id, "script@acme.test")
    with app.app_context(), account_scope(account_id):
        campaign = create_campaign(db.session.get(Account, account_id), "Spring")
        pool = LeadPool(account_id=account_id, name="spring list")
        db.session.add(pool)
        db.session.flush()
        db.session.add(
            PoolAssignment(
                account_id=account_id, pool_id=pool.id, campaign_id=campaign.id, to_dial=True
            )
        )
        custom_fields.add_field(account_id, "Policy number", "text", unique=True, max_length=8)
        custom_fields.add_field(account_id, "Contract date", "date", required=True)
        _token, plaintext = api_tokens.create_token(db.session.get(User, user_id), "CRM")
        db.session.commit()
        return {
            "account": account_id,
            "code": campaign.api_code,
            "token": plaintext,
            "pool": pool.id,
        }


def create(client, ctx, body):
    return client.post(
        f"/api/v1/campaigns/{ctx['code']}/leads",
        json=body,
        headers={"Authorization": f"Bearer {ctx['token']}"},
    )


def test_keys_come_from_labels_and_never_name_a_standard_field():
    assert custom_fields.derive_key("Policy number", set()) == "policy_number"
    assert custom_fields.derive_key("Policy number", {"policy_number"}) == "policy_number_2"
    assert custom_fields.derive_key("E-mail", set()) == "e_mail"
    assert custom_fields.derive_key("Email", set()) == "email_2"
    assert custom_fields.derive_key("123", set()) == "field_123"
    assert custom_fields.derive_key("Ünïcode ☎", set()) == "unicode"


def test_the_api_applies_required_type_length_and_unique(app, client, acme):
    missing = create(client, acme, {"phone1": "(415) 555-0101"})
    assert missing.status_code == 422
    assert "required" in missing.get_json()["errors"]["contract_date"]
    bad_date = create(client, acme, {"phone1": "(415) 555-0101", "contract_date": "soon"})
    assert "not a date" in bad_date.get_json()["errors"]["contract_date"]
    first = create(
        client,
        acme,
        {"phone1": "(415) 555-0101", "contract_date": "2026-01-31", "policy_number": "P-1"},
    )
    assert first.status_code == 201, first.get_json()
    cut = create(
        client,
        acme,
        {"phone1": "(415) 555-0109", "contract_date": "2026-01-31",
         "policy_number": "P-123456789"},
    )  # fmt: skip
    assert cut.status_code == 201 and "policy_number" in cut.get_json()["warnings"]
    taken = create(
        client,
        acme,
        {"phone1": "(415) 555-0102", "contract_date": "2026-02-01", "policy_number": " p-1"},
    )
    assert taken.status_code == 422
    assert "already has this value" in taken.get_json()["errors"]["policy_number"]


def test_editing_a_lead_checks_only_the_value_being_changed(app, acme):
    with app.app_context(), account_scope(acme["account"]):
        pool = db.session.get(LeadPool, acme["pool"])
        one = lead_service.create_lead(
            pool,
            {"phone1": "(415) 555-0111", "contract_date": "2026-01-01", "policy_number": "A"},
            user_id=None,
        ).lead
        two = lead_service.create_lead(
            pool,
            {"phone1": "(415) 555-0112", "contract_date": "2026-01-01", "policy_number": "B"},
            user_id=None,
        ).lead
        # Its own value is not "taken"; another lead's is.
        assert lead_service.update_lead(one, {"first_name": "Ann"}, user_id=None).ok
        assert lead_service.update_lead(one, {"policy_number": "a"}, user_id=None).ok
        refused = lead_service.update_lead(two, {"policy_number": "A"}, user_id=None)
        assert refused.action == "invalid"
        assert "already has this value" in refused.errors["policy_number"]
        assert db.session.get(Lead, two.id).custom["policy_number"] == "B"
