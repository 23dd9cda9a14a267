"""Results emails (an import's summary, a dedup test run's and run's outcome) and what
became of them, so the pages that report on the work can say so honestly."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import AccountScoped, Timestamped, db, enum, utcnow

EMAIL_STATUSES = ("pending", "sent", "failed")


class EmailDelivery(AccountScoped, Timestamped, db.Model):
    """One results email: ``pending`` from the commit of the results it reports until the
    ``send_email`` job delivers it (``sent``) or gives up after its last retry
    (``failed``)."""

    __tablename__ = "email_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(sa.String(40))  # import_done, dedup_done, ...
    recipients: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(
        enum(*EMAIL_STATUSES, name="email_status"), default="pending"
    )
    tries: Mapped[int] = mapped_column(default=0)  # sending attempts started so far
    # The last failure, one sentence (kept while pending: why it is being retried).
    error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None]
    # The message as rendered when the results were committed, in that same commit: an
    # email whose queueing was lost (a worker killed just after the commit, Redis flushed)
    # is queued again from here by every worker as it starts and by ``flask jobs requeue``.
    subject: Mapped[str | None] = mapped_column(sa.Text)
    text_body: Mapped[str | None] = mapped_column(sa.Text)
    html_body: Mapped[str | None] = mapped_column(sa.Text)
    # What the email reports on: one of the two.
    import_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("imports.id", ondelete="CASCADE"), index=True
    )
    dedup_job_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("dedup_jobs.id", ondelete="CASCADE"), index=True
    )


class OutboxMessage(AccountScoped, db.Model):
    """Which account a sent message belongs to, recorded by the mail job as it writes the
    message (by its Message-ID): the local outbox page lists only its account's messages,
    whoever they were addressed to."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
