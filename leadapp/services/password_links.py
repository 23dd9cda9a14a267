"""One-time set-password links: an admin's password reset sends one instead of showing a
password (a password never passes through a page, a flash message or a cookie).

The link holds a random secret; only its SHA-256 is stored. It works once, until
``LINK_LIFETIME`` has passed, and only the newest link of a user works. Flush only."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import User
from leadapp.models.account import PasswordLink
from leadapp.models.base import utcnow
from leadapp.services import accounts, audit, user_sessions

LINK_LIFETIME = dt.timedelta(hours=24)
MAX_SECRET = 100  # a real secret is 43 characters; longer is not worth hashing


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def reset(user: User, admin: User) -> tuple[PasswordLink, str]:
    """An admin resets ``user``'s password: the old one stops working (replaced by a random
    one nobody knows), every session of the user ends, earlier links die, and a new link
    is made. Returns it and its secret (for the email only)."""
    accounts.reset_password(user)  # random and never shown: the old password is dead
    user_sessions.end_all(user)
    link, secret = issue(user, admin)
    audit.record(user.account_id, admin.id, "user.password_reset", user, link=link.id)
    return link, secret


def issue(user: User, admin: User) -> tuple[PasswordLink, str]:
    """A new set-password link of ``user`` (earlier unused ones die) and its secret."""
    _retire_links(user)
    secret = secrets.token_urlsafe(32)
    link = PasswordLink(
        account_id=user.account_id,
        user_id=user.id,
        secret_hash=_hash(secret),
        created_by_id=admin.id,
        expires_at=utcnow() + LINK_LIFETIME,
    )
    db.session.add(link)
    db.session.flush()
    return link, secret


def _retire_links(user: User) -> None:
    db.session.execute(
        sa.update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(all_accounts=True, synchronize_session="fetch")
    )


def find(secret: str | None) -> PasswordLink | None:
    """The unused, unexpired link with ``secret`` of an active user, else None."""
    if not secret or len(secret) > MAX_SECRET:
        return None
    try:
        digest = _hash(secret)
    except UnicodeEncodeError:
        return None
    link = db.session.scalar(
        sa.select(PasswordLink)
        .where(PasswordLink.secret_hash == digest)
        .execution_options(all_accounts=True)
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    user = db.session.scalar(
        sa.select(User).where(User.id == link.user_id).execution_options(all_accounts=True)
    )
    if user is None or not user.active:
        return None
    return link


def use(link: PasswordLink, password: str) -> User:
    """Set the link's user's password (``AccountError`` if the rules refuse it), use the
    link up, and end every session of the user."""
    user = db.session.scalar(
        sa.select(User).where(User.id == link.user_id).execution_options(all_accounts=True)
    )
    accounts.reset_password(user, password)
    link.used_at = utcnow()
    user_sessions.end_all(user)
    db.session.flush()
    audit.record(user.account_id, user.id, "user.password_set", user, link=link.id)
    return user
