"""Template filters and globals: dates in the account's zone, phones for people."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import phonenumbers
from flask import Flask, current_app, has_request_context
from flask_login import current_user

from leadapp.domain import labels
from leadapp.domain.names import shorten

NAV = (
    ("pools.index", "Lead pools", None),
    ("imports.index", "Imports", None),
    ("leads.index", "Leads", None),
    ("campaigns.index", "Campaigns", None),
    ("dedup.index", "Lead Deduplicator", None),
    ("admin.users", "Admin", "admin"),
)


def _logged_in() -> bool:
    # Emails are rendered in jobs, where there is no request and so no user.
    return bool(has_request_context() and current_user and current_user.is_authenticated)


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time shown in the account's zone (the display zone when logged out)."""
    if value is None:
        return ""
    zone = current_app.config["DISPLAY_TIMEZONE"]
    if _logged_in():
        zone = current_user.account.timezone
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(zone)).strftime(fmt)


def international(e164: str | None) -> str:
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


# A name in an email subject or a one-line heading: cleaned and at most this long.
SHORT_NAME = 60


def short(value) -> str:
    """A name (file, pool, job, person) on one line, cut to ``SHORT_NAME`` with "…"."""
    return shorten(value, SHORT_NAME)


def number(value) -> str:
    """A count as every page shows one: thousands separated ("3,000", "2,448", "12.5"),
    so one page never says 3000 beside another's 2,448. Empty stays empty; text that is
    not a number is shown as it is."""
    if value is None or value == "" or isinstance(value, bool):
        return "" if value in (None, "") else str(value)
    if isinstance(value, str):
        try:
            value = float(value) if "." in value else int(value)
        except ValueError:
            return value
    try:
        return f"{value:,}"
    except (TypeError, ValueError):
        return str(value)


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(number, "number")
    app.add_template_filter(short, "short")
    app.add_template_filter(international, "international")
    app.add_template_filter(labels.field_label, "field_label")
    app.add_template_filter(labels.match_label, "match_label")
    app.add_template_filter(labels.action_label, "action_label")

    @app.context_processor
    def navigation():
        items = []
        if _logged_in():
            items = [(ep, label) for ep, label, role in NAV if role in (None, current_user.role)]
        return {"nav_items": items}


def render_page_or_partial(page: str, partial: str, /, **context) -> str:
    """The partial alone for an htmx request; otherwise the page, which includes it.

    A history-restore request (back button after hx-push-url) needs the whole page.
    The template names are positional-only, so a context variable may be called ``page``."""
    from flask import render_template, request

    wants_partial = request.htmx and not request.htmx.history_restore_request
    return render_template(partial if wants_partial else page, **context)
