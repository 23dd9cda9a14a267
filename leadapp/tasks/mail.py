"""Sending email: its own queue, a short time limit, and retries for a flaky SMTP server."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from flask import current_app
from flask_mail import Message
from rq import Retry, get_current_job

from leadapp.extensions import db, mail
from leadapp.models import EmailDelivery
from leadapp.security import account_scope
from leadapp.services import mail as mail_service
from leadapp.tasks import QueueUnavailable, task

log = logging.getLogger(__name__)


@task(queue="mail", timeout=60, retry=Retry(max=3, interval=[10, 60, 300]))
def send_email(
    to: list[str], subject: str, text: str, html: str | None = None, delivery_id: int | None = None
) -> None:
    """Deliver one message over SMTP; an error raises, and RQ retries it. A tracked email
    (``delivery_id``) counts each try on its row, then says sent, or — when the last try
    fails — failed, with a sentence."""
    # Flask-Mail opens smtplib without a timeout: a server that accepts and never answers
    # would hold the job until RQ kills it. The work horse is this job's own process, so
    # its default socket timeout is ours to set.
    socket.setdefaulttimeout(current_app.config["MAIL_TIMEOUT"])
    if delivery_id is not None:
        db.engine.dispose(close=False)  # connections inherited from the parent: not ours
    _record(delivery_id, mail_service.sending)
    try:
        mail.send(Message(subject=subject, recipients=to, body=text, html=html))
    except Exception as exc:
        rq_job = get_current_job()
        final = rq_job is None or not rq_job.retries_left  # RQ will not try again
        _record(delivery_id, mail_service.not_sent, mail_service.failure_sentence(exc), final)
        raise
    _record(delivery_id, mail_service.sent)


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


def queue_results_email(about, recipients: list[str], template: str, **context) -> None:
    """After the commit of the results: a tracked email about ``about`` (an Import or a
    DedupJob). Its pending row is committed before the job is queued; if Redis refuses
    the job, the row says so and ``QueueUnavailable`` is raised for the caller to report."""
    message = mail_service.render_email(template, **context)
    delivery = mail_service.track_email(about, recipients, template)
    db.session.commit()
    try:
        mail_service.send_later(recipients, *message, delivery_id=delivery.id)
    except QueueUnavailable:
        mail_service.not_sent(delivery, mail_service.QUEUE_DOWN, final=True)
        db.session.commit()
        raise
