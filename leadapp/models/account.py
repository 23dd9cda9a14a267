"""Accounts (tenants) and their users."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .base import AccountScoped, Timestamped, db, enum, utcnow

ROLES = ("admin", "supervisor")


class Account(Timestamped, db.Model):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    # "PST" of the dedup completion dates; every date shown to the account uses it.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="America/Los_Angeles")
    default_region: Mapped[str] = mapped_column(sa.String(2), default="US")

    users: Mapped[list[User]] = relationship(back_populates="account")

    def __repr__(self) -> str:
        return f"<Account {self.slug}>"


class User(UserMixin, AccountScoped, Timestamped, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(enum(*ROLES, name="user_role"), default="supervisor")
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    # Per-user display settings, e.g. {"lead_columns": [...]} (the leads column chooser).
    preferences: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    account: Mapped[Account] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserSession(AccountScoped, db.Model):
    """One login of a user (a browser), live until logged out, ended or expired.

    The browser holds the session's secret in its (signed) session cookie and, if it asked
    to stay logged in, a second secret in the remember cookie; only their SHA-256 are kept
    here. Every request checks its session's row, so ending the row ends the login at once,
    whatever copies of the cookies exist."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Stay logged in: the remember cookie's secret, replaced each time it is used; the
    # one before stays good for a few seconds (tabs restored together all send it).
    remember_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    previous_remember_hash: Mapped[str | None] = mapped_column(sa.String(64))
    remember_rotated_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # Shown on the sessions page so people recognise their browsers.
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")

    user: Mapped[User] = relationship()


class PasswordLink(AccountScoped, db.Model):
    """A one-time link that lets a user set their own password (an admin's reset sends it
    by email): only the SHA-256 of its secret is kept; it expires and works once."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
