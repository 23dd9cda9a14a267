"""Error pages, and short messages for htmx requests (shown in the page's modal)."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from leadapp.extensions import db
from leadapp.services.transactions import database_full, is_transient, out_of_space

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood. Reload the page and try again.",
    401: "Please log in again.",
    403: "Your role does not allow this. Ask an administrator if you need it.",
    404: "This page or record does not exist, or it belongs to another account.",
    405: "This action is not available here.",
    413: "The file is larger than the upload limit. Split it into smaller files and try again.",
    429: "Too many attempts. Wait a few minutes, then try again.",
    500: "Something went wrong on our side. Nothing was saved; try again in a minute.",
    503: "The database is busy or unreachable right now. Nothing was saved; try again in a moment.",
    507: (
        "The server ran out of disk space, so nothing was saved — ask your administrator "
        "to free space, then try again."
    ),
}


def _render(code: int, message: str):
    if request.htmx:
        # htmx swaps nothing on an error status; app.js shows this text in the modal.
        return message, code, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("errors/error.html", code=code, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        return _render(400, "Your form expired or was not sent from this site. Reload the page.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        if exc.code == 429 and exc.description:  # the limit's own sentence
            return _render(429, exc.description)
        return _render(exc.code, MESSAGES.get(exc.code, exc.description or "Request refused."))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        if out_of_space(exc) or database_full(exc):
            # A full disk anywhere in a request (e.g. an upload spooled to the temp folder
            # while the form is read, the database's own disk): what was written is gone
            # with the request — the log keeps only the text, not the exception, whose
            # frames hold the spooled file.
            log.error("disk full on %s: %s", request.path, str(exc))
            db.session.rollback()
            return _render(507, MESSAGES[507])
        if is_transient(exc):
            # A held lock past its wait, a restarted database: say so, it will pass.
            log.warning("database busy or lost on %s: %s", request.path, exc)
            db.session.rollback()
            return _render(503, MESSAGES[503])
        log.exception("unhandled error on %s", request.path)
        db.session.rollback()  # nothing half-written survives the request
        if app.config.get("TESTING") and app.config.get("PROPAGATE_EXCEPTIONS"):
            raise exc
        return _render(500, MESSAGES[500])

    app.register_error_handler(InternalServerError, lambda e: _render(500, MESSAGES[500]))
