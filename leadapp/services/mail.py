"""Composing email from templates; sending happens in the ``send_email`` job.

A results email (an import's summary, a dedup test run's or run's outcome) is tracked in
an ``EmailDelivery`` row: pending from its queueing, then sent or — after RQ's last retry —
failed with a sentence; the pages that show the results show that too."""

from __future__ import annotations

import smtplib

import sqlalchemy as sa
from flask import current_app, render_template
from rq.timeouts import JobTimeoutException

from leadapp.domain.names import shorten
from leadapp.extensions import db
from leadapp.models import EmailDelivery, Import
from leadapp.models.base import utcnow
from leadapp.models.mail import OutboxMessage
from leadapp.security import current_account_id
from leadapp.tasks import enqueue

SUBJECT_MAX = 150


def render_email(template: str, **context) -> tuple[str, str, str]:
    """Subject, text and HTML of ``templates/email/<template>.{txt,html}``.

    The text template's first line is ``Subject: ...``."""
    text = render_template(f"email/{template}.txt", **context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"email/{template}.txt must start with a 'Subject:' line")
    html = render_template(f"email/{template}.html", **context)
    # One line, bounded: a name with a line break or of 5,000 characters neither cuts the
    # subject short nor makes the message undeliverable ("500 Line too long").
    subject = shorten(first[len("Subject:") :], SUBJECT_MAX)
    return subject, body.lstrip("\n"), html


def delivery_job_id(delivery_id: int) -> str:
    """The RQ id of a tracked email's job: one per delivery, so queueing it again replaces
    the job instead of adding a second."""
    return f"email-delivery-{delivery_id}"


def send_later(
    recipients: list[str],
    subject: str,
    text: str,
    html: str,
    delivery_id: int | None = None,
    account_id: int | None = None,
):
    """Put one rendered message on the mail queue (``QueueUnavailable`` if Redis is down).

    The message belongs to ``account_id`` (default: the account the session is bound to),
    recorded as it is sent: the outbox page shows each account only its own messages."""
    # Imported here: the task module records deliveries with the functions below.
    from leadapp.tasks.mail import send_email

    job_id = delivery_job_id(delivery_id) if delivery_id is not None else None
    account_id = account_id if account_id is not None else current_account_id()
    return enqueue(
        send_email,
        list(recipients),
        subject,
        text,
        html,
        delivery_id,
        account_id=account_id,
        job_id=job_id,
    )


def queue_email(to: list[str] | str, template: str, account_id: int | None = None, **context):
    """Render now, send in the mail queue. Call it after the commit the email reports on."""
    recipients = [to] if isinstance(to, str) else list(to)
    return send_later(recipients, *render_email(template, **context), account_id=account_id)


def record_outbox_message(account_id: int, message_id: str) -> None:
    """Note that the message ``message_id`` belongs to ``account_id`` (once)."""
    exists = db.session.scalar(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.message_id == message_id)
        .execution_options(all_accounts=True)
    )
    if exists is None:
        db.session.add(OutboxMessage(account_id=account_id, message_id=message_id))
        db.session.flush()


def account_message_ids(message_ids: list[str]) -> set[str]:
    """Which of ``message_ids`` belong to the current account."""
    found: set[str] = set()
    for start in range(0, len(message_ids), 500):
        found.update(
            db.session.scalars(
                sa.select(OutboxMessage.message_id).where(
                    OutboxMessage.message_id.in_(message_ids[start : start + 500])
                )
            )
        )
    return found


# ---------------------------------------------------------------------------------------
# Tracked results emails


def track_email(
    about, recipients: list[str], template: str, message: tuple[str, str, str]
) -> EmailDelivery:
    """A pending delivery of ``template`` about ``about`` (an Import or a DedupJob) with its
    rendered ``message`` (subject, text, HTML); the caller commits it with the results it
    reports, then queues the email with its id."""
    subject, text, html = message
    delivery = EmailDelivery(
        account_id=about.account_id,
        template=template,
        recipients=list(recipients),
        status="pending",
        tries=0,
        subject=subject,
        text_body=text,
        html_body=html,
        **({"import_id": about.id} if isinstance(about, Import) else {"dedup_job_id": about.id}),
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery


def unqueued() -> list[EmailDelivery]:
    """Pending deliveries, of every account, that carry their message: the candidates for
    queueing again (the caller asks Redis which of them it still holds)."""
    return list(
        db.session.scalars(
            sa.select(EmailDelivery)
            .where(EmailDelivery.status == "pending", EmailDelivery.subject.is_not(None))
            .order_by(EmailDelivery.id)
            .execution_options(all_accounts=True)
        )
    )


def sending(delivery: EmailDelivery) -> None:
    """A try starts (the ``send_email`` job, before it talks to the server)."""
    delivery.tries = (delivery.tries or 0) + 1
    db.session.flush()


def sent(delivery: EmailDelivery) -> None:
    delivery.status = "sent"
    delivery.sent_at = utcnow()
    delivery.error = None
    db.session.flush()


def not_sent(delivery: EmailDelivery, error: str, final: bool) -> None:
    """A try failed: pending while RQ will retry it, failed after the last try."""
    delivery.status = "failed" if final else "pending"
    delivery.error = error
    db.session.flush()


def failure_sentence(exc: BaseException) -> str:
    """Why a try failed, in one sentence a supervisor can pass on to the administrator."""
    server = f"{current_app.config['MAIL_SERVER']}:{current_app.config['MAIL_PORT']}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return (
            f"The mail server refused {', '.join(sorted(exc.recipients))}; "
            "check the addresses and send the results again."
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"The mail server at {server} refused the login; "
            "ask your administrator to check the mail settings."
        )
    if _timed_out(exc):
        return (
            f"The mail server at {server} did not answer in time; "
            "ask your administrator to check that it is working."
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode("utf-8", "replace") if exc.smtp_error else ""
        return (
            f"The mail server at {server} refused the email ({exc.smtp_code} {reply}); "
            "ask your administrator to check the mail settings."
        )
    if isinstance(exc, OSError):  # refused, unreachable, disconnected (SMTPException too)
        return (
            f"The mail server at {server} could not be reached; "
            "ask your administrator to check that it is running and the mail settings."
        )
    return (
        f"Sending failed ({type(exc).__name__}: {exc}); "
        "ask your administrator to look at the worker's log."
    )


def _timed_out(exc: BaseException | None) -> bool:
    """A timeout, also one smtplib re-raised as "connection unexpectedly closed"."""
    for _ in range(10):  # a short chain; never a cycle
        if exc is None:
            return False
        if isinstance(exc, TimeoutError | JobTimeoutException):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


QUEUE_DOWN = (
    "The email could not be queued because the job queue (Redis) was not reachable; "
    "ask your administrator to check it."
)


def latest_emails(about) -> list[EmailDelivery]:
    """The newest delivery of each template about ``about`` (an Import or a DedupJob), in
    the order they were queued: what its page shows."""
    column = EmailDelivery.import_id if isinstance(about, Import) else EmailDelivery.dedup_job_id
    if about.id is None:
        return []
    rows = db.session.scalars(
        sa.select(EmailDelivery).where(column == about.id).order_by(EmailDelivery.id)
    )
    newest: dict[str, EmailDelivery] = {}
    for row in rows:
        newest.pop(row.template, None)
        newest[row.template] = row
    return list(newest.values())
