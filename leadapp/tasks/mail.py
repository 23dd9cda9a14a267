"""Sending email: its own queue, a short time limit, and retries for a flaky SMTP server."""

from __future__ import annotations

from flask_mail import Message
from rq import Retry

from leadapp.extensions import mail
from leadapp.tasks import task


@task(queue="mail", timeout=60, retry=Retry(max=3, interval=[10, 60, 300]))
def send_email(to: list[str], subject: str, text: str, html: str | None = None) -> None:
    """Deliver one message over SMTP; an error raises, and RQ retries it."""
    mail.send(Message(subject=subject, recipients=to, body=text, html=html))
