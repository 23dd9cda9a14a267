"""Accounts, users and campaigns."""

from __future__ import annotations

import re
import secrets
import zoneinfo

import phonenumbers
import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from leadapp.domain.fields import STANDARD_FIELDS
from leadapp.extensions import db
from leadapp.models import ROLES, Account, Campaign, FieldDefinition, LeadPool, User
from leadapp.services import wrap_codes

INACTIVE_POOL_NAME = "Inactive"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
NAME_MAX = 120


class AccountError(ValueError):
    """A request the account rules refuse; the message is meant for the person asking."""


def _check_timezone(zone: str) -> str:
    if zone not in zoneinfo.available_timezones():
        raise AccountError(f"'{zone}' is not a time zone name; use one like America/New_York.")
    return zone


def _check_region(region: str) -> str:
    region = region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise AccountError(f"'{region}' is not a phone region; use a two-letter code like US.")
    return region


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password needs at least {MIN_PASSWORD} characters.")
    return password


def _check_length(value: str, what: str, limit: int = NAME_MAX) -> str:
    # The columns hold ``limit`` characters; PostgreSQL would refuse more with a crash.
    if len(value) > limit:
        raise AccountError(f"The {what} can have at most {limit} characters.")
    return value


def normalise_email(email: str) -> str:
    email = _check_length((email or "").strip().lower(), "email address", 254)
    if not EMAIL_RE.match(email):
        raise AccountError(f"'{email}' is not an email address.")
    return email


def create_account(
    name: str,
    slug: str,
    admin_email: str,
    password: str,
    region: str = "US",
    timezone: str = "America/Los_Angeles",
    admin_name: str | None = None,
) -> Account:
    """A new account, its first admin, its system Inactive pool and its standard fields."""
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise AccountError(
            "The slug must be 3 to 60 lower-case letters, digits or dashes, like acme-sales."
        )
    if db.session.scalar(sa.select(Account.id).where(Account.slug == slug)):
        raise AccountError(f"An account with the slug '{slug}' already exists.")
    account = Account(
        name=_check_length(name.strip(), "account name") or slug,
        slug=slug,
        default_region=_check_region(region),
        timezone=_check_timezone(timezone),
    )
    db.session.add(account)
    db.session.flush()
    create_user(account, admin_email, admin_name or "Administrator", password, role="admin")
    db.session.add(
        LeadPool(
            account_id=account.id,
            name=INACTIVE_POOL_NAME,
            description="Leads moved here by the Lead Deduplicator. System pool.",
            status="inactive",
            is_system=True,
        )
    )
    for position, field in enumerate(STANDARD_FIELDS):
        db.session.add(
            FieldDefinition(
                account_id=account.id,
                key=field.key,
                label=field.label,
                type=field.type,
                required=field.required,
                unique=field.unique,
                max_length=field.max_length,
                is_standard=True,
                position=position,
            )
        )
    db.session.flush()
    wrap_codes.seed_defaults(account.id)
    return account


def create_user(
    account: Account, email: str, name: str, password: str, role: str = "supervisor"
) -> User:
    """A user of ``account``; emails are unique across all accounts (they are the login)."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
    exists = db.session.scalar(
        sa.select(User.id).where(User.email == email).execution_options(all_accounts=True)
    )
    if exists:
        raise AccountError(f"A user with the email {email} already exists.")
    name = _check_length(name.strip(), "user's name") or email
    user = User(account_id=account.id, email=email, name=name, role=role)
    user.set_password(_check_password(password), _hash_method())
    db.session.add(user)
    db.session.flush()
    return user


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


# Per hash method, the hash of a password nobody has: checked when no user has the email.
_NOBODY: dict[str, str] = {}


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None. An email without a user costs a
    password check too, so how long the refusal takes does not tell which emails exist."""
    user = db.session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        method = _hash_method()
        if method not in _NOBODY:
            _NOBODY[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
        check_password_hash(_NOBODY[method], password)
        return None
    return user if user.check_password(password) else None


def set_role(user: User, role: str, acting: User) -> None:
    """Admins change roles; nobody can take away the account's last active admin."""
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
    if user.role == "admin" and role != "admin" and user.active:
        # Demoting an inactive admin leaves the number of active admins as it is.
        _keep_an_admin(user)
    user.role = role
    db.session.flush()


def set_active(user: User, active: bool, acting: User) -> None:
    if not active and user.id == acting.id:
        raise AccountError("You cannot deactivate yourself; ask another admin.")
    if not active and user.role == "admin":
        _keep_an_admin(user)
    user.active = active
    db.session.flush()


def reset_password(user: User, password: str | None = None) -> str:
    """Set a new password (a random one when none is given) and return it."""
    password = password or secrets.token_urlsafe(9)
    user.set_password(_check_password(password), _hash_method())
    db.session.flush()
    return password


def _keep_an_admin(user: User) -> None:
    admins = db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.account_id == user.account_id, User.role == "admin", User.active.is_(True)
        )
    )
    if admins <= 1:
        raise AccountError("An account needs at least one active admin; promote another first.")


def account_by_slug(slug: str) -> Account:
    account = db.session.scalar(sa.select(Account).where(Account.slug == slug))
    if account is None:
        raise AccountError(f"No account has the slug '{slug}'; see `flask accounts list`.")
    return account


def create_campaign(
    account: Account,
    name: str,
    project: str = "Default",
    purpose: str = "sales",
    region: str | None = None,
    timezone: str | None = None,
    zone_outside_region: bool = False,
) -> Campaign:
    """A campaign in ``project`` (created when new); region defaults to the account's, and
    the zone follows the region (``campaigns.campaign_zone``).

    Kept for the CLI, the demo data and the import tests; the campaign rules live in
    ``leadapp.services.campaigns``."""
    from leadapp.services import campaigns  # it builds on this module's checks

    return campaigns.create_campaign(
        account,
        name,
        project=(project or "").strip() or "Default",
        purpose=purpose,
        region=region,
        timezone=timezone,
        zone_outside_region=zone_outside_region,
    )
