"""Leads and the calls (interactions) made on them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadapp.domain.calling_hours import lead_zone_key, parse_zone_key

from .base import AccountScoped, Timestamped, db, enum, utcnow

LEAD_SOURCES = ("outbound", "inbound", "web", "api", "manual")
LEAD_STATUSES = ("open", "closed", "removed", "inactive")
DNC_REASONS = ("number", "copy", "hand")
DIRECTIONS = ("inbound", "outbound")
PHONE_SLOTS = 5
# "Never": the next callable time of a lead not yet dialled (every lead has one, so the
# dial queue's index can compare it without a NULL case).
NEVER_DIALLED = dt.datetime(1970, 1, 1)
# A lead that waits for a time at all (leased or recycling since it was called): past the
# day of NEVER_DIALLED, written as text so SQLite's stored '1970-01-01 00:00:00.000000'
# compares below it too.
CALLED_SINCE = "next_call_at > '1970-01-02'"


def _dialable(dialect: str) -> sa.TextClause:
    false = "0" if dialect == "sqlite" else "false"
    return sa.text(f"status = 'open' AND completed = {false} AND do_not_call = {false}")


def _dial_index(name: str, *columns: str) -> sa.Index:
    """An index of the dial queue: only leads that can be dialled at all (open, not
    completed, not do-not-call); the queue's own conditions read its trailing columns
    without visiting the table."""
    return sa.Index(
        name,
        *columns,
        postgresql_where=_dialable("postgresql"),
        sqlite_where=_dialable("sqlite"),
    )


def _where_present(name: str, column: str) -> sa.Index:
    """An index on (account, ``column``) holding only the leads that have that column."""
    present = f"{column} IS NOT NULL"
    return sa.Index(
        name,
        "account_id",
        column,
        postgresql_where=sa.text(present),
        sqlite_where=sa.text(present),
    )


class Lead(AccountScoped, Timestamped, db.Model):
    __tablename__ = "leads"
    __table_args__ = (
        # The lead's pool is of the lead's own account, checked once per row (the lead
        # goes when its pool or account goes: accounts cascade to pools, pools to leads).
        sa.ForeignKeyConstraint(
            ["account_id", "pool_id"],
            ["lead_pools.account_id", "lead_pools.id"],
            ondelete="CASCADE",
        ),
        # Duplicate search at upload and in the Lead Deduplicator runs on these.
        sa.Index("ix_leads_account_phone1", "account_id", "phone1"),
        sa.Index("ix_leads_pool_status", "pool_id", "status"),
        # The pool page's first leads in dial order: one step down this index, not a sort
        # of the whole pool.
        sa.Index("ix_leads_pool_dial_order", "pool_id", "dial_order", "id"),
        # Partial: a lead without that key is never looked up by it, and many lists carry
        # no email or customer key at all. A lead gets no entry for an empty key, which
        # every import and every move of a lead to another pool would otherwise write.
        # A phone typed in a search or added to the do-not-call list may be any of the five.
        _where_present("ix_leads_account_email", "email_key"),
        _where_present("ix_leads_account_customer_key", "customer_key"),
        *(_where_present(f"ix_leads_account_phone{i}", f"phone{i}") for i in range(2, 6)),
        # "Callable now" and the dial queue select leads by the few calling-hours keys
        # whose hours are open (services/calling_hours.py).
        sa.Index("ix_leads_account_zone_key", "account_id", "zone_key"),
        # The dial queue (issue 18): per pool and zone key, in dial order (file order) or
        # fewest attempts first; callbacks by their time.
        _dial_index(
            "ix_leads_dial_file",
            "pool_id",
            "zone_key",
            "dial_order",
            "id",
            "next_call_at",
            "dial_attempts",
        ),
        _dial_index(
            "ix_leads_dial_attempts",
            "pool_id",
            "zone_key",
            "dial_attempts",
            "dial_order",
            "id",
            "next_call_at",
        ),
        # A list's last activity (the pool grid's column and sort): the latest call per
        # pool is one step down this index instead of a read of every lead.
        sa.Index(
            "ix_leads_pool_last_called",
            "pool_id",
            "last_called_at",
            postgresql_where=sa.text("last_called_at IS NOT NULL"),
            sqlite_where=sa.text("last_called_at IS NOT NULL"),
        ),
        sa.Index(
            "ix_leads_callbacks",
            "pool_id",
            "callback_at",
            postgresql_where=sa.text("callback_at IS NOT NULL"),
            sqlite_where=sa.text("callback_at IS NOT NULL"),
        ),
        # "Ready to dial" less the leads waiting for a time (services/pool_ready.py): per
        # pool, the dialable leads leased or recycling until after now are one range of
        # this index. Leads never called (or given back) wait for nothing and are not in
        # it, so imports write no entry.
        sa.Index(
            "ix_leads_pool_next_call",
            "pool_id",
            "next_call_at",
            postgresql_where=sa.text(f"{_dialable('postgresql').text} AND {CALLED_SINCE}"),
            sqlite_where=sa.text(f"{_dialable('sqlite').text} AND {CALLED_SINCE}"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: every index above starts with account_id (or pool_id), and each
    # one more slows every bulk import.
    account_id: Mapped[int] = mapped_column(nullable=False)
    pool_id: Mapped[int]
    import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("imports.id", ondelete="SET NULL"))
    customer_key: Mapped[str | None] = mapped_column(sa.String(120))
    first_name: Mapped[str | None] = mapped_column(sa.String(120))
    last_name: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    # Lower-cased, trimmed email: the match key, kept apart from what the file said.
    email_key: Mapped[str | None] = mapped_column(sa.String(254))
    # Phones in E.164, next to the text as received.
    phone1: Mapped[str | None] = mapped_column(sa.String(20))
    phone2: Mapped[str | None] = mapped_column(sa.String(20))
    phone3: Mapped[str | None] = mapped_column(sa.String(20))
    phone4: Mapped[str | None] = mapped_column(sa.String(20))
    phone5: Mapped[str | None] = mapped_column(sa.String(20))
    phone1_raw: Mapped[str | None] = mapped_column(sa.String(64))
    phone2_raw: Mapped[str | None] = mapped_column(sa.String(64))
    phone3_raw: Mapped[str | None] = mapped_column(sa.String(64))
    phone4_raw: Mapped[str | None] = mapped_column(sa.String(64))
    phone5_raw: Mapped[str | None] = mapped_column(sa.String(64))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    # Where the zone came from: field, rule, postal, state, number, default; "several"
    # when the number spans zones and nothing narrowed them.
    timezone_source: Mapped[str | None] = mapped_column(sa.String(20))
    # Why the zone is unsure, for a supervisor ("zones disagree: number says X, address
    # says Y"); empty when the evidence agrees.
    timezone_note: Mapped[str | None] = mapped_column(sa.String(200))
    # What the calling hours depend on: the zones the lead may be in, its country and
    # state (leadapp.domain.calling_hours.zone_key); None: the campaign's default zone.
    zone_key: Mapped[str | None] = mapped_column(sa.String(255))
    state: Mapped[str | None] = mapped_column(sa.String(64))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    source: Mapped[str] = mapped_column(enum(*LEAD_SOURCES, name="lead_source"), default="outbound")
    status: Mapped[str] = mapped_column(enum(*LEAD_STATUSES, name="lead_status"), default="open")
    completed: Mapped[bool] = mapped_column(default=False)
    do_not_call: Mapped[bool] = mapped_column(default=False)
    # Why the lead is do-not-call (empty when it is not): "number" (one of its own numbers
    # is on the list), "copy" (inherited from a duplicate the Lead Deduplicator moved) or
    # "hand" (set on the lead itself). Each cause is cleared by its own undoing: a number
    # leaving the list clears "number" and then "copy" whose copies are all clear again.
    dnc_reason: Mapped[str | None] = mapped_column(sa.String(10))
    dial_order: Mapped[int] = mapped_column(default=0)
    last_called_at: Mapped[dt.datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(sa.String(60))
    wrap_code: Mapped[str | None] = mapped_column(sa.String(60))
    # Set with a callback wrap code: when the lead should be called again.
    callback_at: Mapped[dt.datetime | None]
    call_count: Mapped[int] = mapped_column(default=0)
    # The dial queue's state: outbound attempts made, when the lead may be called again
    # (the recycle delay after its last outcome, or the end of its lease), and the agent
    # whose callback it is.
    dial_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_call_at: Mapped[dt.datetime] = mapped_column(
        default=NEVER_DIALLED, server_default=sa.text("'1970-01-01 00:00:00'")
    )
    callback_agent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    custom: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    pool = relationship("LeadPool")
    interactions: Mapped[list[Interaction]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="Interaction.at.desc()"
    )

    @property
    def phones(self) -> list[str]:
        return [p for p in (getattr(self, f"phone{i}") for i in range(1, 6)) if p]

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or "(no name)"


def _name_prefix_index(column) -> sa.Index:
    """An index on (account, lower-cased ``column``) for the quick search by name prefix
    (services/lead_search.py): the names that start with "smi" are one range of it. On
    PostgreSQL its entries are ordered code point by code point (``text_pattern_ops``),
    whatever the database's collation, so the range holds exactly those names."""
    folded = f"{column.key}_folded"
    return sa.Index(
        f"ix_leads_account_{column.key}",
        Lead.account_id,
        sa.func.lower(column).label(folded),
        postgresql_ops={folded: "text_pattern_ops"},
    )


_name_prefix_index(Lead.first_name)
_name_prefix_index(Lead.last_name)


@sa.event.listens_for(Lead, "before_insert")
@sa.event.listens_for(Lead, "before_update")
def _keep_zone_key(_mapper, _connection, lead: Lead) -> None:
    """A lead written through the ORM keeps its ``zone_key`` in step with its zone, country
    and state. The other zones of an unsure lead stay while its zone does; a zone set by
    hand makes the lead sure (bulk writers compute the key themselves)."""
    inspected = sa.inspect(lead)
    zones, _, _ = parse_zone_key(lead.zone_key)
    given = inspected.attrs.zone_key.history.has_changes()  # set with the zone: kept
    rezoned = inspected.persistent and inspected.attrs.timezone.history.has_changes() and not given
    if rezoned and not inspected.attrs.timezone_note.history.has_changes():
        lead.timezone_note = None
    if rezoned or lead.timezone not in zones:
        zones = ()
    lead.zone_key = lead_zone_key([lead.timezone, *zones], lead.country, lead.state)


class Interaction(AccountScoped, db.Model):
    """One call or contact on a lead; feeds "last called" and the call history."""

    __tablename__ = "interactions"
    __table_args__ = (sa.Index("ix_interactions_lead_at", "lead_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="SET NULL")
    )
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    called_number: Mapped[str | None] = mapped_column(sa.String(20))
    caller_number: Mapped[str | None] = mapped_column(sa.String(20))
    wrap_code: Mapped[str | None] = mapped_column(sa.String(60))
    outcome: Mapped[str | None] = mapped_column(sa.String(60))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    direction: Mapped[str] = mapped_column(enum(*DIRECTIONS, name="direction"), default="outbound")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="interactions")
