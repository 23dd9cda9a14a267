"""Failed-login limits: per client address and email (one account is not guessed at), and
per client address across emails (one address does not spray a password over many
accounts). When an email is locked, its owner is told by email (at most once an hour).

The client address is ``request.remote_addr``: the proxy's own address unless the request
came through a proxy named in ``TRUSTED_PROXIES`` (``leadapp.security.TrustedProxies``)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app, request, url_for
from limits import RateLimitItemPerHour

from leadapp.extensions import db, limiter
from leadapp.models import User
from leadapp.tasks import QueueUnavailable

log = logging.getLogger(__name__)

EMAIL_LOCKED = "Too many failed logins. Wait a few minutes, then try again."
ADDRESS_LOCKED = (
    "Too many failed logins from your network. Wait a few minutes, then try again, "
    "or ask your administrator."
)
NOTICE_EVERY = RateLimitItemPerHour(1)


def _email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def address_key() -> str:
    return request.remote_addr or "unknown"


def email_key() -> str:
    return f"{address_key()}|{_email()}"


def email_locked(_limit) -> None:
    """An email's failed logins from one address passed the limit: tell its owner, once an
    hour at most, that logins are paused and what to do if it was not them."""
    email = _email()
    if not email or not limiter.limiter.hit(NOTICE_EVERY, "login-locked-notice", email):
        return None
    user = db.session.scalar(
        sa.select(User).where(User.email == email).execution_options(all_accounts=True)
    )
    if user is None or not user.active:
        return None
    from leadapp.services.mail import queue_email
    from leadapp.services.results_emails import public_url

    try:
        queue_email(
            user.email,
            "login_locked",
            account_id=user.account_id,
            name=user.name,
            address=address_key(),
            # This request is the attacker's: its Host header must not make the link.
            login_url=public_url(url_for("auth.login")) if current_app.config["PUBLIC_URL"] else "",
        )
    except QueueUnavailable:
        log.warning("the login-locked notice to user %s could not be queued", user.id)
    return None
