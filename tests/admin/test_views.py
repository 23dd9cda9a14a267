"""Admins manage their account's users: create, role, deactivate, reset password."""

import re

import pytest
import sqlalchemy as sa
from rq import Queue
from rq.serializers import JSONSerializer

from leadapp.extensions import db, redis_connection
from leadapp.models import AuditLog, User
from tests.conftest import PASSWORD, csrf_from, login

NEW_PASSWORD = "a brand new secret"


@pytest.fixture
def mail_queue(app):
    """The real "mail" queue; emptied after the test so no welcome email is sent later."""
    with app.app_context():  # not kept pushed: each request needs its own app context
        queue = Queue("mail", connection=redis_connection.client(), serializer=JSONSerializer)
    queue.empty()
    yield queue
    queue.empty()


@pytest.fixture(autouse=True)
def _no_leftover_mail(mail_queue):
    # Creating a user enqueues a welcome email; a later worker test must not send it.
    yield


def _user(app, email):
    with app.app_context():
        return db.session.scalar(
            sa.select(User).where(User.email == email).execution_options(all_accounts=True)
        )


def _audit(app, action):
    with app.app_context():
        return db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        ).all()


def _create(client, token=None, **fields):
    data = {
        "name": "Sam Agent",
        "email": "sam@acme.test",
        "role": "supervisor",
        "password": NEW_PASSWORD,
        **fields,
    }
    data["csrf_token"] = token or csrf_from(client, "/admin/users")
    return client.post("/admin/users", data=data)


def _logout(client):
    client.post("/logout", data={"csrf_token": csrf_from(client, "/pools")})


def _flashes(html):
    return re.findall(r'role="alert">\s*(.*?)\s*<button', html, flags=re.S)


def test_admin_creates_a_user_who_can_log_in(app, admin_client, mail_queue):
    response = _create(admin_client)
    assert response.status_code == 302
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "Sam Agent can now log in as sam@acme.test." in page
    user = _user(app, "sam@acme.test")
    assert user.role == "supervisor" and user.active
    admin = _user(app, "admin@acme.test")
    assert user.account_id == admin.account_id

    (entry,) = _audit(app, "user.create")
    assert (entry.user_id, entry.object_type, entry.object_id) == (admin.id, "User", user.id)
    assert entry.details == {"role": "supervisor"}

    jobs = [job for job in mail_queue.get_jobs() if job.args[0] == ["sam@acme.test"]]
    assert len(jobs) == 1
    assert jobs[0].func_name == "leadapp.tasks.mail.send_email"
    assert "Acme" in jobs[0].args[1]  # the subject names the account

    _logout(admin_client)
    response = login(admin_client, "sam@acme.test", NEW_PASSWORD)
    assert response.status_code == 302
    assert "Sam Agent" in admin_client.get("/pools").get_data(as_text=True)


def test_duplicate_email_is_refused_with_a_sentence(app, admin_client, make_account, mail_queue):
    make_account("other")
    for email in ("admin@acme.test", "ADMIN@other.test "):  # own account's, another account's
        response = _create(admin_client, email=email, name="Copy Cat")
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert f"A user with the email {email.strip().lower()} already exists." in html
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count(User.id))
            .where(User.name == "Copy Cat")
            .execution_options(all_accounts=True)
        )
    assert count == 0
    assert _audit(app, "user.create") == []
    assert mail_queue.count == 0


def test_invalid_email_and_short_password_are_refused(app, admin_client, mail_queue):
    response = _create(admin_client, email="not-an-email")
    assert response.status_code == 422
    assert "is not an email address" in response.get_data(as_text=True)
    response = _create(admin_client, password="short")
    assert response.status_code == 422
    assert "at least 8 characters" in response.get_data(as_text=True)
    response = _create(admin_client, role="owner")
    assert response.status_code == 422
    assert _user(app, "sam@acme.test") is None
    assert mail_queue.count == 0


def test_role_change_is_saved_and_audited(app, admin_client, make_user):
    admin = _user(app, "admin@acme.test")
    user_id = make_user(admin.account_id, "sup@acme.test")
    token = csrf_from(admin_client, "/admin/users")
    response = admin_client.post(
        f"/admin/users/{user_id}/role", data={"role": "admin", "csrf_token": token}
    )
    assert response.status_code == 302
    assert _user(app, "sup@acme.test").role == "admin"
    (entry,) = _audit(app, "user.role")
    assert entry.object_id == user_id and entry.details == {"role": "admin"}
    assert "is now admin." in admin_client.get("/admin/users").get_data(as_text=True)


def test_last_active_admin_cannot_be_demoted(app, admin_client):
    admin = _user(app, "admin@acme.test")
    token = csrf_from(admin_client, "/admin/users")
    response = admin_client.post(
        f"/admin/users/{admin.id}/role", data={"role": "supervisor", "csrf_token": token}
    )
    assert response.status_code == 302
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert "An account needs at least one active admin; promote another first." in _flashes(html)
    assert _user(app, "admin@acme.test").role == "admin"
    assert _audit(app, "user.role") == []


def test_an_inactive_admin_can_be_demoted_while_an_active_one_remains(app, admin_client, make_user):
    admin = _user(app, "admin@acme.test")
    old_id = make_user(admin.account_id, "old.admin@acme.test", role="admin", active=False)
    token = csrf_from(admin_client, "/admin/users")
    admin_client.post(
        f"/admin/users/{old_id}/role", data={"role": "supervisor", "csrf_token": token}
    )
    assert _user(app, "old.admin@acme.test").role == "supervisor"


def test_admin_cannot_deactivate_themself(app, admin_client):
    admin = _user(app, "admin@acme.test")
    token = csrf_from(admin_client, "/admin/users")
    response = admin_client.post(f"/admin/users/{admin.id}/active", data={"csrf_token": token})
    assert response.status_code == 302
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert "You cannot deactivate yourself; ask another admin." in _flashes(html)
    assert _user(app, "admin@acme.test").active


def test_other_admin_can_be_demoted_and_the_last_active_one_then_stays(
    app, admin_client, make_user
):
    admin = _user(app, "admin@acme.test")
    second = make_user(admin.account_id, "second@acme.test", role="admin")
    token = csrf_from(admin_client, "/admin/users")
    admin_client.post(
        f"/admin/users/{second}/role", data={"role": "supervisor", "csrf_token": token}
    )
    assert _user(app, "second@acme.test").role == "supervisor"
    admin_client.post(
        f"/admin/users/{admin.id}/role", data={"role": "supervisor", "csrf_token": token}
    )
    assert _user(app, "admin@acme.test").role == "admin"


def test_deactivated_user_cannot_log_in_and_can_be_reactivated(
    app, client, admin_client, make_user
):
    admin = _user(app, "admin@acme.test")
    user_id = make_user(admin.account_id, "sup@acme.test")
    token = csrf_from(admin_client, "/admin/users")
    assert (
        admin_client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token}).status_code
        == 302
    )
    assert _user(app, "sup@acme.test").active is False
    (entry,) = _audit(app, "user.active")
    assert entry.object_id == user_id and entry.details == {"active": False}

    other = app.test_client()
    response = login(other, "sup@acme.test")
    assert response.status_code == 401 and "deactivated" in response.get_data(as_text=True)

    admin_client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token})
    assert _user(app, "sup@acme.test").active is True
    assert login(other, "sup@acme.test").status_code == 302


def test_deactivating_a_logged_in_user_ends_their_session(app, admin_client, make_user):
    admin = _user(app, "admin@acme.test")
    user_id = make_user(admin.account_id, "sup@acme.test")
    supervisor = app.test_client()
    assert login(supervisor, "sup@acme.test").status_code == 302
    assert supervisor.get("/pools").status_code == 200
    token = csrf_from(admin_client, "/admin/users")
    admin_client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token})
    response = supervisor.get("/pools")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _queued_link(mail_queue, email):
    """The set-password link in the (only) queued email to ``email``."""
    (job,) = [j for j in mail_queue.get_jobs() if j.args[0] == [email]]
    to, subject, text, html, _delivery = job.args
    assert subject.startswith("Set your LeadApp password")
    match = re.search(r"http://localhost(/password/[A-Za-z0-9_\-]+)", text)
    assert match, text
    assert match.group(1) in html
    return match.group(1), job


def test_reset_password_sends_a_one_time_link_and_shows_no_password(
    app, admin_client, make_user, mail_queue
):
    admin = _user(app, "admin@acme.test")
    user_id = make_user(admin.account_id, "sup@acme.test")
    token = csrf_from(admin_client, "/admin/users")
    response = admin_client.post(f"/admin/users/{user_id}/password", data={"csrf_token": token})
    assert response.status_code == 302
    html = admin_client.get("/admin/users").get_data(as_text=True)
    (flash,) = _flashes(html)
    assert "a link to set a new one is on its way to sup@acme.test" in flash
    (entry,) = _audit(app, "user.password_reset")
    assert entry.object_id == user_id and entry.user_id == admin.id
    link, job = _queued_link(mail_queue, "sup@acme.test")
    assert job.kwargs["account_id"] == admin.account_id  # the outbox's account

    other = app.test_client()
    # The old password died with the reset.
    assert login(other, "sup@acme.test", PASSWORD).status_code == 401
    page = other.get(link)
    assert page.status_code == 200 and "sup@acme.test" in page.get_data(as_text=True)
    short = other.post(
        link, data={"password": "short", "confirm": "short", "csrf_token": csrf_from(other, link)}
    )
    assert short.status_code == 422
    assert "at least 8 characters" in short.get_data(as_text=True)
    differ = other.post(
        link,
        data={"password": NEW_PASSWORD, "confirm": "x", "csrf_token": csrf_from(other, link)},
    )
    assert differ.status_code == 422 and "The two passwords differ" in differ.get_data(as_text=True)
    done = other.post(
        link,
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_from(other, link),
        },
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert login(other, "sup@acme.test", NEW_PASSWORD).status_code == 302
    # Single use.
    again = app.test_client().get(link)
    assert again.status_code == 404
    assert "Ask an administrator of your account for a new one." in again.get_data(as_text=True)


def test_a_set_password_link_expires_and_only_the_newest_works(
    app, admin_client, make_user, mail_queue
):
    from leadapp.models.account import PasswordLink
    from leadapp.models.base import utcnow

    admin = _user(app, "admin@acme.test")
    user_id = make_user(admin.account_id, "sup@acme.test")
    url = f"/admin/users/{user_id}/password"
    admin_client.post(url, data={"csrf_token": csrf_from(admin_client, "/admin/users")})
    first, _ = _queued_link(mail_queue, "sup@acme.test")
    mail_queue.empty()
    admin_client.post(url, data={"csrf_token": csrf_from(admin_client, "/admin/users")})
    second, _ = _queued_link(mail_queue, "sup@acme.test")
    visitor = app.test_client()
    assert visitor.get(first).status_code == 404
    assert visitor.get(second).status_code == 200
    with app.app_context():
        link = db.session.scalar(sa.select(PasswordLink).where(PasswordLink.used_at.is_(None)))
        link.expires_at = utcnow()
        db.session.commit()
    assert visitor.get(second).status_code == 404
    for hostile in ("x" * 500, "%0d%0a", "..%2f..%2fetc"):
        assert visitor.get(f"/password/{hostile}").status_code == 404


def test_posts_without_csrf_token_change_nothing(app, admin_client, make_user, mail_queue):
    admin = _user(app, "admin@acme.test")
    user_id = make_user(admin.account_id, "sup@acme.test")
    before = _user(app, "sup@acme.test").password_hash
    response = admin_client.post(
        "/admin/users",
        data={"name": "N", "email": "n@acme.test", "role": "admin", "password": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert (
        admin_client.post(f"/admin/users/{user_id}/role", data={"role": "admin"}).status_code == 400
    )
    assert admin_client.post(f"/admin/users/{user_id}/active").status_code == 400
    assert admin_client.post(f"/admin/users/{user_id}/password").status_code == 400
    user = _user(app, "sup@acme.test")
    assert (user.role, user.active, user.password_hash) == ("supervisor", True, before)
    assert _user(app, "n@acme.test") is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == 0
    assert mail_queue.count == 0


def test_names_are_escaped_on_the_users_page(app, admin_client):
    response = _create(admin_client, name="<script>alert(1)</script>")
    assert response.status_code == 302
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _cookies(app, response) -> list[str]:
    """Every cookie ``response`` sets, decoded: the Flask session cookie's signed JSON as
    text, others as sent."""
    import json
    from http.cookies import SimpleCookie

    serializer = app.session_interface.get_signing_serializer(app)
    found = []
    for header in response.headers.getlist("Set-Cookie"):
        for name, morsel in SimpleCookie(header).items():
            value = morsel.value
            if name == app.config.get("SESSION_COOKIE_NAME", "session") and value:
                value = json.dumps(serializer.loads(value))
            found.append(f"{name}={value}")
    return found


def test_no_cookie_of_the_admin_pages_ever_holds_a_password(
    app, admin_client, make_user, mail_queue
):
    """Issue 16 item 2: every Set-Cookie of the users pages (create, role, deactivate,
    reset) and of the set-password link is decoded; no password is in any."""
    admin = _user(app, "admin@acme.test")
    user_id = make_user(admin.account_id, "sup@acme.test")
    secrets_seen = {NEW_PASSWORD, PASSWORD, "the password they chose"}
    cookies = []

    def call(client, method, url, **kwargs):
        response = client.open(url, method=method, **kwargs)
        assert response.status_code < 500, (url, response.status_code)
        cookies.extend(_cookies(app, response))
        return response

    token = csrf_from(admin_client, "/admin/users")
    call(admin_client, "GET", "/admin/users")
    call(
        admin_client,
        "POST",
        "/admin/users",
        data={
            "name": "Sam Agent",
            "email": "sam@acme.test",
            "role": "supervisor",
            "password": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    call(admin_client, "GET", "/admin/users")  # the flash is read from the cookie here
    data = {"csrf_token": token}
    call(admin_client, "POST", f"/admin/users/{user_id}/role", data={**data, "role": "admin"})
    call(admin_client, "POST", f"/admin/users/{user_id}/active", data=data)
    call(admin_client, "POST", f"/admin/users/{user_id}/active", data=data)
    call(admin_client, "POST", f"/admin/users/{user_id}/password", data=data)
    call(admin_client, "GET", "/admin/users")
    link, _job = _queued_link(mail_queue, "sup@acme.test")
    visitor = app.test_client()
    call(visitor, "GET", link)
    call(
        visitor,
        "POST",
        link,
        data={
            "password": "the password they chose",
            "confirm": "the password they chose",
            "csrf_token": csrf_from(visitor, link),
        },
    )
    call(visitor, "GET", "/login")
    assert len(cookies) >= 8 and any("_flashes" in c for c in cookies)
    for cookie in cookies:
        for secret in secrets_seen:
            assert secret not in cookie, cookie
        assert "New password" not in cookie


def test_a_set_password_link_opened_by_another_logged_in_user_is_refused_in_a_sentence(
    app, admin_client, make_account, make_user, mail_queue
):
    """Another account's user, logged in, opening (or posting to) the link got a 500: the
    request ran in their account and the password belongs to a user of another."""
    admin = _user(app, "admin@acme.test")
    user_id = make_user(admin.account_id, "sup@acme.test")
    admin_client.post(
        f"/admin/users/{user_id}/password",
        data={"csrf_token": csrf_from(admin_client, "/admin/users")},
    )
    link, _ = _queued_link(mail_queue, "sup@acme.test")
    make_account("beta")
    stranger = app.test_client()
    assert login(stranger, "admin@beta.test").status_code == 302
    page = stranger.get(link)
    assert page.status_code == 409
    assert "password: log out, then open it again" in page.get_data(as_text=True)
    posted = stranger.post(
        link,
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_from(stranger, "/pools"),
        },
    )
    assert posted.status_code == 409
    # The link still works for its owner.
    assert app.test_client().get(link).status_code == 200
