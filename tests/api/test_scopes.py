"""API token scopes and expiry (issue 16, item 7): each endpoint needs its scope, an
expired token is no token, a token never gets a scope its user's role may not use."""

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.api.scopes import SCOPE_ROLES, refusal, require_scope, scopes_for_role
from leadapp.extensions import db
from leadapp.models import ApiToken, Lead, User
from leadapp.models.base import utcnow
from leadapp.models.compliance import TOKEN_SCOPES
from leadapp.security import account_scope
from leadapp.services import api_tokens
from tests.api.test_views import acme, assert_json_error, auth  # noqa: F401 (fixture)


def _token(app, ctx, scopes, days=None):
    with app.app_context(), account_scope(ctx["account"]):
        user = db.session.get(User, ctx["user"])
        _, plaintext = api_tokens.create_token(user, "Scoped", scopes, days)
        db.session.commit()
    return plaintext


def _lead_id(app, ctx):
    with app.app_context(), account_scope(ctx["account"]):
        lead = Lead(account_id=ctx["account"], pool_id=ctx["pool"], phone1="+12125550100")
        db.session.add(lead)
        db.session.commit()
        return lead.id


def _calls(ctx, lead_id):
    """One request per endpoint, with the scope it needs."""
    return {
        "read": [
            ("get", f"/api/v1/campaigns/{ctx['code']}", None),
            ("get", f"/api/v1/pools/{ctx['pool']}/stats", None),
        ],
        "write_leads": [
            ("post", f"/api/v1/campaigns/{ctx['code']}/leads", {"phone1": "+12125550177"}),
        ],
        "record_outcomes": [
            ("post", f"/api/v1/leads/{lead_id}/interactions", {"outcome": "answered"}),
        ],
    }


@pytest.mark.parametrize("scope", ["read", "write_leads", "record_outcomes"])
def test_each_endpoint_needs_its_scope(app, client, acme, scope):  # noqa: F811
    lead_id = _lead_id(app, acme)
    calls = _calls(acme, lead_id)
    only = _token(app, acme, [scope])
    others = _token(app, acme, [s for s in TOKEN_SCOPES if s != scope])
    for method, url, body in calls[scope]:
        refused = getattr(client, method)(url, json=body, headers=auth(others))
        error = assert_json_error(refused, 403)
        assert scope in error["error"] and error["scope"] == scope
        allowed = getattr(client, method)(url, json=body, headers=auth(only))
        assert allowed.status_code in (200, 201), allowed.get_data(as_text=True)
    # The token with only this scope is refused everywhere else.
    for other_scope, requests in calls.items():
        if other_scope == scope:
            continue
        for method, url, body in requests:
            assert_json_error(getattr(client, method)(url, json=body, headers=auth(only)), 403)


def test_a_dial_only_token_reads_nothing(app, client, acme):  # noqa: F811
    token = _token(app, acme, ["dial"])
    assert_json_error(client.get(f"/api/v1/campaigns/{acme['code']}", headers=auth(token)), 403)
    who = client.get("/api/v1/", headers=auth(token))
    assert who.status_code == 200
    assert who.get_json()["token"]["scopes"] == ["dial"]


def test_an_expired_token_is_a_401(app, client, acme):  # noqa: F811
    token = _token(app, acme, ["read"], days=30)
    url = f"/api/v1/campaigns/{acme['code']}"
    assert client.get(url, headers=auth(token)).status_code == 200
    with app.app_context(), account_scope(acme["account"]):
        row = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "Scoped"))
        assert row.expires_at - utcnow() > dt.timedelta(days=29)
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    error = assert_json_error(client.get(url, headers=auth(token)), 401)
    assert "expired" in error["error"]


def test_tokens_made_before_scopes_keep_what_they_could_do(app, client, acme):  # noqa: F811
    # The fixture's token is made without scopes, like the migration's default.
    who = client.get("/api/v1/", headers=auth(acme["token"])).get_json()
    assert who["token"]["scopes"] == ["read", "record_outcomes", "write_leads"]
    assert who["token"]["expires_at"] is None


@pytest.mark.parametrize(
    ("scopes", "days", "sentence"),
    [
        ([], None, "at least one"),
        (["admin"], None, "not a token scope"),
        (["read"], 7, "how long"),
    ],
)
def test_create_refuses_bad_scopes_and_lifetimes(app, acme, scopes, days, sentence):  # noqa: F811
    with app.app_context(), account_scope(acme["account"]):
        user = db.session.get(User, acme["user"])
        with pytest.raises(api_tokens.ApiTokenError, match=sentence):
            api_tokens.create_token(user, "Bad", scopes, days)


def test_a_token_never_does_what_its_users_role_cannot(app, acme, monkeypatch):  # noqa: F811
    # Today every role may use every scope; the rule holds the day one may not.
    monkeypatch.setitem(SCOPE_ROLES, "dial", ("admin",))
    assert "dial" not in scopes_for_role("supervisor")
    with app.app_context(), account_scope(acme["account"]):
        user = db.session.get(User, acme["user"])
        assert user.role == "supervisor"
        with pytest.raises(api_tokens.ApiTokenError, match="supervisor's token cannot"):
            api_tokens.create_token(user, "Dialer", ["dial"])
        # A token given the scope while its user was an admin loses it with the role.
        token = ApiToken(scopes="dial read")
        assert "may not" in refusal(token, user, "dial")
        assert refusal(token, user, "read") is None
        assert "may not" in refusal(token, user, "read", roles=("admin",))


def test_require_scope_knows_every_scope():
    with pytest.raises(ValueError, match="unknown API token scope"):
        require_scope("everything")
