"""What an API token may do: its scopes, checked on every endpoint.

A token holds some of ``TOKEN_SCOPES`` (chosen when it is made). An endpoint declares the
scope it needs with ``@require_scope("...")``; a request whose token lacks it, or whose
user's role may not use it (``SCOPE_ROLES``: a token never does what its user cannot), gets
a 403 with a sentence saying which scope is missing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from flask import g, jsonify

from leadapp.models import ROLES
from leadapp.models.compliance import TOKEN_SCOPES

# Which roles may use each scope. Supervisors add leads, record calls and hand leads to
# dialers in the UI too, so today every role may use every scope; an endpoint that needs
# more names its roles in ``require_scope(..., roles=...)``.
SCOPE_ROLES: dict[str, tuple[str, ...]] = {scope: ROLES for scope in TOKEN_SCOPES}


def scopes_for_role(role: str) -> list[str]:
    """The scopes a user of ``role`` may give a token, in the order the page lists them."""
    return [scope for scope in TOKEN_SCOPES if role in SCOPE_ROLES[scope]]


def refusal(token, user, scope: str, roles: Iterable[str] | None = None) -> str | None:
    """Why ``token`` (of ``user``) may not use ``scope`` — one sentence — or None."""
    if token is None or user is None:
        return "Send a valid API token as 'Authorization: Bearer <token>'."
    if scope not in token.scope_set:
        return (
            f"This token does not have the “{scope}” scope; create a token with it on "
            "Settings › API tokens."
        )
    allowed = tuple(roles) if roles is not None else SCOPE_ROLES[scope]
    if user.role not in allowed or user.role not in SCOPE_ROLES[scope]:
        return f"A {user.role}'s token may not do this; ask an administrator of your account."
    return None


def require_scope(scope: str, roles: Iterable[str] | None = None) -> Callable:
    """Decorate an ``/api/v1`` view: only tokens with ``scope`` (and, if given, users of one
    of ``roles``) get through; others get a 403 JSON answer with a sentence."""
    if scope not in TOKEN_SCOPES:
        raise ValueError(f"unknown API token scope {scope!r}; one of {', '.join(TOKEN_SCOPES)}")
    roles = tuple(roles) if roles is not None else None

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            reason = refusal(g.get("api_token"), g.get("api_user"), scope, roles)
            if reason is not None:
                response = jsonify({"error": reason, "scope": scope})
                response.status_code = 403
                return response
            return view(*args, **kwargs)

        wrapped.required_scope = scope  # the crawler and the docs read it
        return wrapped

    return decorator
