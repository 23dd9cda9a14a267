"""The JSON API (``/api/v1``) for scripts and CRMs, authenticated by API tokens.

Every request carries ``Authorization: Bearer <token>``; a session cookie never counts
(these endpoints are CSRF-exempt, so cookie auth would let any site post leads). The
request runs in the token owner's account: the account binding of ``leadapp.security``
filters every query, exactly as for a logged-in user. Answers are JSON, errors too:
``{"error": "<one sentence>"}`` plus ``errors`` per field where that helps.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from leadapp.errors import MESSAGES as PAGE_MESSAGES
from leadapp.extensions import db
from leadapp.models import Account, Campaign, Interaction, Lead, LeadPool, PoolAssignment, User
from leadapp.models.base import utcnow
from leadapp.models.lead import DIRECTIONS
from leadapp.security import bind_account
from leadapp.services import api_tokens, campaign_duplicates, pool_grid, pool_ready
from leadapp.services import leads as lead_service
from leadapp.services.transactions import database_full, is_transient, out_of_space

from .scopes import require_scope

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# A lead or a call is a few hundred bytes; refuse big bodies before reading them.
DEFAULT_MAX_BODY = 256 * 1024
NOTES_MAX = 5000
# Lead fields a script may send (plus the account's custom fields, at the top level or
# in ``custom``). Status, source and dates are the app's to set.
LEAD_FIELDS = (*lead_service.EDITABLE, *lead_service.STANDARD_EXTRA)
INTERACTION_FIELDS = (
    "campaign",
    "agent_email",
    "called_number",
    "caller_number",
    "wrap_code",
    "outcome",
    "notes",
    "direction",
    "at",
    "callback_at",
    "completed",
)
# Clock skew we tolerate for a call's time before calling it "in the future".
FUTURE_SKEW = dt.timedelta(minutes=5)

MESSAGES = {
    400: "The request could not be understood.",
    401: "Send a valid API token as 'Authorization: Bearer <token>'.",
    403: "This token may not do that.",
    404: "There is no such object in this account.",
    405: "This endpoint does not accept that method.",
    413: "The request body is too large; send one lead or one call per request.",
    415: "Send the body as JSON with 'Content-Type: application/json'.",
    500: "Something went wrong on our side. Nothing was saved; try again in a minute.",
}


class ApiError(Exception):
    """Answer with ``status`` and ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _error(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="LeadApp API"'
    return response


# ---------------------------------------------------------------------------------------
# Authentication and errors


@bp.before_request
def authenticate():
    # Whatever the app bound from a session cookie does not count here: only the token.
    bind_account(db.session(), None)
    g.api_user = None
    g.api_token = None
    request.max_content_length = current_app.config.get("API_MAX_BODY", DEFAULT_MAX_BODY)
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return _error(401, "Send your API token as 'Authorization: Bearer <token>'.")
    token = api_tokens.authenticate_token(credentials)
    if token is None:
        db.session.rollback()
        return _error(
            401, "The API token is unknown, revoked or expired, or its user is deactivated."
        )
    bind_account(db.session(), token.account_id)
    g.api_token = token
    g.api_user = token.user
    return None


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    db.session.rollback()
    return _error(exc.status, exc.message, **exc.extra)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    db.session.rollback()
    code = exc.code or 500
    if isinstance(exc, RequestEntityTooLarge):
        return _error(413, MESSAGES[413])
    response = _error(code, MESSAGES.get(code, exc.description or "Request refused."))
    if code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    db.session.rollback()
    # The same answers as a page's (leadapp.errors), as JSON.
    if out_of_space(exc) or database_full(exc):
        log.error("disk full on %s: %s", request.path, str(exc))
        return _error(507, PAGE_MESSAGES[507])
    if is_transient(exc):
        log.warning("database busy or lost on %s: %s", request.path, exc)
        return _error(503, PAGE_MESSAGES[503])
    log.exception("unhandled API error on %s", request.path)
    if current_app.config.get("TESTING") and current_app.config.get("PROPAGATE_EXCEPTIONS"):
        raise exc
    return _error(500, MESSAGES[500])


ENDPOINTS = [
    "GET  /api/v1/  (who this token is)",
    "GET  /api/v1/campaigns/<code>  (scope read)",
    "POST /api/v1/campaigns/<code>/leads  (scope write_leads)",
    "POST /api/v1/leads/<id>/interactions  (scope record_outcomes)",
    "GET  /api/v1/pools/<id>/stats  (scope read)",
]


@bp.get("/")
def index():
    """Who the token acts as, and what it can call: a quick check for a new token."""
    user = g.api_user
    account = db.session.get(Account, user.account_id)
    return _done(
        {
            "user": {"id": user.id, "email": user.email, "name": user.name, "role": user.role},
            "account": {"name": account.name, "slug": account.slug},
            "token": {
                "name": g.api_token.name,
                "scopes": sorted(g.api_token.scope_set),
                "expires_at": _iso(g.api_token.expires_at),
            },
            "endpoints": ENDPOINTS,
        }
    )


@bp.route("/", defaults={"rest": ""}, methods=["POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(rest: str):
    """Unknown addresses under /api/v1 answer JSON too (a 405 for a known one)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "api.not_found":
            allowed.append(method)
    if allowed:
        response = _error(405, MESSAGES[405] + f" Use {' or '.join(allowed)}.")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return _error(404, "There is no API endpoint at this address; GET /api/v1/ lists them.")


# ---------------------------------------------------------------------------------------
# Request helpers


def _json_body() -> dict:
    """The request's JSON object, or an ApiError (415 / 413 / 400)."""
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, MESSAGES[415])
    raw = request.get_data(cache=True)  # 413 past API_MAX_BODY, also when chunked
    if not raw.strip():
        raise ApiError(400, "The request body is empty; send a JSON object.")

    def no_constants(name):
        raise ValueError(f"{name} is not allowed in JSON")

    try:
        data = json.loads(raw, parse_constant=no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, 'The request body must be a JSON object, like {"phone1": "..."}.')
    return data


def _invalid(message: str, errors: dict[str, str], **extra):
    raise ApiError(422, message, errors=errors, **extra)


def _iso(value: dt.datetime | None) -> str | None:
    # Stored times are naive UTC.
    return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _done(payload: dict, status: int = 200):
    """Commit once (the write and the token's last-used time) and answer."""
    db.session.commit()
    response = jsonify(payload)
    response.status_code = status
    return response


def _campaign(code: str) -> Campaign:
    campaign = db.session.scalar(
        sa.select(Campaign).where(
            Campaign.api_code == code, Campaign.account_id == g.api_user.account_id
        )
    )
    if campaign is None:
        raise ApiError(404, f"There is no campaign with the code '{code[:60]}' in this account.")
    return campaign


def _own(model, ident: int, what: str):
    obj = db.session.get(model, ident)
    if obj is None or obj.account_id != g.api_user.account_id:
        raise ApiError(404, f"There is no {what} {ident} in this account.")
    return obj


# ---------------------------------------------------------------------------------------
# Serialisers


def lead_json(lead: Lead) -> dict:
    return {
        "id": lead.id,
        "pool_id": lead.pool_id,
        "customer_key": lead.customer_key,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        **{f"phone{i}": getattr(lead, f"phone{i}") for i in range(1, 6)},
        "timezone": lead.timezone,
        "state": lead.state,
        "postal_code": lead.postal_code,
        "country": lead.country,
        "source": lead.source,
        "status": lead.status,
        "completed": lead.completed,
        "do_not_call": lead.do_not_call,
        "call_count": lead.call_count,
        "last_called_at": _iso(lead.last_called_at),
        "last_outcome": lead.last_outcome,
        "wrap_code": lead.wrap_code,
        "created_at": _iso(lead.created_at),
        "custom": lead.custom or {},
    }


def interaction_json(item: Interaction, campaign: Campaign | None) -> dict:
    return {
        "id": item.id,
        "lead_id": item.lead_id,
        "campaign": campaign.api_code if campaign else None,
        "agent_id": item.agent_id,
        "called_number": item.called_number,
        "caller_number": item.caller_number,
        "wrap_code": item.wrap_code,
        "outcome": item.outcome,
        "notes": item.notes,
        "direction": item.direction,
        "at": _iso(item.at),
    }


def pool_json(pool: LeadPool) -> dict:
    """The pool's statistics from its stored counters, as the pool details show them:
    ``ready_to_dial`` is the leads the dial queue could hand out today apart from the hour
    (``services.pool_ready``: 0 unless the pool is dialled and active today, in the
    account's zone); ``ready_when_active`` is the stored count, before the leads waiting
    out a lease, a recycle delay or a callback."""
    account = db.session.get(Account, pool.account_id)
    today = pool_grid.account_now(account.timezone).date()
    ready = pool_ready.ready_one(pool, today, utcnow())
    assignments = db.session.execute(
        sa.select(PoolAssignment, Campaign)
        .join(Campaign, Campaign.id == PoolAssignment.campaign_id)
        .where(PoolAssignment.pool_id == pool.id)
        .order_by(Campaign.name)
    ).all()
    return {
        "id": pool.id,
        "name": pool.name,
        "status": pool.status,
        "is_system": pool.is_system,
        "total": pool.total_count,
        "open": pool.open_count,
        "ready_to_dial": ready,
        "ready_when_active": pool.ready_count,
        "closed": pool.closed_count,
        "used": pool.used_count,
        "closed_pct": pool.closed_pct,
        "used_pct": pool.used_pct,
        "valid_in_upload": pool.valid_count,
        "invalid_in_upload": pool.invalid_count,
        "duplicates_found": pool_grid.duplicates_found([pool.id]).get(pool.id, 0),
        "active_from": pool.active_from.isoformat() if pool.active_from else None,
        "active_until": pool.active_until.isoformat() if pool.active_until else None,
        "counts_refreshed_at": _iso(pool.counts_refreshed_at),
        "campaigns": [
            {
                "code": campaign.api_code,
                "name": campaign.name,
                "to_dial": assignment.to_dial,
                "weight": assignment.weight,
                "strategy": assignment.strategy,
            }
            for assignment, campaign in assignments
        ],
    }


# ---------------------------------------------------------------------------------------
# Campaigns and leads


@bp.get("/campaigns/<code>")
@require_scope("read")
def campaign_detail(code: str):
    campaign = _campaign(code)
    rows = db.session.execute(
        sa.select(PoolAssignment, LeadPool)
        .join(LeadPool, LeadPool.id == PoolAssignment.pool_id)
        .where(PoolAssignment.campaign_id == campaign.id)
        .order_by(PoolAssignment.id)
    ).all()
    return _done(
        {
            "code": campaign.api_code,
            "id": campaign.id,
            "name": campaign.name,
            "project": campaign.project.name,
            "purpose": campaign.purpose,
            "timezone": campaign.timezone,
            "region": campaign.default_region,
            "active": campaign.active,
            "calling_window": [
                campaign.window_start.strftime("%H:%M"),
                campaign.window_end.strftime("%H:%M"),
            ],
            # The rules the API follows (the defaults where none were set), in words too.
            "duplicate_options": campaign_duplicates.api_rules(campaign),
            "duplicate_rules": campaign_duplicates.describe(
                campaign_duplicates.api_rules(campaign)
            ),
            "pools": [
                {
                    "id": pool.id,
                    "name": pool.name,
                    "status": pool.status,
                    "to_dial": assignment.to_dial,
                    "weight": assignment.weight,
                    "strategy": assignment.strategy,
                }
                for assignment, pool in rows
            ],
        }
    )


def _target_pool(campaign: Campaign, pool_id) -> LeadPool:
    """``pool_id`` when it is assigned to ``campaign``; else the campaign's first to-dial
    pool (active pools first)."""
    if pool_id is not None:
        if isinstance(pool_id, bool) or not isinstance(pool_id, int):
            _invalid("The lead was not created.", {"pool_id": "pool_id must be a whole number."})
        pool = db.session.scalar(
            sa.select(LeadPool)
            .join(PoolAssignment, PoolAssignment.pool_id == LeadPool.id)
            .where(PoolAssignment.campaign_id == campaign.id, LeadPool.id == pool_id)
        )
        if pool is None:
            _invalid(
                "The lead was not created.",
                {"pool_id": f"Pool {pool_id} is not assigned to campaign {campaign.api_code}."},
            )
        return pool
    pool = db.session.scalar(
        sa.select(LeadPool)
        .join(PoolAssignment, PoolAssignment.pool_id == LeadPool.id)
        .where(
            PoolAssignment.campaign_id == campaign.id,
            PoolAssignment.to_dial.is_(True),
            LeadPool.is_system.is_(False),
        )
        .order_by((LeadPool.status == "active").desc(), PoolAssignment.id)
        .limit(1)
    )
    if pool is None:
        raise ApiError(
            409,
            f"Campaign {campaign.api_code} has no lead pool marked to dial; assign one "
            "in LeadApp or send pool_id.",
        )
    return pool


def _lead_data(body: dict) -> dict:
    """The lead fields of ``body`` (custom fields flattened), or a 422 naming each bad one."""
    custom_keys = set(lead_service.custom_field_keys())
    errors: dict[str, str] = {}
    custom = body.pop("custom", None)
    if custom is not None and not isinstance(custom, dict):
        errors["custom"] = "custom must be an object of custom field values."
        custom = None
    items = [(key, value, False) for key, value in body.items()]
    items += [(key, value, True) for key, value in (custom or {}).items()]
    data: dict = {}
    for key, value, in_custom in items:
        if in_custom and key not in custom_keys:
            errors[key] = f"There is no custom field {key}; an administrator can add it."
        elif not in_custom and key not in custom_keys and key not in LEAD_FIELDS:
            errors[key] = (
                f"There is no lead field {key} that the API can set; an administrator can "
                "add custom fields."
            )
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            errors[key] = f"{key} must be text, a number, true/false or null."
        elif key in data:
            errors[key] = f"{key} is given twice (at the top level and in custom)."
        else:
            data[key] = value
    if errors:
        _invalid("The lead was not created.", errors)
    return data


@bp.post("/campaigns/<code>/leads")
@require_scope("write_leads")
def create_lead(code: str):
    campaign = _campaign(code)
    body = _json_body()
    pool = _target_pool(campaign, body.pop("pool_id", None))
    data = _lead_data(body)
    try:
        outcome = lead_service.create_lead(
            pool,
            data,
            user_id=g.api_user.id,
            source="api",
            options=campaign_duplicates.api_rules(campaign),
            campaign=campaign,
        )
    except lead_service.LeadError as exc:
        raise ApiError(422, str(exc)) from None
    if outcome.action == "invalid" or outcome.errors:
        _invalid("The lead was not created.", outcome.errors, warnings=outcome.warnings)
    created = outcome.lead is not None and outcome.action in (
        "created",
        "notified",
        "deactivated",
        "removed",
    )
    return _done(
        {
            "action": outcome.action,
            "lead": lead_json(outcome.lead) if outcome.lead is not None else None,
            "matches": outcome.matches,
            "warnings": outcome.warnings,
            "pool_id": pool.id,
            "campaign": campaign.api_code,
        },
        201 if created else 200,
    )


# ---------------------------------------------------------------------------------------
# Interactions


def _parse_at(value) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _interaction_args(body: dict) -> dict:
    errors: dict[str, str] = {}
    for key in body:
        if key not in INTERACTION_FIELDS:
            errors[key] = f"Unknown field {key}; use {', '.join(INTERACTION_FIELDS)}."
    args: dict = {}
    for key in ("called_number", "caller_number", "wrap_code", "outcome", "notes"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            errors[key] = f"{key} must be text."
            continue
        args[key] = str(value)
    if len(args.get("notes", "")) > NOTES_MAX:
        errors["notes"] = f"notes can be at most {NOTES_MAX} characters long."
    direction = body.get("direction")
    if direction is not None:
        if direction not in DIRECTIONS:
            errors["direction"] = f"direction must be {' or '.join(DIRECTIONS)}."
        else:
            args["direction"] = direction
    completed = body.get("completed")
    if completed is not None:
        if not isinstance(completed, bool):
            errors["completed"] = "completed must be true or false."
        else:
            args["completed"] = completed
    if body.get("at") is not None:
        try:
            at = _parse_at(body["at"])
        except (ValueError, TypeError, OverflowError):
            errors["at"] = "at must be an ISO-8601 time, like 2026-03-01T14:30:00Z."
        else:
            if at > utcnow() + FUTURE_SKEW:
                errors["at"] = "at is in the future; send the time the call happened."
            else:
                args["at"] = at
    if body.get("callback_at") is not None:
        try:
            args["callback_at"] = _parse_at(body["callback_at"])
        except (ValueError, TypeError, OverflowError):
            errors["callback_at"] = (
                "callback_at must be an ISO-8601 time, like 2026-03-02T09:00:00-08:00."
            )
    code = body.get("campaign")
    if code is not None:
        campaign = None
        if isinstance(code, str):
            campaign = db.session.scalar(
                sa.select(Campaign).where(
                    Campaign.api_code == code, Campaign.account_id == g.api_user.account_id
                )
            )
        if campaign is None:
            errors["campaign"] = "There is no campaign with this code in this account."
        args["campaign"] = campaign
    agent_id = g.api_user.id
    email = body.get("agent_email")
    if email is not None:
        agent = None
        if isinstance(email, str):
            agent = db.session.scalar(
                sa.select(User).where(
                    User.email == email.strip().lower(), User.account_id == g.api_user.account_id
                )
            )
        if agent is None:
            errors["agent_email"] = "There is no user with this email in this account."
        else:
            agent_id = agent.id
    args["agent_id"] = agent_id
    if errors:
        _invalid("The call was not recorded.", errors)
    return args


@bp.post("/leads/<int:lead_id>/interactions")
@require_scope("record_outcomes")
def create_interaction(lead_id: int):
    lead = _own(Lead, lead_id, "lead")
    args = _interaction_args(_json_body())
    try:
        interaction = lead_service.record_interaction(lead, **args)
    except lead_service.LeadError as exc:
        raise ApiError(422, str(exc)) from None
    return _done(
        {
            "interaction": interaction_json(interaction, args.get("campaign")),
            "lead": lead_json(lead),
        },
        201,
    )


# ---------------------------------------------------------------------------------------
# Pools


@bp.get("/pools/<int:pool_id>/stats")
@require_scope("read")
def pool_stats(pool_id: int):
    return _done(pool_json(_own(LeadPool, pool_id, "lead pool")))
