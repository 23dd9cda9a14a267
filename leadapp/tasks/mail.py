"""Sending email: its own queue, a short time limit, and retries for a flaky SMTP server."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from email.utils import make_msgid

from flask import current_app
from flask_mail import Message
from redis.exceptions import RedisError
from rq import Retry, get_current_job
from rq.job import Job

from leadapp.extensions import db, mail, redis_connection
from leadapp.models import EmailDelivery
from leadapp.security import account_scope
from leadapp.services import mail as mail_service
from leadapp.tasks import QueueUnavailable, task

log = logging.getLogger(__name__)


@task(queue="mail", timeout=60, retry=Retry(max=3, interval=[10, 60, 300]))
def send_email(
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    delivery_id: int | None = None,
    account_id: int | None = None,
) -> None:
    """Deliver one message over SMTP; an error raises, and RQ retries it. A tracked email
    (``delivery_id``) counts each try on its row, then says sent, or — when the last try
    fails — failed, with a sentence. The message's Message-ID is recorded as
    ``account_id``'s before it is written (the outbox page lists by it)."""
    # Flask-Mail opens smtplib without a timeout: a server that accepts and never answers
    # would hold the job until RQ kills it. The work horse is this job's own process, so
    # its default socket timeout is ours to set.
    socket.setdefaulttimeout(current_app.config["MAIL_TIMEOUT"])
    if delivery_id is not None or account_id is not None:
        db.engine.dispose(close=False)  # connections inherited from the parent: not ours
    if delivery_id is not None and _already_sent(delivery_id):
        return  # queued again after all (a requeue racing the first job): sent once
    _record(delivery_id, mail_service.sending)
    message_id = _message_id()
    if account_id is not None:
        _note_account(account_id, message_id)
    try:
        message = Message(subject=subject, recipients=to, body=text, html=html)
        message.msgId = message_id
        mail.send(message)
    except Exception as exc:
        rq_job = get_current_job()
        final = rq_job is None or not rq_job.retries_left  # RQ will not try again
        _record(delivery_id, mail_service.not_sent, mail_service.failure_sentence(exc), final)
        raise
    _record(delivery_id, mail_service.sent)


def _message_id() -> str:
    # One id per job, the same on each retry: a message written twice is one message.
    rq_job = get_current_job()
    if rq_job is None:
        return make_msgid(domain="leadapp.local")
    return f"<{rq_job.id}@leadapp.local>"


def _note_account(account_id: int, message_id: str) -> None:
    """Record whose message this is, in a transaction of its own, before it is sent.
    Bookkeeping never stops an email: if it fails (logged), the message is shown on no
    account's outbox page, which is safe."""
    try:
        with account_scope(account_id):
            mail_service.record_outbox_message(account_id, message_id)
            db.session.commit()
    except Exception:  # noqa: BLE001 (see above)
        db.session.rollback()
        log.exception("the account of message %s was not recorded", message_id)
    finally:
        db.session.remove()


def _already_sent(delivery_id: int) -> bool:
    try:
        delivery = db.session.get(EmailDelivery, delivery_id)
        return delivery is not None and delivery.status == "sent"
    finally:
        db.session.remove()


def _record(delivery_id: int | None, change: Callable, *args) -> None:
    """Note on the delivery row how the email is doing, in a transaction of its own.

    Bookkeeping never decides the email's fate: a database error here is logged, not
    raised — raising after the server took the message would make RQ send it again."""
    if delivery_id is None:
        return
    try:
        delivery = db.session.get(EmailDelivery, delivery_id)
        if delivery is not None:  # gone with its import or dedup job: nothing to note
            with account_scope(delivery.account_id):
                change(delivery, *args)
                db.session.commit()
    except Exception:  # noqa: BLE001 (see above)
        db.session.rollback()
        log.exception("email delivery %s: its state was not recorded", delivery_id)
    finally:
        db.session.remove()


def prepare_results_email(
    about, recipients: list[str], template: str, **context
) -> EmailDelivery | None:
    """Before the commit of the results: the tracked email about ``about`` (an Import or a
    DedupJob), rendered and pending, to be committed with them — so no kill between that
    commit and the queueing can lose it (``requeue_lost_emails``). Queue it with
    ``send_results_email`` after the commit. None without recipients, or when the message
    cannot be rendered: a broken email template must not undo the results (logged)."""
    if not recipients:
        return None
    try:
        message = mail_service.render_email(template, **context)
    except Exception:  # noqa: BLE001 (see above)
        log.exception("the %s email could not be rendered; the results stand", template)
        return None
    return mail_service.track_email(about, recipients, template, message)


def send_results_email(delivery: EmailDelivery | None) -> None:
    """After the commit that holds ``delivery``: queue it. If Redis refuses, the row says
    so (failed, with a sentence) and ``QueueUnavailable`` is raised for the caller."""
    if delivery is None:
        return
    try:
        mail_service.send_later(
            delivery.recipients,
            delivery.subject,
            delivery.text_body,
            delivery.html_body,
            delivery_id=delivery.id,
            account_id=delivery.account_id,
        )
    except QueueUnavailable:
        mail_service.not_sent(delivery, mail_service.QUEUE_DOWN, final=True)
        db.session.commit()
        raise


def requeue_lost_emails() -> list[int]:
    """Pending results emails whose job Redis does not hold — never queued (the worker was
    killed just after the results' commit) or lost (Redis restarted without its data,
    flushed) — are queued again, under their own job id. Returns their delivery ids. Runs
    when a worker starts and as ``flask jobs requeue``. An email queued twice all the same
    is sent once: ``send_email`` skips a delivery already sent."""
    client = redis_connection.client()
    again = []
    for delivery in mail_service.unqueued():
        try:
            held = Job.exists(mail_service.delivery_job_id(delivery.id), connection=client)
        except RedisError as exc:  # nothing changed: the emails stay pending
            raise QueueUnavailable(
                "The job queue (Redis) is not reachable, so no email was queued again; "
                "nothing was lost — try again in a minute or ask your administrator."
            ) from exc
        if held:
            continue
        with account_scope(delivery.account_id):
            send_results_email(delivery)
        again.append(delivery.id)
    return again
