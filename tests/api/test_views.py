"""The JSON API: token auth (never a session cookie), account isolation, every endpoint,
clear 4xx JSON for bad input, duplicate rules per campaign, counters equal a recount."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import (
    Account,
    AuditLog,
    Campaign,
    DoNotCallNumber,
    FieldDefinition,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    User,
)
from leadapp.security import account_scope
from leadapp.services import api_tokens
from leadapp.services.accounts import create_campaign
from leadapp.services.pools import pool_counts
from tests.conftest import login

COUNTERS = {
    "total": "total_count",
    "open": "open_count",
    "ready": "ready_count",
    "closed": "closed_count",
    "used": "used_count",
}


def _setup_account(app, make_account, make_user, slug: str) -> dict:
    account_id = make_account(slug)
    user_id = make_user(account_id, f"script@{slug}.test")
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        campaign = create_campaign(account, "Spring Sales")
        bare = create_campaign(account, "No Pools")
        pool = LeadPool(account_id=account_id, name=f"{slug} spring list")
        side = LeadPool(account_id=account_id, name=f"{slug} side list")
        loose = LeadPool(account_id=account_id, name=f"{slug} unassigned list")
        db.session.add_all([pool, side, loose])
        db.session.flush()
        db.session.add_all(
            [
                PoolAssignment(
                    account_id=account_id, pool_id=pool.id, campaign_id=campaign.id, to_dial=True
                ),
                PoolAssignment(
                    account_id=account_id, pool_id=side.id, campaign_id=campaign.id, to_dial=False
                ),
            ]
        )
        user = db.session.get(User, user_id)
        token, plaintext = api_tokens.create_token(user, "CRM")
        db.session.commit()
        return {
            "account": account_id,
            "user": user_id,
            "code": campaign.api_code,
            "campaign": campaign.id,
            "bare_code": bare.api_code,
            "pool": pool.id,
            "side": side.id,
            "loose": loose.id,
            "token": plaintext,
            "token_id": token.id,
        }


@pytest.fixture
def acme(app, make_account, make_user):
    return _setup_account(app, make_account, make_user, "acme")


@pytest.fixture
def other(app, make_account, make_user):
    return _setup_account(app, make_account, make_user, "other")


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def post(client, url, body, token, **kwargs):
    return client.post(url, json=body, headers=auth(token), **kwargs)


def new_lead(client, ctx, body, code=None, token=None):
    return post(
        client, f"/api/v1/campaigns/{code or ctx['code']}/leads", body, token or ctx["token"]
    )


def set_options(app, ctx, options: dict) -> None:
    with app.app_context(), account_scope(ctx["account"]):
        db.session.get(Campaign, ctx["campaign"]).api_duplicate_options = options
        db.session.commit()


def assert_counters_equal_recount(app, account_id):
    with app.app_context(), account_scope(account_id):
        pools = db.session.scalars(sa.select(LeadPool)).all()
        fresh = pool_counts([p.id for p in pools])
        for pool in pools:
            counts = fresh.get(pool.id, dict.fromkeys(COUNTERS, 0))
            stored = {key: getattr(pool, attr) for key, attr in COUNTERS.items()}
            assert stored == {key: counts[key] for key in COUNTERS}, pool.name


def assert_json_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body["error"], str) and body["error"].endswith((".", "'", ")"))
    return body


def lead_count(app, account_id) -> int:
    with app.app_context(), account_scope(account_id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Lead))


# ---------------------------------------------------------------------------------------
# Authentication


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Bearer la_garbage"},
        {"Authorization": "Basic YWRtaW46cGFzcw=="},
        {"Authorization": "Bearer " + "x" * 10_000},
        {"Authorization": "Bearer la_\u00e9\u00e9"},
    ],
)
def test_missing_or_garbage_token_is_a_401(client, acme, headers):
    response = client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=headers)
    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.post(
        f"/api/v1/campaigns/{acme['code']}/leads", json={"phone1": "4155550132"}, headers=headers
    )
    assert_json_error(response, 401)


def test_the_token_hash_or_prefix_is_no_token(app, client, acme):
    with app.app_context():
        token = db.session.scalar(
            sa.select(api_tokens.ApiToken).execution_options(all_accounts=True)
        )
        hashed, prefix = token.token_hash, token.prefix
    for wrong in (hashed, prefix):
        assert_json_error(
            client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(wrong)), 401
        )


def test_revoked_token_is_a_401(app, client, acme):
    assert (
        client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"])).status_code
        == 200
    )
    with app.app_context(), account_scope(acme["account"]):
        token = db.session.get(api_tokens.ApiToken, acme["token_id"])
        api_tokens.revoke(token, db.session.get(User, acme["user"]))
        db.session.commit()
    response = new_lead(client, acme, {"phone1": "4155550132"})
    body = assert_json_error(response, 401)
    assert "revoked" in body["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert lead_count(app, acme["account"]) == 0


def test_deactivated_users_token_is_a_401(app, client, acme):
    with app.app_context():
        db.session.get(User, acme["user"]).active = False
        db.session.commit()
    assert_json_error(
        client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"])), 401
    )


def test_a_session_cookie_does_not_authenticate_the_api(app, client, acme):
    assert login(client, "admin@acme.test").status_code == 302
    assert client.get("/pools").status_code == 200  # logged in for the UI
    assert_json_error(client.get(f"/api/v1/pools/{acme['pool']}/stats"), 401)
    assert_json_error(client.get(f"/api/v1/campaigns/{acme['code']}"), 401)
    response = client.post(f"/api/v1/campaigns/{acme['code']}/leads", json={"phone1": "4155550132"})
    assert_json_error(response, 401)
    assert lead_count(app, acme["account"]) == 0


def test_a_cookie_of_another_account_does_not_change_the_tokens_account(app, client, acme, other):
    # Logged in as "other"'s admin, calling with acme's token: acme's data, acme's account.
    assert login(client, "admin@other.test").status_code == 302
    response = new_lead(client, acme, {"phone1": "4155550132"})
    assert response.status_code == 201
    assert response.get_json()["lead"]["pool_id"] == acme["pool"]
    assert lead_count(app, acme["account"]) == 1 and lead_count(app, other["account"]) == 0


def test_last_used_is_recorded(app, client, acme):
    assert (
        client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"])).status_code
        == 200
    )
    with app.app_context(), account_scope(acme["account"]):
        assert db.session.get(api_tokens.ApiToken, acme["token_id"]).last_used_at is not None


def test_index_says_who_the_token_is(client, acme):
    response = client.get("/api/v1/", headers=auth(acme["token"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["email"] == "script@acme.test" and body["account"]["slug"] == "acme"
    assert any("/leads" in e for e in body["endpoints"])
    assert_json_error(client.get("/api/v1/"), 401)


def test_unknown_endpoint_and_wrong_method_answer_json(client, acme):
    assert_json_error(client.get("/api/v1/nothing/here", headers=auth(acme["token"])), 404)
    assert_json_error(client.post("/api/v1/", json={}, headers=auth(acme["token"])), 405)
    response = client.get(f"/api/v1/campaigns/{acme['code']}/leads", headers=auth(acme["token"]))
    assert_json_error(response, 405)
    assert "POST" in response.headers["Allow"]
    response = client.delete(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"]))
    assert_json_error(response, 405)
    assert_json_error(
        client.post("/api/v1/leads/abc/interactions", json={}, headers=auth(acme["token"])), 404
    )


def test_the_api_needs_no_csrf_token(app, client, acme):
    # The test app enforces CSRF on forms; the token-authenticated API is exempt.
    assert app.config["WTF_CSRF_ENABLED"]
    assert new_lead(client, acme, {"phone1": "4155550132"}).status_code == 201


# ---------------------------------------------------------------------------------------
# Create a lead


def test_create_lead_normalises_and_answers_201(app, client, acme):
    response = new_lead(
        client,
        acme,
        {
            "first_name": " Ada ",
            "last_name": "Lovelace",
            "email": "Ada@Example.COM",
            "phone1": "(415) 555-0132",
            "phone2": "+44 20 7946 0958",
            "customer_key": "CRM-1",
            "state": "CA",
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["action"] == "created" and body["matches"] == []
    lead = body["lead"]
    assert lead["phone1"] == "+14155550132" and lead["phone2"] == "+442079460958"
    assert lead["pool_id"] == acme["pool"] == body["pool_id"]
    assert lead["status"] == "open" and lead["do_not_call"] is False
    assert lead["source"] == "api" and lead["first_name"] == "Ada"
    assert lead["timezone"] == "America/Los_Angeles"
    assert isinstance(lead["id"], int)
    with app.app_context(), account_scope(acme["account"]):
        stored = db.session.get(Lead, lead["id"])
        assert stored.account_id == acme["account"] and stored.customer_key == "CRM-1"
        assert stored.email_key == "ada@example.com"
    assert_counters_equal_recount(app, acme["account"])


def test_create_lead_in_an_assigned_pool(app, client, acme):
    response = new_lead(client, acme, {"phone1": "4155550132", "pool_id": acme["side"]})
    assert response.status_code == 201
    assert response.get_json()["lead"]["pool_id"] == acme["side"]
    assert_counters_equal_recount(app, acme["account"])


@pytest.mark.parametrize("which", ["loose", "other_pool", "missing", "text", "bool"])
def test_create_lead_refuses_a_pool_not_assigned_to_the_campaign(app, client, acme, other, which):
    pool_id = {
        "loose": acme["loose"],
        "other_pool": other["pool"],
        "missing": 999_999,
        "text": "1",
        "bool": True,
    }[which]
    response = new_lead(client, acme, {"phone1": "4155550132", "pool_id": pool_id})
    body = assert_json_error(response, 422)
    assert "pool_id" in body["errors"]
    assert lead_count(app, acme["account"]) == 0 and lead_count(app, other["account"]) == 0


def test_campaign_without_a_to_dial_pool_is_a_409(app, client, acme):
    response = new_lead(client, acme, {"phone1": "4155550132"}, code=acme["bare_code"])
    body = assert_json_error(response, 409)
    assert acme["bare_code"] in body["error"]
    assert lead_count(app, acme["account"]) == 0


def test_another_accounts_campaign_code_is_a_404(app, client, acme, other):
    # Both accounts have a campaign "Spring Sales": same code, but each token sees its own.
    assert acme["code"] == other["code"]
    with app.app_context(), account_scope(other["account"]):
        campaign = db.session.get(Campaign, other["campaign"])
        campaign.api_code = "OTHER_ONLY"
        db.session.commit()
    response = new_lead(client, acme, {"phone1": "4155550132"}, code="OTHER_ONLY")
    body = assert_json_error(response, 404)
    assert "OTHER_ONLY" in body["error"]
    assert_json_error(client.get("/api/v1/campaigns/OTHER_ONLY", headers=auth(acme["token"])), 404)
    assert lead_count(app, other["account"]) == 0
    # The owner's token does reach it.
    assert new_lead(client, other, {"phone1": "4155550132"}, code="OTHER_ONLY").status_code == 201
    assert lead_count(app, acme["account"]) == 0


def test_same_code_goes_to_the_tokens_own_account(app, client, acme, other):
    response = new_lead(client, other, {"phone1": "4155550132"})
    assert response.status_code == 201
    assert response.get_json()["lead"]["pool_id"] == other["pool"]
    assert lead_count(app, acme["account"]) == 0 and lead_count(app, other["account"]) == 1


def test_invalid_lead_is_a_422_per_field_and_writes_nothing(app, client, acme):
    response = new_lead(client, acme, {"phone1": "555-01", "email": "not an email"})
    body = assert_json_error(response, 422)
    assert set(body["errors"]) >= {"phone1", "email"}
    assert all(isinstance(v, str) and v for v in body["errors"].values())
    assert lead_count(app, acme["account"]) == 0
    assert_counters_equal_recount(app, acme["account"])


def test_lead_without_any_phone_is_a_422(client, acme):
    body = assert_json_error(new_lead(client, acme, {"first_name": "Ada"}), 422)
    assert "phone1" in body.get("errors", {}) or "phone1" in body["error"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"phone1": "4155550132", "favourite_colour": "blue"}, "favourite_colour"),
        ({"phone1": "4155550132", "status": "closed"}, "status"),
        ({"phone1": "4155550132", "created_at": "2020-01-01"}, "created_at"),
        ({"phone1": "4155550132", "first_name": {"nested": 1}}, "first_name"),
        ({"phone1": ["4155550132"]}, "phone1"),
        ({"phone1": "4155550132", "custom": "gold"}, "custom"),
        ({"phone1": "4155550132", "custom": {"nope": "x"}}, "nope"),
    ],
)
def test_bad_fields_are_a_422_naming_them(app, client, acme, body, field):
    response_body = assert_json_error(new_lead(client, acme, body), 422)
    assert field in response_body["errors"]
    assert lead_count(app, acme["account"]) == 0


def test_custom_fields_at_the_top_level_or_in_custom(app, client, acme):
    with app.app_context(), account_scope(acme["account"]):
        db.session.add(
            FieldDefinition(account_id=acme["account"], key="loyalty", label="Loyalty", position=99)
        )
        db.session.commit()
    first = new_lead(client, acme, {"phone1": "4155550132", "loyalty": "gold"})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["lead"]["custom"] == {"loyalty": "gold"}
    second = new_lead(client, acme, {"phone1": "4155550133", "custom": {"loyalty": "silver"}})
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["lead"]["custom"] == {"loyalty": "silver"}
    twice = new_lead(
        client, acme, {"phone1": "4155550134", "loyalty": "a", "custom": {"loyalty": "b"}}
    )
    assert "loyalty" in assert_json_error(twice, 422)["errors"]


def test_number_on_the_do_not_call_list_is_marked(app, client, acme):
    with app.app_context(), account_scope(acme["account"]):
        db.session.add(DoNotCallNumber(account_id=acme["account"], phone="+14155550132"))
        db.session.commit()
    response = new_lead(client, acme, {"phone1": "415 555 0132"})
    assert response.status_code == 201
    assert response.get_json()["lead"]["do_not_call"] is True
    assert_counters_equal_recount(app, acme["account"])
    stats = client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"]))
    assert stats.get_json()["total"] == 1 and stats.get_json()["ready_to_dial"] == 0


# ---------------------------------------------------------------------------------------
# Bad bodies


def _raw(client, ctx, data, content_type="application/json", **headers):
    return client.post(
        f"/api/v1/campaigns/{ctx['code']}/leads",
        data=data,
        headers={**auth(ctx["token"]), "Content-Type": content_type, **headers},
    )


@pytest.mark.parametrize(
    "data, content_type, status",
    [
        ('{"phone1": "4155550132"}', "text/plain", 415),
        ("phone1=4155550132", "application/x-www-form-urlencoded", 415),
        ("", "application/json", 400),
        ("   ", "application/json", 400),
        ("{not json", "application/json", 400),
        ('["4155550132"]', "application/json", 400),
        ('"4155550132"', "application/json", 400),
        ("null", "application/json", 400),
        ('{"phone1": NaN}', "application/json", 400),
        (b'{"phone1": "\xff\xfe"}', "application/json", 400),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
        ('{"n": ' + "9" * 5000 + "}", "application/json", 400),
    ],
)
def test_bad_bodies_are_4xx_json(app, client, acme, data, content_type, status):
    assert_json_error(_raw(client, acme, data, content_type), status)
    assert lead_count(app, acme["account"]) == 0


def test_too_large_body_is_a_413(app, client, acme):
    big = json.dumps({"phone1": "4155550132", "notes": "x" * 400_000})
    assert_json_error(_raw(client, acme, big), 413)
    assert lead_count(app, acme["account"]) == 0


def test_missing_body_without_content_type_is_a_415(client, acme):
    response = client.post(f"/api/v1/campaigns/{acme['code']}/leads", headers=auth(acme["token"]))
    assert_json_error(response, 415)


# ---------------------------------------------------------------------------------------
# Duplicate rules per campaign


def test_default_rules_discard_the_new_duplicate(app, client, acme):
    first = new_lead(client, acme, {"phone1": "4155550132", "first_name": "Ada"})
    assert first.status_code == 201
    first_id = first.get_json()["lead"]["id"]
    again = new_lead(client, acme, {"phone1": "+1 415-555-0132", "first_name": "Other"})
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert body["action"] == "discarded" and body["matches"] == [first_id]
    assert body["lead"] is None
    assert lead_count(app, acme["account"]) == 1
    assert_counters_equal_recount(app, acme["account"])


def test_campaign_rules_update_the_existing_lead(app, client, acme):
    set_options(app, acme, {"action": "update-existing", "update_mode": "overwrite"})
    first_id = new_lead(client, acme, {"phone1": "4155550132", "first_name": "Ada"}).get_json()[
        "lead"
    ]["id"]
    again = new_lead(client, acme, {"phone1": "(415) 555-0132", "first_name": "Augusta"})
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert body["action"] == "updated" and body["matches"] == [first_id]
    assert body["lead"]["id"] == first_id and body["lead"]["first_name"] == "Augusta"
    assert lead_count(app, acme["account"]) == 1
    assert_counters_equal_recount(app, acme["account"])


def test_campaign_rules_notify_creates_and_reports(app, client, acme):
    set_options(app, acme, {"action": "notify"})
    first_id = new_lead(client, acme, {"phone1": "4155550132"}).get_json()["lead"]["id"]
    again = new_lead(client, acme, {"phone1": "4155550132"})
    assert again.status_code == 201
    body = again.get_json()
    assert body["action"] == "notified" and body["matches"] == [first_id]
    assert body["lead"]["id"] != first_id
    assert lead_count(app, acme["account"]) == 2
    assert_counters_equal_recount(app, acme["account"])


def test_campaign_rules_match_on_email(app, client, acme):
    set_options(app, acme, {"match": ["email"], "action": "discard-new"})
    new_lead(client, acme, {"phone1": "4155550132", "email": "ada@example.com"})
    # Another phone, same email: a duplicate under this campaign's rules.
    again = new_lead(client, acme, {"phone1": "4155550199", "email": "ADA@example.com "})
    assert again.status_code == 200 and again.get_json()["action"] == "discarded"
    # Same phone, another email: not a duplicate here.
    third = new_lead(client, acme, {"phone1": "4155550132", "email": "bob@example.com"})
    assert third.status_code == 201
    assert lead_count(app, acme["account"]) == 2


def test_campaign_rules_scope_none_imports_everything(app, client, acme):
    set_options(app, acme, {"scope": "none"})
    assert new_lead(client, acme, {"phone1": "4155550132"}).status_code == 201
    assert new_lead(client, acme, {"phone1": "4155550132"}).status_code == 201
    assert lead_count(app, acme["account"]) == 2


def test_duplicates_in_another_account_do_not_count(app, client, acme, other):
    assert new_lead(client, other, {"phone1": "4155550132"}).status_code == 201
    response = new_lead(client, acme, {"phone1": "4155550132"})
    assert response.status_code == 201 and response.get_json()["action"] == "created"


def test_broken_campaign_options_are_a_clear_4xx(app, client, acme):
    set_options(app, acme, {"action": "explode"})
    body = assert_json_error(new_lead(client, acme, {"phone1": "4155550132"}), 422)
    assert "action" in body["error"]
    assert lead_count(app, acme["account"]) == 0


# ---------------------------------------------------------------------------------------
# Interactions


def _lead(client, ctx, phone="4155550132") -> int:
    response = new_lead(client, ctx, {"phone1": phone})
    assert response.status_code == 201
    return response.get_json()["lead"]["id"]


def test_record_an_interaction(app, client, acme):
    lead_id = _lead(client, acme)
    response = post(
        client,
        f"/api/v1/leads/{lead_id}/interactions",
        {
            "campaign": acme["code"],
            "called_number": "(415) 555-0132",
            "caller_number": "+1 212 555 0100",
            "wrap_code": "SALE",
            "outcome": "answered",
            "notes": "Wants the blue one.",
            "direction": "outbound",
            "at": "2026-03-01T14:30:00-08:00",
            "completed": True,
        },
        acme["token"],
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    item = body["interaction"]
    assert item["lead_id"] == lead_id and item["campaign"] == acme["code"]
    assert item["called_number"] == "+14155550132" and item["caller_number"] == "+12125550100"
    assert item["wrap_code"] == "SALE" and item["outcome"] == "answered"
    assert item["at"] == "2026-03-01T22:30:00Z"
    assert item["agent_id"] == acme["user"]
    assert body["lead"]["call_count"] == 1 and body["lead"]["completed"] is True
    assert body["lead"]["last_called_at"] == "2026-03-01T22:30:00Z"
    with app.app_context(), account_scope(acme["account"]):
        stored = db.session.get(Interaction, item["id"])
        assert stored.notes == "Wants the blue one." and stored.campaign_id == acme["campaign"]
    assert_counters_equal_recount(app, acme["account"])
    stats = client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"]))
    assert stats.get_json()["used"] == 1 and stats.get_json()["ready_to_dial"] == 0


def test_minimal_interaction(client, acme):
    lead_id = _lead(client, acme)
    response = post(client, f"/api/v1/leads/{lead_id}/interactions", {}, acme["token"])
    assert response.status_code == 201, response.get_json()
    item = response.get_json()["interaction"]
    assert item["direction"] == "outbound" and item["called_number"] == "+14155550132"


def test_interaction_with_an_agent_of_the_account(app, make_user, client, acme, other):
    agent = make_user(acme["account"], "agent@acme.test")
    lead_id = _lead(client, acme)
    ok = post(
        client,
        f"/api/v1/leads/{lead_id}/interactions",
        {"agent_email": "Agent@acme.test"},
        acme["token"],
    )
    assert ok.status_code == 201 and ok.get_json()["interaction"]["agent_id"] == agent
    stranger = post(
        client,
        f"/api/v1/leads/{lead_id}/interactions",
        {"agent_email": "script@other.test"},
        acme["token"],
    )
    assert "agent_email" in assert_json_error(stranger, 422)["errors"]


def test_interaction_on_another_accounts_lead_is_a_404(app, client, acme, other):
    lead_id = _lead(client, other)
    response = post(client, f"/api/v1/leads/{lead_id}/interactions", {}, acme["token"])
    assert_json_error(response, 404)
    assert_json_error(post(client, "/api/v1/leads/999999/interactions", {}, acme["token"]), 404)
    with app.app_context(), account_scope(other["account"]):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"at": "yesterday"}, "at"),
        ({"at": 1700000000}, "at"),
        ({"at": "2999-01-01T00:00:00Z"}, "at"),
        ({"direction": "sideways"}, "direction"),
        ({"completed": "yes"}, "completed"),
        ({"campaign": "NO_SUCH_CODE"}, "campaign"),
        ({"campaign": 5}, "campaign"),
        ({"wrap_code": {"a": 1}}, "wrap_code"),
        ({"notes": "x" * 5001}, "notes"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_interaction_is_a_422(app, client, acme, body, field):
    lead_id = _lead(client, acme)
    response = post(client, f"/api/v1/leads/{lead_id}/interactions", body, acme["token"])
    assert field in assert_json_error(response, 422)["errors"]
    with app.app_context(), account_scope(acme["account"]):
        assert db.session.get(Lead, lead_id).call_count == 0


def test_interaction_with_a_bad_number_is_a_422(client, acme):
    lead_id = _lead(client, acme)
    response = post(
        client, f"/api/v1/leads/{lead_id}/interactions", {"called_number": "12"}, acme["token"]
    )
    body = assert_json_error(response, 422)
    assert "called number" in body["error"]


def test_interaction_with_another_accounts_campaign_code_is_refused(app, client, acme, other):
    with app.app_context(), account_scope(other["account"]):
        db.session.get(Campaign, other["campaign"]).api_code = "OTHER_ONLY"
        db.session.commit()
    lead_id = _lead(client, acme)
    response = post(
        client, f"/api/v1/leads/{lead_id}/interactions", {"campaign": "OTHER_ONLY"}, acme["token"]
    )
    assert "campaign" in assert_json_error(response, 422)["errors"]


def test_interaction_bad_body(client, acme):
    lead_id = _lead(client, acme)
    response = client.post(
        f"/api/v1/leads/{lead_id}/interactions",
        data="{",
        headers={**auth(acme["token"]), "Content-Type": "application/json"},
    )
    assert_json_error(response, 400)


# ---------------------------------------------------------------------------------------
# Pool statistics and campaigns


def test_pool_stats_from_the_stored_counters(app, client, acme):
    for phone in ("4155550132", "4155550133", "4155550134"):
        _lead(client, acme, phone)
    response = client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"]))
    assert response.status_code == 200
    stats = response.get_json()
    assert stats["id"] == acme["pool"] and stats["name"] == "acme spring list"
    assert stats["total"] == 3 and stats["open"] == 3 and stats["ready_to_dial"] == 3
    assert stats["closed_pct"] == 0.0 and stats["used_pct"] == 0.0
    assert stats["campaigns"] == [
        {
            "code": acme["code"],
            "name": "Spring Sales",
            "to_dial": True,
            "weight": 100,
            "strategy": "weighted",
        }
    ]
    with app.app_context(), account_scope(acme["account"]):
        fresh = pool_counts([acme["pool"]])[acme["pool"]]
    assert (stats["total"], stats["open"], stats["ready_to_dial"]) == (
        fresh["total"],
        fresh["open"],
        fresh["ready"],
    )
    assert_counters_equal_recount(app, acme["account"])


def test_pool_stats_ready_to_dial_as_the_grid_shows_it(app, client, acme):
    # The side pool is assigned but not to dial: its leads are ready only "when active".
    _lead(client, acme)
    side = new_lead(client, acme, {"phone1": "4155550140", "pool_id": acme["side"]})
    assert side.status_code == 201
    stats = client.get(f"/api/v1/pools/{acme['side']}/stats", headers=auth(acme["token"]))
    body = stats.get_json()
    assert body["total"] == 1 and body["ready_when_active"] == 1 and body["ready_to_dial"] == 0
    with app.app_context(), account_scope(acme["account"]):
        db.session.get(LeadPool, acme["pool"]).status = "inactive"
        db.session.commit()
    stats = client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"]))
    body = stats.get_json()
    assert body["status"] == "inactive" and body["ready_to_dial"] == 0
    assert body["ready_when_active"] == 1 and body["duplicates_found"] == 0


def test_pool_stats_of_another_account_is_a_404(client, acme, other):
    response = client.get(f"/api/v1/pools/{other['pool']}/stats", headers=auth(acme["token"]))
    body = assert_json_error(response, 404)
    assert "other" not in json.dumps(body)
    assert_json_error(client.get("/api/v1/pools/999999/stats", headers=auth(acme["token"])), 404)


def test_campaign_detail(client, acme, other):
    response = client.get(f"/api/v1/campaigns/{acme['code']}", headers=auth(acme["token"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["code"] == acme["code"] and body["name"] == "Spring Sales"
    assert [(p["id"], p["to_dial"]) for p in body["pools"]] == [
        (acme["pool"], True),
        (acme["side"], False),
    ]
    assert_json_error(client.get("/api/v1/campaigns/NOPE", headers=auth(acme["token"])), 404)


def test_counters_after_a_mix_of_api_calls(app, client, acme):
    set_options(app, acme, {"action": "remove-existing"})
    ids = [_lead(client, acme, f"41555501{n:02d}") for n in range(5)]
    post(client, f"/api/v1/leads/{ids[0]}/interactions", {"completed": True}, acme["token"])
    post(client, f"/api/v1/leads/{ids[1]}/interactions", {"outcome": "busy"}, acme["token"])
    again = new_lead(client, acme, {"phone1": "4155550102", "pool_id": acme["side"]})
    assert again.status_code == 201 and again.get_json()["action"] == "removed"
    assert new_lead(client, acme, {"phone1": "oops"}).status_code == 422
    assert_counters_equal_recount(app, acme["account"])
    with app.app_context(), account_scope(acme["account"]):
        assert db.session.get(Lead, ids[2]).status == "removed"
    stats = client.get(f"/api/v1/pools/{acme['pool']}/stats", headers=auth(acme["token"]))
    assert stats.get_json()["total"] == 5 and stats.get_json()["used"] == 2


def test_api_writes_are_audited_as_the_token_user(app, client, acme):
    lead_id = _lead(client, acme)
    with app.app_context(), account_scope(acme["account"]):
        entry = db.session.scalar(
            sa.select(AuditLog).where(
                AuditLog.action == "lead.created", AuditLog.object_id == lead_id
            )
        )
        assert entry.user_id == acme["user"] and entry.details["source"] == "api"


def test_times_are_utc_iso(client, acme):
    lead = new_lead(client, acme, {"phone1": "4155550132"}).get_json()["lead"]
    created = dt.datetime.fromisoformat(lead["created_at"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)
