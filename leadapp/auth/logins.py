"""Logging in and out on top of Flask-Login, with sessions that can be ended
(``leadapp.services.user_sessions``).

Flask-Login keeps the user id in the signed session cookie; this module adds the session's
own ``<row id>:<secret>`` beside it (``SESSION_KEY``) and checks it on every request, and
replaces Flask-Login's remember cookie (``user_id|HMAC``: the same at every login, valid
for a year, surviving logout) with its own: random, stored hashed, replaced at each use."""

from __future__ import annotations

from flask import current_app, g, request, session
from flask_login import login_user, logout_user

from leadapp.extensions import db
from leadapp.models import User
from leadapp.services import user_sessions

SESSION_KEY = "_login"
REMEMBER_COOKIE = "remember_token"


def client_address() -> str:
    return request.remote_addr or ""


def log_in(user: User, remember: bool) -> None:
    """Start a new session of ``user`` in this browser (the caller commits)."""
    session.clear()  # nothing of an earlier login (or an attacker's fixed session) stays
    row, value, remember_value = user_sessions.start(
        user, remember, client_address(), request.headers.get("User-Agent", "")
    )
    login_user(user, remember=False)  # Flask-Login's own remember cookie is never set
    session[SESSION_KEY] = value
    g.user_session = row
    g.set_remember = remember_value or ""


def log_out() -> None:
    """End this browser's session (the caller commits)."""
    row = g.get("user_session")
    if row is not None:
        user_sessions.end(row)
    logout_user()
    session.pop(SESSION_KEY, None)
    g.set_remember = ""


def current_session():
    """This request's ``UserSession`` row, or None."""
    return g.get("user_session")


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user only while the session cookie names a live
    session of theirs (a copied cookie dies with its session)."""
    if not user_id.isdigit():
        return None
    row = user_sessions.check(session.get(SESSION_KEY), int(user_id))
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    g.user_session = row
    if user_sessions.touch(row):
        g.session_changed = True  # committed before the view runs
    return user


def load_remembered(_request) -> User | None:
    """Flask-Login's request loader: a browser without a session whose remember cookie
    names a live session gets a new session secret and a new remember cookie."""
    value = request.cookies.get(REMEMBER_COOKIE)
    if not value:
        return None
    found = user_sessions.remembered(value, client_address())
    if found is None:
        g.set_remember = ""  # unknown, replaced or ended: the browser forgets it
        return None
    row, session_value, remember_value = found
    user = db.session.get(User, row.user_id)
    session["_user_id"] = str(user.id)
    session["_fresh"] = False
    session[SESSION_KEY] = session_value
    g.user_session = row
    g.set_remember = remember_value
    g.session_changed = True
    return user


def set_remember_cookie(response):
    """After a request that started, used or ended a remember cookie: set or delete it."""
    value = g.pop("set_remember", None)
    if value is None:
        return response
    config = current_app.config
    options = {
        "path": "/",
        "secure": config["REMEMBER_COOKIE_SECURE"],
        "httponly": True,
        "samesite": "Lax",
    }
    if value:
        max_age = int(user_sessions.REMEMBER_FOR.total_seconds())
        response.set_cookie(REMEMBER_COOKIE, value, max_age=max_age, **options)
    elif REMEMBER_COOKIE in request.cookies:
        response.delete_cookie(REMEMBER_COOKIE, **options)
    return response
