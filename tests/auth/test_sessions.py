"""Sessions that end (issue 16, item 1): a copied session or remember cookie stops working
at logout, "log out everywhere", a password reset, a deactivation and a role change;
remember cookies are random, stored hashed and replaced at use; production cookies are
Secure, HttpOnly, SameSite=Lax; users see their sessions and end them."""

import hashlib
import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import User
from leadapp.models.account import UserSession
from leadapp.services import user_sessions
from tests.conftest import PASSWORD, csrf_from

PAGES = ("/pools", "/leads", "/imports", "/settings/sessions", "/settings/api-tokens/")


def _login(client, email, remember=True, **kwargs):
    token = csrf_from(client, "/login")
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie is not None else None


def _copy(app, client, names=("session", "remember_token")):
    """A second browser holding copies of ``client``'s cookies ``names``."""
    thief = app.test_client()
    for name in names:
        value = _cookie(client, name)
        assert value, f"no {name} cookie to copy"
        thief.set_cookie(name, value)
    return thief


def _opens_nothing(thief):
    for page in PAGES:
        response = thief.get(page)
        assert response.status_code == 302, (page, response.status_code)
        assert "/login" in response.headers["Location"]


def _user(app, email):
    with app.app_context():
        return db.session.scalar(
            sa.select(User).where(User.email == email).execution_options(all_accounts=True)
        )


@pytest.fixture(autouse=True)
def _no_leftover_mail(app):
    """A reset queues a set-password email: a later worker test must not send it."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    from leadapp.extensions import redis_connection

    yield
    with app.app_context():
        Queue("mail", connection=redis_connection.client(), serializer=JSONSerializer).empty()


@pytest.fixture
def acme(make_account, make_user):
    account_id = make_account("acme")
    make_user(account_id, "sup@acme.test")
    return account_id


@pytest.mark.parametrize(
    "copied", [("session",), ("remember_token",), ("session", "remember_token")]
)
def test_copied_cookies_die_at_logout(app, client, acme, copied):
    _login(client, "sup@acme.test")
    thief = _copy(app, client, copied)
    assert thief.get("/pools").status_code == 200  # the copy works while the session lives
    client.post("/logout", data={"csrf_token": csrf_from(client, "/pools")})
    _opens_nothing(thief)
    _opens_nothing(client)


def _reset_password(app, admin, user_id):
    admin.post(
        f"/admin/users/{user_id}/password", data={"csrf_token": csrf_from(admin, "/admin/users")}
    )


def _deactivate(app, admin, user_id):
    admin.post(
        f"/admin/users/{user_id}/active", data={"csrf_token": csrf_from(admin, "/admin/users")}
    )


def _make_admin(app, admin, user_id):
    admin.post(
        f"/admin/users/{user_id}/role",
        data={"role": "admin", "csrf_token": csrf_from(admin, "/admin/users")},
    )


def _log_out_everywhere(app, own, _user_id):
    own.post("/settings/sessions/end-all", data={"csrf_token": csrf_from(own, "/pools")})


@pytest.mark.parametrize("event", [_reset_password, _deactivate, _make_admin, _log_out_everywhere])
def test_copied_cookies_die_when_the_user_changes(app, client, acme, event):
    _login(client, "sup@acme.test")
    second = app.test_client()
    _login(second, "sup@acme.test", remember=False)  # another browser of the same user
    thief = _copy(app, client)
    assert thief.get("/pools").status_code == 200
    admin = app.test_client()
    _login(admin, "admin@acme.test", remember=False)
    user_id = _user(app, "sup@acme.test").id
    event(app, client if event is _log_out_everywhere else admin, user_id)
    _opens_nothing(thief)
    _opens_nothing(second)
    assert admin.get("/pools").status_code == 200  # the admin's own session lives on
    with app.app_context():
        live = db.session.scalar(
            sa.select(sa.func.count(UserSession.id)).where(
                UserSession.user_id == user_id, UserSession.ended_at.is_(None)
            )
        )
    assert live == 0


def test_remember_tokens_are_random_hashed_and_replaced_at_use(app, client, acme):
    _login(client, "sup@acme.test")
    first = _cookie(client, "remember_token")
    other = app.test_client()
    _login(other, "sup@acme.test")
    assert _cookie(other, "remember_token") != first  # not user_id|HMAC any more
    row_id, secret = first.split(":")
    with app.app_context():
        row = db.session.get(UserSession, int(row_id))
        assert row.remember_hash == hashlib.sha256(secret.encode()).hexdigest()
        stored = [getattr(row, column.key) for column in UserSession.__table__.columns]
    assert not any(secret in str(value) for value in stored)

    # A new browser session with only the remember cookie: logged in, and given a new one.
    browser = app.test_client()
    browser.set_cookie("remember_token", first)
    response = browser.get("/pools")
    assert response.status_code == 200
    rotated = _cookie(browser, "remember_token")
    assert rotated and rotated != first
    assert "HttpOnly" in response.headers["Set-Cookie"] or any(
        "HttpOnly" in v for v in response.headers.getlist("Set-Cookie")
    )
    # The old value stops working once its few seconds of grace are over.
    with app.app_context():
        row = db.session.get(UserSession, int(row_id))
        row.remember_rotated_at -= user_sessions.REMEMBER_GRACE * 2
        db.session.commit()
    late = app.test_client()
    late.set_cookie("remember_token", first)
    assert late.get("/pools").status_code == 302
    # The rotated one still works.
    again = app.test_client()
    again.set_cookie("remember_token", rotated)
    assert again.get("/pools").status_code == 200


def test_an_old_style_remember_cookie_counts_for_nothing(app, client, acme):
    """Flask-Login's ``user_id|HMAC`` cookie, valid a year before, opens nothing."""
    from flask_login.utils import _cookie_digest

    user = _user(app, "sup@acme.test")
    with app.test_request_context():
        legacy = f"{user.id}|{_cookie_digest(str(user.id))}"
    for name in ("remember_token", app.config["REMEMBER_COOKIE_NAME"]):
        browser = app.test_client()
        browser.set_cookie(name, legacy)
        _opens_nothing(browser)


def test_the_sessions_page_lists_and_ends_sessions(app, client, acme, make_account, make_user):
    _login(client, "sup@acme.test", headers={"User-Agent": "Firefox on the desk"})
    phone = app.test_client()
    _login(phone, "sup@acme.test", remember=False, headers={"User-Agent": "Phone browser"})
    html = client.get("/settings/sessions").get_data(as_text=True)
    assert "Firefox on the desk" in html and "Phone browser" in html
    assert html.count(">this browser</span>") == 1
    with app.app_context():
        rows = db.session.scalars(
            sa.select(UserSession).where(UserSession.ended_at.is_(None)).order_by(UserSession.id)
        ).all()
    mine, phones = rows[0], rows[1]
    token = csrf_from(client, "/settings/sessions")
    response = client.post(f"/settings/sessions/{phones.id}/end", data={"csrf_token": token})
    assert response.status_code == 302
    _opens_nothing(phone)
    assert client.get("/pools").status_code == 200
    # Another user's session (another account's too) does not exist for this one.
    other = make_user(make_account("other"), "sup@other.test")
    assert other
    stranger = app.test_client()
    _login(stranger, "sup@other.test", remember=False)
    with app.app_context():
        theirs = db.session.scalar(
            sa.select(UserSession.id)
            .where(UserSession.ended_at.is_(None), UserSession.id != mine.id)
            .execution_options(all_accounts=True)
        )
    refused = client.post(f"/settings/sessions/{theirs}/end", data={"csrf_token": token})
    assert refused.status_code == 404
    assert stranger.get("/pools").status_code == 200
    # Without the CSRF token nothing ends.
    assert client.post(f"/settings/sessions/{mine.id}/end").status_code == 400
    assert client.get("/pools").status_code == 200


def test_production_cookies_are_secure_httponly_lax_and_hsts_is_sent(app_environ, acme):
    from leadapp import create_app

    prod = create_app("production", environ={**app_environ, "LEADAPP_ENV": "production"})
    client = prod.test_client()
    https = {"base_url": "https://localhost"}
    page = client.get("/login", **https)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))[1]
    response = client.post(
        "/login",
        data={"email": "sup@acme.test", "password": PASSWORD, "remember": "y", "csrf_token": token},
        headers={"Referer": "https://localhost/login"},  # Flask-WTF checks it over HTTPS
        **https,
    )
    assert response.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert set(cookies) >= {"session", "remember_token"}
    for header in cookies.values():
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header, header


def test_changing_the_password_ends_every_other_session(app, client, acme):
    _login(client, "sup@acme.test")
    other = app.test_client()
    _login(other, "sup@acme.test")
    thief = _copy(app, other)
    page = "/settings/password"
    wrong = client.post(
        page,
        data={
            "current": "not it",
            "password": "a brand new secret",
            "confirm": "a brand new secret",
            "csrf_token": csrf_from(client, page),
        },
    )
    assert wrong.status_code == 422
    assert "That is not your current password." in wrong.get_data(as_text=True)
    assert thief.get("/pools").status_code == 200
    done = client.post(
        page,
        data={
            "current": PASSWORD,
            "password": "a brand new secret",
            "confirm": "a brand new secret",
            "csrf_token": csrf_from(client, page),
        },
    )
    assert done.status_code == 302
    _opens_nothing(other)
    _opens_nothing(thief)
    assert client.get("/pools").status_code == 200  # this browser stays logged in
    fresh = app.test_client()
    token = csrf_from(fresh, "/login")
    assert (
        fresh.post(
            "/login", data={"email": "sup@acme.test", "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 401
    )
