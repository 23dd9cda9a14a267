"""Account isolation and role checks — the one place they live.

Every ORM query made while a session is bound to an account is filtered to that account
(``with_loader_criteria`` on every ``AccountScoped`` model), and a flush refuses to write
a row of another account. Views bind the account of the logged-in user before each
request; tasks and CLI commands bind the account they were given with ``account_scope``.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from contextlib import contextmanager
from functools import wraps
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import event
from sqlalchemy.orm import Session, with_loader_criteria
from werkzeug.middleware.proxy_fix import ProxyFix

from leadapp.extensions import db
from leadapp.models import AccountScoped
from leadapp.models.base import is_id

ACCOUNT_KEY = "account_id"


class CrossAccountWrite(RuntimeError):
    """A flush tried to write a row that belongs to another account."""


def bind_account(session: Session, account_id: int | None) -> None:
    if account_id is None:
        session.info.pop(ACCOUNT_KEY, None)
    else:
        session.info[ACCOUNT_KEY] = account_id


def current_account_id(session: Session | None = None) -> int | None:
    return (session or db.session).info.get(ACCOUNT_KEY)


@contextmanager
def account_scope(account_id: int):
    """Run a block (a task, a CLI command) as account ``account_id``."""
    previous = current_account_id()
    bind_account(db.session(), account_id)
    try:
        yield
    finally:
        bind_account(db.session(), previous)


@event.listens_for(Session, "do_orm_execute")
def _only_current_account(state):
    account_id = state.session.info.get(ACCOUNT_KEY)
    if account_id is None or state.execution_options.get("all_accounts"):
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(
                AccountScoped,
                lambda cls: cls.account_id == account_id,
                include_aliases=True,
            )
        )


@event.listens_for(Session, "before_flush")
def _stamp_and_guard_account(session, _context, _instances):
    account_id = session.info.get(ACCOUNT_KEY)
    if account_id is None:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, AccountScoped):
            continue
        if obj.account_id is None and obj in session.new:
            obj.account_id = account_id
        elif obj.account_id != account_id:
            raise CrossAccountWrite(f"{type(obj).__name__} belongs to another account")


def get_or_404(model, ident):
    """Load one object of the current account, or answer 404 (also for other accounts', and
    for an id no object can have: 0, negative, past the INTEGER column's 2**31 - 1)."""
    if isinstance(ident, int) and not is_id(ident):
        abort(404)
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    if isinstance(obj, AccountScoped) and obj.account_id != current_account_id():
        abort(404)
    return obj


def _without_controls(text: str) -> str:
    # Browsers drop tabs and line breaks inside a URL ("/\t/evil.example" is followed as
    # "//evil.example"): judge the target as the browser will read it.
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))


def safe_next(target: str | None, fallback: str) -> str:
    """Where to go after a form or a login: ``target`` when it is a path of this site, once
    control characters are removed and it is parsed like a browser would; else
    ``fallback``. Never another host (``//host``, ``/\\host``, ``https:``), never a line
    break in the answer's Location header."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return fallback
    cleaned = _without_controls(target).strip(" ")
    if not cleaned.startswith("/") or cleaned.startswith("//") or "\\" in cleaned:
        return fallback
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return fallback
    return cleaned


def role_required(*roles: str):
    """Only logged-in users with one of ``roles`` get through; others get a 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required("admin")


# Scripts and styles come from our own origin only: no inline script, no eval (htmx is
# configured with allowEval false), no framing. Inline style attributes stay allowed for
# progress-bar widths.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class TrustedProxies:
    """WSGI middleware: believe ``X-Forwarded-For`` / ``X-Forwarded-Proto`` (Werkzeug's
    ``ProxyFix``, one proxy hop) only when the connection comes from one of ``proxies``
    (addresses or networks, ``TRUSTED_PROXIES``). From any other peer the headers are
    dropped, so nobody picks their own address by sending one (login limits, sessions)."""

    def __init__(self, wsgi_app, proxies):
        self.networks = [ipaddress.ip_network(p.strip(), strict=False) for p in proxies]
        self.behind_proxy = ProxyFix(wsgi_app, x_for=1, x_proto=1)
        self.direct = wsgi_app

    def _trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self.networks and self._trusted(environ.get("REMOTE_ADDR", "")):
            return self.behind_proxy(environ, start_response)
        for header in FORWARDED_HEADERS:
            environ.pop(header, None)
        return self.direct(environ, start_response)


FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_FORWARDED",
)


def init_app(app) -> None:
    """Security headers on every response; forwarded headers only from trusted proxies."""
    try:
        app.wsgi_app = TrustedProxies(app.wsgi_app, app.config.get("TRUSTED_PROXIES") or ())
    except ValueError as exc:
        raise RuntimeError(
            f"TRUSTED_PROXIES must list addresses or networks like 10.0.0.5 or 10.0.0.0/24: {exc}"
        ) from None
    hsts = int(app.config.get("HSTS_SECONDS") or 0)

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if hsts > 0:
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"
            )
        return response
