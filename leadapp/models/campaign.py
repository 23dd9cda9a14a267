"""Projects and their outbound campaigns."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import AccountScoped, Timestamped, db


class Project(AccountScoped, Timestamped, db.Model):
    __tablename__ = "projects"
    __table_args__ = (sa.UniqueConstraint("account_id", "name", name="uq_projects_account_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    campaigns: Mapped[list[Campaign]] = relationship(back_populates="project")


class Campaign(AccountScoped, Timestamped, db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "name", name="uq_campaigns_account_name"),
        sa.UniqueConstraint("account_id", "api_code", name="uq_campaigns_account_api_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(120))
    api_code: Mapped[str] = mapped_column(sa.String(60))
    purpose: Mapped[str] = mapped_column(sa.String(60), default="sales")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="America/Los_Angeles")
    default_region: Mapped[str] = mapped_column(sa.String(2), default="US")
    # Calling window in the lead's own local time (TCPA: 8 am to 9 pm).
    window_start: Mapped[dt.time] = mapped_column(default=dt.time(8, 0))
    window_end: Mapped[dt.time] = mapped_column(default=dt.time(21, 0))
    # Hours per weekday, stricter state hours and holidays off
    # (leadapp.domain.calling_hours.calling_hours); None: the window every day, the
    # shipped state table, public holidays off.
    calling_hours: Mapped[dict | None] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    # Share the dialing among to-dial pools by their weights (else pools dial in order).
    weighting: Mapped[bool] = mapped_column(default=True)
    # Duplicate rules for leads created through the API (same keys as an import's options).
    api_duplicate_options: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    project: Mapped[Project] = relationship(back_populates="campaigns")
