"""A campaign's duplicate rules for API leads: set on the campaign page and with
``flask campaigns create/edit``, shown by ``GET /api/v1/campaigns/<code>``, followed by
the API's lead create (several keys: any of them unless all of them is chosen; a custom
field as a key)."""

from __future__ import annotations

import json

import pytest

from leadapp.extensions import db
from leadapp.models import Campaign, FieldDefinition, LeadPool, PoolAssignment, User
from leadapp.security import account_scope
from leadapp.services import api_tokens, campaign_duplicates
from leadapp.services.accounts import create_campaign
from tests.conftest import csrf_from, login


@pytest.fixture
def acme(app, make_account, make_user):
    account_id = make_account("acme")
    user_id = make_user(account_id, "script@acme.test")
    with app.app_context(), account_scope(account_id):
        from leadapp.models import Account

        account = db.session.get(Account, account_id)
        campaign = create_campaign(account, "Spring Sales")
        pool = LeadPool(account_id=account_id, name="spring list")
        db.session.add(pool)
        db.session.flush()
        db.session.add(
            PoolAssignment(
                account_id=account_id, pool_id=pool.id, campaign_id=campaign.id, to_dial=True
            )
        )
        db.session.add(
            FieldDefinition(account_id=account_id, key="policy", label="Policy number", position=99)
        )
        _token, plaintext = api_tokens.create_token(db.session.get(User, user_id), "CRM")
        db.session.commit()
        return {
            "account": account_id,
            "campaign": campaign.id,
            "code": campaign.api_code,
            "token": plaintext,
        }


def api(client, ctx, method, path, body=None):
    headers = {"Authorization": f"Bearer {ctx['token']}"}
    return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)


def rules_of(app, ctx) -> dict:
    with app.app_context(), account_scope(ctx["account"]):
        return campaign_duplicates.api_rules(db.session.get(Campaign, ctx["campaign"]))


def test_defaults_are_shown_by_the_api_and_a_legacy_several_keys_rule_matches_all(app, acme):
    rules = rules_of(app, acme)
    assert rules["match"] == ["phone1"] and rules["match_mode"] == "any"
    assert rules["scope"] == "campaign" and rules["action"] == "discard-new"
    with app.app_context(), account_scope(acme["account"]):
        db.session.get(Campaign, acme["campaign"]).api_duplicate_options = {
            "match": ["phone1", "email"]
        }
        db.session.commit()
    # Saved before "any of" existed: several keys then matched on all of them.
    assert rules_of(app, acme)["match_mode"] == "all"


def test_cli_create_and_edit_set_the_rules_and_the_api_shows_and_follows_them(
    app, runner, client, acme
):
    created = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", "Autumn", "--json",
              "--match", "phone1,email", "--action", "update-existing",
              "--update-mode", "fill-blanks", "--multiple", "update-newest"]
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    out = json.loads(created.stdout.strip().splitlines()[-1])
    assert out["duplicate_options"]["match"] == ["phone1", "email"]
    assert out["duplicate_options"]["match_mode"] == "any"
    assert out["duplicate_options"]["update_mode"] == "fill-blanks"
    # Existing names keep working; edit changes only what is given.
    edited = runner.invoke(
        args=["campaigns", "edit", "--account", "acme", "--campaign", "Spring Sales",
              "--match", "policy,email", "--match-mode", "any", "--action", "discard-new",
              "--json"]
    )  # fmt: skip
    assert edited.exit_code == 0, edited.output
    rules = json.loads(edited.stdout.strip().splitlines()[-1])["duplicate_options"]
    assert rules["match"] == ["custom:policy", "email"] and rules["scope"] == "campaign"

    shown = api(client, acme, "GET", f"/campaigns/{acme['code']}").get_json()
    assert shown["duplicate_options"] == rules
    assert "A lead is a duplicate when any of: Policy number, Email." in shown["duplicate_rules"]

    first = api(client, acme, "POST", f"/campaigns/{acme['code']}/leads",
                {"phone1": "(415) 555-0101", "email": "ann@x.com", "policy": "P-1"})  # fmt: skip
    assert first.status_code == 201, first.get_json()
    # Same policy (other case), other phone and email: a duplicate by policy -> discarded.
    by_policy = api(client, acme, "POST", f"/campaigns/{acme['code']}/leads",
                    {"phone1": "(415) 555-0102", "policy": " p-1 "})  # fmt: skip
    assert by_policy.status_code == 200, by_policy.get_json()
    assert by_policy.get_json()["action"] == "discarded"
    # Same email only: any of -> discarded too.
    by_email = api(client, acme, "POST", f"/campaigns/{acme['code']}/leads",
                   {"phone1": "(415) 555-0103", "email": "ANN@x.com"})  # fmt: skip
    assert by_email.get_json()["action"] == "discarded"
    # With all of them, the same email alone is a new lead.
    runner.invoke(
        args=["campaigns", "edit", "--account", "acme", "--campaign", "Spring Sales",
              "--match-mode", "all"]
    )  # fmt: skip
    assert rules_of(app, acme)["match_mode"] == "all"
    again = api(client, acme, "POST", f"/campaigns/{acme['code']}/leads",
                {"phone1": "(415) 555-0104", "email": "ann@x.com", "policy": "P-2"})  # fmt: skip
    assert again.status_code == 201 and again.get_json()["action"] == "created"


def test_cli_refuses_an_unknown_custom_key_in_a_sentence(app, runner, acme):
    result = runner.invoke(
        args=["campaigns", "edit", "--account", "acme", "--campaign", "Spring Sales",
              "--match", "custom:nope"]
    )  # fmt: skip
    assert result.exit_code == 1
    assert "There is no custom field nope" in result.output
    assert rules_of(app, acme)["match"] == ["phone1"]


def test_campaign_page_shows_and_saves_the_rules(app, client, acme):
    login(client, "admin@acme.test")
    page = client.get(f"/campaigns/{acme['campaign']}")
    html = page.get_data(as_text=True)
    assert "A lead is a duplicate when its Phone is equal." in html
    assert 'value="custom:policy"' in html  # custom fields are offered as keys
    token = csrf_from(client, f"/campaigns/{acme['campaign']}")
    saved = client.post(
        f"/campaigns/{acme['campaign']}/api-duplicates",
        data={"csrf_token": token, "match": ["phone1", "email"], "match_mode": "any",
              "scope": "account", "action": "move-existing", "update_mode": "overwrite",
              "multiple": "create-new", "open_only": "y"},
        follow_redirects=True,
    )  # fmt: skip
    assert saved.status_code == 200
    text = saved.get_data(as_text=True)
    assert "A lead is a duplicate when any of: Phone, Email." in text
    assert "in the whole account (open leads only)" in text
    rules = rules_of(app, acme)
    assert rules["scope"] == "account" and rules["multiple"] == "create-new" and rules["open_only"]

    refused = client.post(
        f"/campaigns/{acme['campaign']}/api-duplicates",
        data={"csrf_token": token, "match": [], "match_mode": "any", "scope": "campaign",
              "action": "discard-new", "update_mode": "overwrite", "multiple": "update-all"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "Match duplicates on" in refused.get_data(as_text=True)
    assert rules_of(app, acme)["scope"] == "account"  # nothing changed


def test_a_supervisor_sees_the_rules_but_cannot_change_them(app, client, make_user, acme):
    make_user(acme["account"], "sup@acme.test")
    login(client, "sup@acme.test")
    html = client.get(f"/campaigns/{acme['campaign']}").get_data(as_text=True)
    assert "A lead is a duplicate when its Phone is equal." in html
    assert "Save the API&#39;s duplicate rules" not in html
    answer = client.post(f"/campaigns/{acme['campaign']}/api-duplicates", data={})
    assert answer.status_code in (400, 403)
