"""Accounts (tenants) and their users."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .base import AccountScoped, Timestamped, db, enum

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
