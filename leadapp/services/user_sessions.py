"""Logins that can be ended: one ``UserSession`` row per logged-in browser.

The browser's session cookie carries ``<row id>:<secret>``, and — when it asked to stay
logged in — its remember cookie another ``<row id>:<secret>``; only SHA-256 hashes of the
secrets are stored. Every request checks its row: a logout, "log out everywhere", a password
change or reset, a deactivation or a role change ends the rows, and every copy of the
cookies stops working at once. A remember secret is replaced each time it starts a new
browser session (the one before it stays good for ``REMEMBER_GRACE``, as tabs restored
together all send it). Flush only; the request commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa

from leadapp.domain.names import clean_name
from leadapp.extensions import db
from leadapp.models import User
from leadapp.models.account import UserSession
from leadapp.models.base import is_id, utcnow

# A browser session without "keep me logged in" ends after this long without a request.
IDLE_LIMIT = dt.timedelta(hours=12)
# "Keep me logged in" lasts this long from the last time the remember cookie was used.
REMEMBER_FOR = dt.timedelta(days=30)
REMEMBER_GRACE = dt.timedelta(seconds=30)
# Ended and expired sessions are kept this long (an audit of recent logins), then deleted.
KEEP_ENDED = dt.timedelta(days=30)
# ``last_seen_at`` (and an idle session's expiry) is written at most this often.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _split(value: str | None) -> tuple[int, str] | None:
    """``<row id>:<secret>`` as (id, secret), or None for anything else."""
    if not value or not isinstance(value, str) or len(value) > 200:
        return None
    ident, sep, secret = value.partition(":")
    if not sep or not ident.isdigit() or len(ident) > 10 or not secret:
        return None
    row_id = int(ident)
    return (row_id, secret) if is_id(row_id) else None


def _row(row_id: int) -> UserSession | None:
    # Before the request is bound to an account: this lookup decides the account.
    return db.session.scalar(
        sa.select(UserSession).where(UserSession.id == row_id).execution_options(all_accounts=True)
    )


def _user(user_id: int) -> User | None:
    return db.session.scalar(
        sa.select(User).where(User.id == user_id).execution_options(all_accounts=True)
    )


def start(
    user: User, remember: bool, ip_address: str = "", user_agent: str = ""
) -> tuple[UserSession, str, str | None]:
    """A new login of ``user``: the row, the session cookie's value and (with ``remember``)
    the remember cookie's value. The user's sessions that ended or expired more than
    ``KEEP_ENDED`` ago are deleted (the sessions page shows only live ones)."""
    now = utcnow()
    db.session.execute(
        sa.delete(UserSession)
        .where(
            UserSession.user_id == user.id,
            sa.or_(
                UserSession.ended_at < now - KEEP_ENDED, UserSession.expires_at < now - KEEP_ENDED
            ),
        )
        .execution_options(all_accounts=True, synchronize_session=False)
    )
    secret = secrets.token_urlsafe(32)
    remember_secret = secrets.token_urlsafe(32) if remember else None
    row = UserSession(
        account_id=user.account_id,
        user_id=user.id,
        secret_hash=_hash(secret),
        remember_hash=_hash(remember_secret) if remember_secret else None,
        remember_rotated_at=now if remember_secret else None,
        expires_at=now + (REMEMBER_FOR if remember else IDLE_LIMIT),
        created_at=now,
        last_seen_at=now,
        ip_address=clean_name(ip_address, 45),
        user_agent=clean_name(user_agent, 200),
    )
    db.session.add(row)
    db.session.flush()
    remember_value = f"{row.id}:{remember_secret}" if remember_secret else None
    return row, f"{row.id}:{secret}", remember_value


def _live(row: UserSession | None, now: dt.datetime) -> bool:
    return row is not None and row.ended_at is None and row.expires_at > now


def check(value: str | None, user_id: int) -> UserSession | None:
    """The live session of user ``user_id`` named by the session cookie's ``value``, else
    None."""
    parts = _split(value)
    if parts is None:
        return None
    row_id, secret = parts
    now = utcnow()
    row = _row(row_id)
    if not _live(row, now) or row.user_id != user_id:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    return row


def touch(row: UserSession, now: dt.datetime | None = None) -> bool:
    """Note that ``row`` was used now (at most once a minute); an idle session (no
    remember) lives on for ``IDLE_LIMIT`` from here. Returns whether it wrote."""
    now = now or utcnow()
    if now - row.last_seen_at < TOUCH_INTERVAL:
        return False
    row.last_seen_at = now
    if row.remember_hash is None:
        row.expires_at = now + IDLE_LIMIT
    db.session.flush()
    return True


def remembered(value: str | None, ip_address: str = "") -> tuple[UserSession, str, str] | None:
    """A browser comes back with its remember cookie ``value``: the session it belongs to
    with a new session secret and a new remember secret (the old one is replaced), or
    None when the cookie is unknown, replaced long ago, ended or expired, or its user is
    deactivated."""
    parts = _split(value)
    if parts is None:
        return None
    row_id, secret = parts
    now = utcnow()
    row = _row(row_id)
    if not _live(row, now) or row.remember_hash is None:
        return None
    digest = _hash(secret)
    current = hmac.compare_digest(row.remember_hash, digest)
    previous = (
        row.previous_remember_hash is not None
        and hmac.compare_digest(row.previous_remember_hash, digest)
        and row.remember_rotated_at is not None
        and now - row.remember_rotated_at <= REMEMBER_GRACE
    )
    if not (current or previous):
        return None
    user = _user(row.user_id)
    if user is None or not user.active:
        return None
    new_secret = secrets.token_urlsafe(32)
    new_remember = secrets.token_urlsafe(32)
    row.secret_hash = _hash(new_secret)
    row.previous_remember_hash = row.remember_hash
    row.remember_hash = _hash(new_remember)
    row.remember_rotated_at = now
    row.last_seen_at = now
    row.expires_at = now + REMEMBER_FOR
    if ip_address:
        row.ip_address = clean_name(ip_address, 45)
    db.session.flush()
    return row, f"{row.id}:{new_secret}", f"{row.id}:{new_remember}"


def end(row: UserSession) -> None:
    """End one session (logout, or the user ends it on the sessions page)."""
    if row.ended_at is None:
        row.ended_at = utcnow()
        db.session.flush()


def end_all(user: User, keep: UserSession | None = None) -> int:
    """End every live session of ``user`` (but ``keep``); returns how many ended. For
    "log out everywhere", a password change or reset, a deactivation, a role change."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    result = db.session.execute(
        query.values(ended_at=utcnow()).execution_options(
            all_accounts=True, synchronize_session="fetch"
        )
    )
    db.session.flush()
    return result.rowcount or 0


def live_sessions(user: User) -> list[UserSession]:
    """``user``'s sessions that still work, the most recently used first."""
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.expires_at > utcnow(),
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def own_session(user: User, row_id: int) -> UserSession | None:
    """``user``'s session ``row_id`` (None for another user's, even in the account)."""
    row = db.session.get(UserSession, row_id) if is_id(row_id) else None
    return row if row is not None and row.user_id == user.id else None
