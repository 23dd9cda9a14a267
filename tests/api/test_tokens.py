"""The API token settings page: create (plaintext shown once, only the hash stored),
list, revoke with CSRF, supervisors see only their own tokens, admins the account's."""

import hashlib
import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import ApiToken, AuditLog, User
from leadapp.services import api_tokens
from tests.conftest import csrf_from, login

PAGE = "/settings/api-tokens/"
TOKEN_RE = re.compile(r'value="(la_[A-Za-z0-9_\-]+)"')


@pytest.fixture
def acme(make_account, make_user):
    account = make_account("acme")
    other = make_account("other")
    return {
        "account": account,
        "sup": make_user(account, "sup@acme.test"),
        "sup2": make_user(account, "sup2@acme.test"),
        "other": other,
        "other_sup": make_user(other, "sup@other.test"),
    }


def _token_of(app, email, name):
    with app.app_context():
        user = db.session.scalar(
            sa.select(User).where(User.email == email).execution_options(all_accounts=True)
        )
        token, plaintext = api_tokens.create_token(user, name)
        db.session.commit()
        return token.id, token.prefix, plaintext


def _create(client, name, scopes=("read", "write_leads"), expires=""):
    token = csrf_from(client, PAGE)
    return client.post(
        PAGE,
        data={"name": name, "csrf_token": token, "scopes": list(scopes), "expires": expires},
    )


def test_logged_out_users_are_sent_to_login(client, acme):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_user_menu_links_to_the_page(client, acme):
    login(client, "sup@acme.test")
    html = client.get("/pools").get_data(as_text=True)
    assert f'href="{PAGE}"' in html and "API tokens" in html


def test_create_shows_the_plaintext_once_and_stores_only_the_hash(app, client, acme):
    login(client, "sup@acme.test")
    response = _create(client, "Website form")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    plaintext = TOKEN_RE.search(html).group(1)
    assert "shown only this once" in html and "Copy" in html
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken).execution_options(all_accounts=True))
        assert token.name == "Website form" and token.user_id == acme["sup"]
        assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert token.prefix == plaintext[:11]
        assert api_tokens.authenticate(plaintext).id == acme["sup"]
        assert db.session.scalar(
            sa.select(AuditLog.id).where(AuditLog.action == "api_token.create")
        )
    again = client.get(PAGE).get_data(as_text=True)
    assert plaintext not in again
    assert token.prefix in again and "Website form" in again and "never" in again
    # Nothing of the secret in the session cookie either.
    cookie = client.get_cookie("session")
    assert cookie is None or plaintext[11:] not in cookie.value


def test_create_needs_a_name(client, acme):
    login(client, "sup@acme.test")
    response = _create(client, "  ")
    assert response.status_code == 422
    assert "Give the token a name" in response.get_data(as_text=True)


def test_create_without_csrf_is_refused(app, client, acme):
    login(client, "sup@acme.test")
    response = client.post(PAGE, data={"name": "sneaky"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_revoke_without_csrf_is_refused(app, client, acme):
    token_id, _prefix, plaintext = _token_of(app, "sup@acme.test", "crm")
    login(client, "sup@acme.test")
    assert client.post(f"{PAGE}{token_id}/revoke").status_code == 400
    with app.app_context():
        assert api_tokens.authenticate(plaintext) is not None


def test_revoke_own_token(app, client, acme):
    token_id, prefix, plaintext = _token_of(app, "sup@acme.test", "crm")
    login(client, "sup@acme.test")
    html = client.get(PAGE).get_data(as_text=True)
    assert "data-confirm=" in html and "cannot be undone" in html
    response = client.post(f"{PAGE}{token_id}/revoke", data={"csrf_token": csrf_from(client, PAGE)})
    assert response.status_code == 302
    html = client.get(PAGE).get_data(as_text=True)
    assert "is revoked" in html and "Revoked" in html
    with app.app_context():
        assert api_tokens.authenticate(plaintext) is None
        entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "api_token.revoke"))
        assert entry.user_id == acme["sup"] and entry.object_id == token_id


def test_supervisor_sees_and_revokes_only_own_tokens(app, client, acme):
    mine_id, mine_prefix, _ = _token_of(app, "sup@acme.test", "mine")
    theirs_id, theirs_prefix, theirs_plain = _token_of(app, "sup2@acme.test", "colleague's")
    admin_id, admin_prefix, _ = _token_of(app, "admin@acme.test", "admin's")
    login(client, "sup@acme.test")
    html = client.get(PAGE).get_data(as_text=True)
    assert mine_prefix in html
    assert theirs_prefix not in html and admin_prefix not in html
    assert "Other users" not in html
    response = client.post(
        f"{PAGE}{theirs_id}/revoke", data={"csrf_token": csrf_from(client, PAGE)}
    )
    assert response.status_code == 404
    with app.app_context():
        assert api_tokens.authenticate(theirs_plain) is not None


def test_admin_sees_and_revokes_every_token_of_the_account(app, client, acme):
    sup_id, sup_prefix, sup_plain = _token_of(app, "sup@acme.test", "supervisor's")
    other_id, other_prefix, other_plain = _token_of(app, "sup@other.test", "other account")
    login(client, "admin@acme.test")
    html = client.get(PAGE).get_data(as_text=True)
    assert sup_prefix in html and "sup@acme.test" in html
    assert other_prefix not in html and "other account" not in html
    csrf = csrf_from(client, PAGE)
    assert client.post(f"{PAGE}{other_id}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert client.post(f"{PAGE}{sup_id}/revoke", data={"csrf_token": csrf}).status_code == 302
    with app.app_context():
        assert api_tokens.authenticate(sup_plain) is None
        assert api_tokens.authenticate(other_plain) is not None
        entry = db.session.scalar(
            sa.select(AuditLog)
            .where(AuditLog.action == "api_token.revoke")
            .execution_options(all_accounts=True)
        )
        assert entry.user_id != acme["sup"] and entry.details["owner_id"] == acme["sup"]


def test_unknown_token_is_a_404(client, acme):
    login(client, "sup@acme.test")
    response = client.post(f"{PAGE}999999/revoke", data={"csrf_token": csrf_from(client, PAGE)})
    assert response.status_code == 404


def test_create_with_scopes_and_expiry_shows_them(app, client, acme):
    login(client, "sup@acme.test")
    page = client.get(PAGE).get_data(as_text=True)
    for scope in ("read", "write_leads", "record_outcomes", "dial"):
        assert f'value="{scope}"' in page
    response = _create(client, "Dialer", scopes=["dial", "read"], expires="90")
    assert response.status_code == 201
    with app.app_context():
        token = db.session.scalar(
            sa.select(ApiToken)
            .where(ApiToken.name == "Dialer")
            .execution_options(all_accounts=True)
        )
        assert token.scopes == "read dial"
        assert 89 <= (token.expires_at - token.created_at).days <= 90
    listed = client.get(PAGE).get_data(as_text=True)
    row = listed[listed.index('data-token-id="') :]
    assert ">dial<" in row and ">read<" in row and ">write_leads<" not in row.split("</tr>")[0]


@pytest.mark.parametrize(
    ("scopes", "expires", "sentence"),
    [
        ((), "", "Choose at least one thing the token may do."),
        (("read", "everything"), "", "is not a token scope"),
        (("read",), "7", "Choose how long the token works from the list."),
        (("read",), "abc", "Choose how long the token works from the list."),
    ],
)
def test_create_refuses_bad_choices_with_a_sentence(app, client, acme, scopes, expires, sentence):
    login(client, "sup@acme.test")
    response = _create(client, "Bad", scopes=scopes, expires=expires)
    assert response.status_code == 422
    assert sentence in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(
            sa.select(ApiToken).where(ApiToken.name == "Bad").execution_options(all_accounts=True)
        )


def test_a_token_name_loses_its_control_characters(app, client, acme):
    login(client, "sup@acme.test")
    assert _create(client, "CRM\r\nBcc: x@evil.example\t sync").status_code == 201
    with app.app_context():
        names = db.session.scalars(
            sa.select(ApiToken.name).execution_options(all_accounts=True)
        ).all()
    assert names == ["CRM Bcc: x@evil.example sync"]
