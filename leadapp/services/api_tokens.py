"""Per-user API tokens for ``/api/v1``: created and revoked in the UI, hashed at rest.

A token reads ``la_`` + 43 random URL-safe characters. Only its SHA-256 is stored; the
first 11 characters (``la_XXXXXXXX``) are kept as ``prefix`` so people can tell their
tokens apart. The plaintext exists once, in the answer to the create request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from leadapp.domain.names import clean_name
from leadapp.extensions import db
from leadapp.models import ApiToken, User
from leadapp.models.base import utcnow
from leadapp.models.compliance import LEGACY_SCOPES, TOKEN_SCOPES
from leadapp.services import audit

TOKEN_PREFIX = "la_"  # noqa: S105 (a label, not a secret)
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
NAME_MAX = 120
# A real token is 46 characters; anything much longer is not worth hashing.
MAX_TOKEN_LENGTH = 200
# ``last_used_at`` is written at most this often, so busy scripts do not write every call.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
# Lifetimes a new token may be given, in days (None: until revoked).
EXPIRY_CHOICES = (None, 30, 90, 365)


class ApiTokenError(ValueError):
    """A token request the rules refuse; the message is one sentence for the user."""


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_token(
    user: User,
    name: str,
    scopes: list[str] | None = None,
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """A new token of ``user`` named ``name`` that may do ``scopes`` (default: read, write
    leads, record outcomes) until revoked or, with ``expires_in_days``, until then; returns
    it and its plaintext (shown once). A token gets only scopes its user's role may use."""
    from leadapp.api.scopes import scopes_for_role  # the API package owns the rule

    name = clean_name(name)
    if not name:
        raise ApiTokenError("Give the token a name, e.g. the script or CRM that will use it.")
    if len(name) > NAME_MAX:
        raise ApiTokenError(f"The token name can be at most {NAME_MAX} characters long.")
    if not user.active:
        raise ApiTokenError("A deactivated user cannot have API tokens.")
    chosen = list(LEGACY_SCOPES.split()) if scopes is None else list(dict.fromkeys(scopes))
    if not chosen:
        raise ApiTokenError("Choose at least one thing the token may do.")
    unknown = [s for s in chosen if s not in TOKEN_SCOPES]
    if unknown:
        raise ApiTokenError(f"“{unknown[0][:40]}” is not a token scope; choose from the list.")
    allowed = scopes_for_role(user.role)
    refused = [s for s in chosen if s not in allowed]
    if refused:
        raise ApiTokenError(f"A {user.role}'s token cannot have the “{refused[0]}” scope.")
    if expires_in_days not in EXPIRY_CHOICES:
        raise ApiTokenError("Choose how long the token works from the list.")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        account_id=user.account_id,
        user_id=user.id,
        name=name,
        prefix=plaintext[:PREFIX_LENGTH],
        token_hash=hash_token(plaintext),
        scopes=" ".join(s for s in TOKEN_SCOPES if s in chosen),
        expires_at=(utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        user.account_id,
        user.id,
        "api_token.create",
        token,
        name=name,
        prefix=token.prefix,
        scopes=token.scopes,
        expires_at=token.expires_at.isoformat() if token.expires_at else None,
    )
    return token, plaintext


def can_manage(token: ApiToken, user: User) -> bool:
    """Users manage their own tokens; admins every token of their account."""
    if token.account_id != user.account_id:
        return False
    return token.user_id == user.id or user.is_admin


def revoke(token: ApiToken, acting_user: User) -> None:
    """Revoke ``token`` for good (revoking a revoked token changes nothing)."""
    if not can_manage(token, acting_user):
        raise ApiTokenError("You can revoke only your own tokens; ask an admin for others.")
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record(
        token.account_id,
        acting_user.id,
        "api_token.revoke",
        token,
        name=token.name,
        prefix=token.prefix,
        owner_id=token.user_id,
    )


def tokens_for(user: User, everyone: bool = False) -> list[ApiToken]:
    """``user``'s tokens, or (``everyone``, admins only) all tokens of the account."""
    query = sa.select(ApiToken).where(ApiToken.account_id == user.account_id)
    if not (everyone and user.is_admin):
        query = query.where(ApiToken.user_id == user.id)
    return list(
        db.session.scalars(
            query.order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
        )
    )


def authenticate(plaintext: str | None) -> User | None:
    """The active user owning the live token ``plaintext``, else None."""
    token = authenticate_token(plaintext)
    return token.user if token is not None else None


def authenticate_token(plaintext: str | None) -> ApiToken | None:
    """The live (not revoked, not expired) token ``plaintext`` of an active user, else None.

    The lookup is by the token's SHA-256, so the database never compares the secret
    itself; the found hash is compared again in constant time. Flushes ``last_used_at``
    (at most once a minute); the caller commits."""
    if not plaintext or len(plaintext) > MAX_TOKEN_LENGTH:
        return None
    try:
        digest = hash_token(plaintext)
    except UnicodeEncodeError:
        return None
    # The request is not bound to an account yet: this is the lookup that decides it. The
    # token and its user in one statement (every API request runs it).
    row = db.session.execute(
        sa.select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
        .execution_options(all_accounts=True)
    ).first()
    if row is None:
        return None
    token, user = row
    if not hmac.compare_digest(token.token_hash, digest):
        return None
    now = utcnow()
    if token.revoked_at is not None or token.expired(now):
        return None
    if not user.active or user.account_id != token.account_id:
        return None
    # ``token.user`` is this user (no second read; the session holds objects weakly).
    set_committed_value(token, "user", user)
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        token.last_used_at = now
        db.session.flush()
    return token
