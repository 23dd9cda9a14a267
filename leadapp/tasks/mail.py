"""Sending email: its own queue, a short time limit, and retries for a flaky SMTP server."""

from __future__ import annotations

import socket

from flask import current_app
from flask_mail import Message
from rq import Retry

from leadapp.extensions import mail
from leadapp.tasks import task


@task(queue="mail", timeout=60, retry=Retry(max=3, interval=[10, 60, 300]))
def send_email(to: list[str], subject: str, text: str, html: str | None = None) -> None:
    """Deliver one message over SMTP; an error raises, and RQ retries it."""
    # Flask-Mail opens smtplib without a timeout: a server that accepts and never answers
    # would hold the job until RQ kills it. The work horse is this job's own process, so
    # its default socket timeout is ours to set.
    socket.setdefaulttimeout(current_app.config["MAIL_TIMEOUT"])
    mail.send(Message(subject=subject, recipients=to, body=text, html=html))
