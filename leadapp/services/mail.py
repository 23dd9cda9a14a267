"""Composing email from templates; sending happens in the ``send_email`` job."""

from __future__ import annotations

from flask import render_template

from leadapp.tasks import enqueue
from leadapp.tasks.mail import send_email


def render_email(template: str, **context) -> tuple[str, str, str]:
    """Subject, text and HTML of ``templates/email/<template>.{txt,html}``.

    The text template's first line is ``Subject: ...``."""
    text = render_template(f"email/{template}.txt", **context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"email/{template}.txt must start with a 'Subject:' line")
    html = render_template(f"email/{template}.html", **context)
    return first[len("Subject:") :].strip(), body.lstrip("\n"), html


def queue_email(to: list[str] | str, template: str, **context):
    """Render now, send in the mail queue. Call it after the commit the email reports on."""
    recipients = [to] if isinstance(to, str) else list(to)
    subject, text, html = render_email(template, **context)
    return enqueue(send_email, recipients, subject, text, html)
