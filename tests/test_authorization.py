"""The authorization matrix: every route × {anonymous, supervisor, admin} × {own account,
another account's object}, with the answer each cell must get (issue 7, DESIGN.md §1).

The matrix is data (``MATRIX``: endpoint → cases of method, URL arguments, rule); a route
added to the app without an entry fails ``test_every_route_has_an_entry``. One world (two
accounts, each with its objects) is built per test; each request runs in a savepoint that
is rolled back after it (and the import's staging folder is put back), so a delete or a
deactivation never changes what the next request sees.

Rules:

* ``public``: everyone gets a page.
* ``user``: anonymous → the login page (a 401 is also fine for htmx); supervisor and admin
  of the account → allowed; another account's object → 404 for both.
* ``admin``: anonymous → login; supervisor → 403 (own or other object); admin → allowed,
  another account's object → 404.
* ``api`` (token auth): no credentials, a session cookie without a token, a revoked token →
  401 JSON; a token of the account → allowed; another account's object → 404 JSON.
* ``api_catchall``: 401 without a valid token, 404 with one (405 at an address that exists
  for another method).

Another account's objects named in a form or JSON body rather than the URL (bulk pool
actions, an API lead's ``pool_id``) are "ignored": an ordinary answer, and the object
neither changed nor shown (checked inside the request's savepoint).

"Allowed" is anything but 401/403/404/405, a redirect to the login page, a CSRF refusal or a
5xx; validation answers to a minimal body (400/409/422, a redirect back) are allowed. A 5xx
fails every cell. Failures are reported together as one table.

Known authorization bugs are listed in ``KNOWN_BUGS`` (strict: a listed cell that starts
passing fails the test, so the entry is removed with the fix). ``AUTHZ_DUMP=1 pytest -s``
prints every cell with its answer.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from leadapp.extensions import QUEUE_NAMES, db, redis_connection
from leadapp.models import (
    Account,
    DedupJob,
    DoNotCallNumber,
    Lead,
    LeadPool,
    PoolAssignment,
    SavedView,
    User,
)
from leadapp.models.base import utcnow
from leadapp.models.compliance import TOKEN_SCOPES
from leadapp.models.dialing import DialLease
from leadapp.models.fields import FieldDefinition
from leadapp.models.wrap_code import WrapCode
from leadapp.security import account_scope
from tests.conftest import csrf_from, login

# ---------------------------------------------------------------------------------------
# The matrix

Args = Callable[[SimpleNamespace, str], dict]
Data = Callable[[SimpleNamespace, str], dict]


@dataclass(frozen=True)
class Case:
    """One way of calling an endpoint. ``args(w, role)`` gives the URL's values for the
    objects ``w`` of the account under test (own or other) as seen by ``role``; extra
    values become the query string. ``data`` is the form (or JSON for the API) sent."""

    method: str
    rule: str
    args: Args = lambda w, r: {}
    data: Data | None = None
    htmx: bool = False
    label: str = ""
    # auth.logout: a logged-in user's legitimate answer is the login page (without next=).
    logout: bool = False
    # api_catchall: the answer with a valid token (405 where the address exists).
    token_answer: str = "404"
    # Another account's objects named in the body, not the URL: the answer is an ordinary
    # one (they are simply not found among the account's own), and ``verify(app, response,
    # w)`` (run before the rollback) says what was wrong if they were touched or shown.
    verify: Callable | None = None

    @property
    def name(self) -> str:
        return self.label or self.method


def _get(rule: str, args: Args = lambda w, r: {}, **kw) -> Case:
    return Case("GET", rule, args, **kw)


def _post(rule: str, args: Args = lambda w, r: {}, data: Data | None = None, **kw) -> Case:
    return Case("POST", rule, args, data, **kw)


def _user_id(w, r):
    return {"user_id": w.victim}


def _campaign(w, r):
    return {"campaign_id": w.campaign}


def _dedup(w, r):
    return {"job_id": w.dedup}


def _imp(w, r):
    return {"import_id": w.imp}


def _template(w, r):
    return {"template_id": w.template}


def _lead(w, r):
    return {"lead_id": w.lead}


def _pool(w, r):
    return {"pool_id": w.pool}


def _wrap_code(w, r):
    return {"wrap_code_id": w.wrap_code}


def _field(w, r):
    return {"field_id": w.field}


def _view(w, r):
    return {"view_id": w.views[r]}  # the acting user's own view: only its owner may change it


def _format(w, r):
    return {"encoding": "", "delimiter": ""}  # "Detect"


def _api_json(w, r):
    return {}


def _pool_untouched(app, response, w) -> str | None:
    """The pool ``w.pool`` (another account's, named in the body) is as it was, unnamed."""
    with app.app_context():
        pool = db.session.get(LeadPool, w.pool)  # no account bound here: any account's
        leads = db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == w.pool))
    if pool is None or pool.status != "active" or leads != 1:
        return "changed the pool named in the body"
    if w.pool_name in response.get_data(as_text=True):
        return "shows the pool named in the body"
    return None


def _body_pool(w, r):
    return {"pool_ids": str(w.pool)}


PUBLIC, USER, ADMIN, API, API_ANY = "public", "user", "admin", "api", "api_catchall"

MATRIX: dict[str, list[Case]] = {
    # --- auth
    "auth.login": [_get(PUBLIC), _post(PUBLIC)],
    "auth.logout": [_post(USER, logout=True)],
    "auth.sessions": [_get(USER)],
    # Another session of the acting user's (own), or of a user of the other account.
    "auth.end_session": [_post(USER, lambda w, r: {"session_id": w.sessions[r]})],
    "auth.end_all_sessions": [_post(USER, logout=True)],
    "auth.change_password": [_get(USER), _post(USER)],
    "auth.set_password": [
        _get(PUBLIC, lambda w, r: {"secret": w.password_link}),
        _post(PUBLIC, lambda w, r: {"secret": w.password_link}),
    ],
    # --- admin (users, outbox)
    "admin.index": [_get(ADMIN)],
    "admin.users": [_get(ADMIN), _post(ADMIN)],
    "admin.set_role": [_post(ADMIN, _user_id, lambda w, r: {"role": "supervisor"})],
    "admin.toggle_active": [_post(ADMIN, _user_id)],
    "admin.reset_password": [_post(ADMIN, _user_id)],
    "admin.outbox_index": [_get(ADMIN)],
    "admin.outbox_message": [_get(ADMIN, lambda w, r: {"name": w.outbox})],
    "admin.wrap_codes": [_get(ADMIN), _post(ADMIN)],
    "admin.edit_wrap_code": [_post(ADMIN, _wrap_code)],
    "admin.delete_wrap_code": [_post(ADMIN, _wrap_code)],
    "admin.custom_fields": [_get(ADMIN), _post(ADMIN)],
    "admin.edit_custom_field": [_get(ADMIN, _field), _post(ADMIN, _field)],
    "admin.remove_custom_field": [_post(ADMIN, _field)],
    # --- API (token auth)
    "api.index": [_get(API)],
    "api.campaign_detail": [_get(API, lambda w, r: {"code": w.code})],
    "api.create_lead": [
        _post(API, lambda w, r: {"code": w.code}, _api_json),
        _post(
            API,
            lambda w, r: {"code": w.home.code},
            lambda w, r: {"pool_id": w.pool, "phone1": "4155550177"},
            label="POST pool_id in body",
            verify=_pool_untouched,
        ),
    ],
    "api.create_interaction": [_post(API, _lead, _api_json)],
    "api.pool_stats": [_get(API, _pool)],
    "api.dial_next": [_post(API, lambda w, r: {"code": w.code}, _api_json)],
    "api.release_lease": [_post(API, lambda w, r: {"lease_id": w.lease}, _api_json)],
    "api.not_found": [
        Case(method, API_ANY, lambda w, r: {"rest": "no/such/thing"}, label=f"{method} unknown")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    ]
    # POST /api/v1/ is the index's address: a 405 naming GET.
    + [Case("POST", API_ANY, lambda w, r: {"rest": ""}, label="POST /api/v1/", token_answer="405")],
    # --- API tokens settings page
    "tokens.index": [_get(USER), _post(USER)],
    "tokens.revoke": [_post(USER, lambda w, r: {"token_id": w.tokens[r]})],
    # --- campaigns and projects
    "campaigns.index": [_get(USER)],
    "campaigns.calling_hours": [_post(ADMIN, _campaign)],
    "campaigns.api_duplicates": [_post(ADMIN, _campaign)],
    "campaigns.dialing": [_get(USER, _campaign)],
    "campaigns.dialing_settings": [_post(ADMIN, _campaign)],
    "campaigns.dialing_export": [_get(USER, _campaign)],
    "campaigns.show": [_get(USER, _campaign)],
    "campaigns.new": [_get(ADMIN), _post(ADMIN)],
    "campaigns.edit": [_get(ADMIN, _campaign), _post(ADMIN, _campaign)],
    "campaigns.move_pools": [_post(ADMIN, _campaign, htmx=True)],
    "campaigns.apply_pools": [_post(ADMIN, _campaign, htmx=True)],
    "campaigns.pool_settings": [_post(ADMIN, _campaign, htmx=True)],
    "campaigns.projects": [_get(USER)],
    "campaigns.create_project": [_post(ADMIN)],
    "campaigns.rename_project": [_post(ADMIN, lambda w, r: {"project_id": w.project})],
    # --- dedup
    "dedup.index": [_get(USER)],
    "dedup.new": [_get(ADMIN), _post(ADMIN)],
    "dedup.show": [_get(USER, _dedup), _post(ADMIN, _dedup)],
    "dedup.start_test_run": [_post(ADMIN, _dedup)],
    "dedup.test_run_status": [_get(USER, _dedup, htmx=True)],
    "dedup.run_status": [_get(USER, _dedup, htmx=True)],
    "dedup.scope_total": [_get(USER, htmx=True)],
    "dedup.cancel": [_post(ADMIN, _dedup)],
    "dedup.report": [_get(USER, _dedup)],
    "dedup.report_csv": [_get(USER, _dedup)],
    "dedup.undo": [_post(ADMIN, _dedup)],
    "dedup.resume": [_post(ADMIN, _dedup)],
    # --- imports (a staged draft import)
    "imports.index": [_get(USER)],
    "imports.new": [_get(USER), _post(USER)],
    "imports.resume": [_get(USER, _imp)],
    "imports.run_again": [_post(USER, _imp)],
    "imports.check_again": [_post(USER, _imp)],
    "imports.show": [_get(USER, _imp)],
    "imports.file": [_get(USER, _imp), _post(USER, _imp)],
    "imports.set_format": [_post(USER, _imp, _format)],
    "imports.restart": [_post(USER, _imp, _format)],
    "imports.mapping": [_get(USER, _imp), _post(USER, _imp)],
    "imports.mapping_rule": [_get(USER, _imp, htmx=True)],
    "imports.duplicates": [_get(USER, _imp), _post(USER, _imp)],
    "imports.check": [_get(USER, _imp)],
    "imports.cell": [
        _get(
            USER, lambda w, r: {"import_id": w.imp, "row": w.row, "field": "first_name"}, htmx=True
        ),
        _post(
            USER,
            lambda w, r: {"import_id": w.imp, "row": w.row, "field": "first_name"},
            lambda w, r: {"value": "Ada"},
            htmx=True,
        ),
    ],
    "imports.delete_rows": [_post(USER, _imp, lambda w, r: {"row": str(w.row)})],
    "imports.review": [_get(USER, _imp), _post(USER, _imp)],
    "imports.download": [_get(USER, lambda w, r: {"import_id": w.imp, "kind": "log"})],
    "imports.discard": [_post(USER, lambda w, r: {"import_id": w.draft})],
    "imports.templates": [_get(USER)],
    "imports.template": [_get(USER, _template)],
    "imports.rename_template": [
        _post(USER, _template, lambda w, r: {"name": f"{w.template_name} renamed"})
    ],
    "imports.delete_template": [_post(USER, _template)],
    # --- background jobs
    "jobs.show": [_get(USER, lambda w, r: {"job_id": w.bjob})],
    "jobs.progress": [_get(USER, lambda w, r: {"job_id": w.bjob}, htmx=True)],
    # --- leads and the do-not-call list
    "leads.index": [_get(USER)],
    "leads.bulk": [_post(USER)],
    "leads.save_columns": [_post(USER)],
    "leads.new": [_get(USER), _post(USER)],
    "leads.show": [_get(USER, _lead)],
    "leads.edit": [_get(USER, _lead), _post(USER, _lead)],
    "leads.wrap_code": [_post(USER, _lead)],
    "leads.copy": [_post(USER, _lead)],
    "leads.delete": [_post(USER, _lead)],
    "leads.dnc": [_get(USER)],
    "leads.dnc_add": [_post(USER)],
    "leads.dnc_upload": [_post(USER)],
    "leads.dnc_run_again": [_post(USER, lambda w, r: {"job_id": w.dnc_upload})],
    "leads.dnc_discard": [_post(USER, lambda w, r: {"job_id": w.dnc_upload})],
    "leads.dnc_remove": [_post(ADMIN, lambda w, r: {"number_id": w.dnc})],
    # --- lead pools and saved views
    "pools.home": [_get(USER)],
    "pools.new_list": [_get(USER), _post(USER)],
    "pools.confirm_delete_list": [_get(ADMIN, _pool)],
    "pools.delete_list": [_post(ADMIN, _pool)],
    "pools.index": [_get(USER), _get(USER, lambda w, r: {"view": w.views[r]}, label="GET ?view")],
    "pools.show": [_get(USER, _pool)],
    "pools.edit": [_post(USER, _pool, lambda w, r: {"name": "Renamed pool"})],
    "pools.toggle": [_post(USER, _pool)],
    "pools.reset": [_post(USER, _pool)],
    "pools.download": [_get(USER, lambda w, r: {"pool_id": w.pool, "kind": "statistics"})],
    "pools.refresh_counts": [_post(USER)],
    "pools.save_view": [_post(USER, data=lambda w, r: {"name": "Mine"})],
    "pools.copy_view": [_post(USER, _view)],
    "pools.share_view": [_post(USER, _view, lambda w, r: {"shared": "1"})],
    "pools.star_view": [_post(USER, _view, lambda w, r: {"starred": "1"})],
    "pools.delete_view": [_post(USER, _view)],
    "pools.confirm_delete": [_post(USER, data=_body_pool, htmx=True, verify=_pool_untouched)],
    "pools.bulk": [
        _post(
            USER,
            data=lambda w, r, action=action: {**_body_pool(w, r), "action": action},
            label=f"POST {action}",
            verify=_pool_untouched,
        )
        for action in ("deactivate", "delete")
    ],
}

# Genuine authorization bugs, cell → the bug (strict: fixed cells must leave this list).
# A cell is (endpoint, case name, principal, account).
KNOWN_BUGS: dict[tuple[str, str, str, str], str] = {}

ROLES = ("anonymous", "supervisor", "admin")
API_ONLY = ("session", "revoked")  # a session cookie without a token; a revoked token
API_RULES = (API, API_ANY)
CSRF_SENTENCE = "Your form expired or was not sent from this site"


def expected(case: Case, principal: str, account: str) -> str:
    rule = case.rule
    if case.verify is not None and account == "other" and principal not in API_ONLY:
        if principal == "anonymous":
            return "401" if rule in API_RULES else "login"
        return "ignored"
    if rule == PUBLIC:
        return "page"
    if rule in (USER, ADMIN):
        if principal == "anonymous":
            return "login"
        if rule == ADMIN and principal == "supervisor":
            return "403"
        return "allowed" if account == "own" else "404"
    if principal in ("anonymous", "session", "revoked"):
        return "401"
    if rule == API_ANY:
        return case.token_answer
    return "allowed" if account == "own" else "404"


# ---------------------------------------------------------------------------------------
# The world: two accounts with one of everything


CSV = "first_name,last_name,phone1\nAda,Lovelace,4155550132\nAlan,Turing,4155550133\n"


def _message(to: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@authz.test>"
    msg["From"] = "LeadApp <leadapp@localhost>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Mon, 03 Mar 2025 10:00:00 +0000"
    msg.set_content("Hello.\n")
    return msg


def _build_account(app, make_account, make_user, slug: str, tmp: Path) -> SimpleNamespace:
    from leadapp.services import api_tokens, mapping_templates, password_links, user_sessions
    from leadapp.services.accounts import create_campaign
    from leadapp.services.imports import analyse as import_analyse
    from leadapp.services.imports import duplicates as import_duplicates
    from leadapp.services.imports import mapping as import_mapping
    from leadapp.services.imports import read as import_read
    from leadapp.services.imports import stage as import_stage
    from leadapp.services.jobs import create_job
    from leadapp.services.mail import record_outbox_message

    account_id = make_account(slug)
    supervisor_id = make_user(account_id, f"boss@{slug}.test", role="supervisor")
    victim_id = make_user(account_id, f"agent@{slug}.test", role="supervisor")
    tag = slug.title()
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        admin = db.session.scalar(sa.select(User).where(User.email == f"admin@{slug}.test"))
        supervisor = db.session.get(User, supervisor_id)
        campaign = create_campaign(account, f"{tag} campaign")
        db.session.flush()
        pool = LeadPool(name=f"{tag} pool")
        db.session.add(pool)
        db.session.flush()
        lead = Lead(pool_id=pool.id, first_name=f"{tag}first", last_name="Lead")
        assignment = PoolAssignment(pool_id=pool.id, campaign_id=campaign.id)
        dedup = DedupJob(name=f"{tag} dedup")
        dnc = DoNotCallNumber(phone="+14155550199", note="asked")
        views = {
            "supervisor": SavedView(user_id=supervisor.id, name=f"{tag} sup view", filters={}),
            "admin": SavedView(user_id=admin.id, name=f"{tag} admin view", filters={}),
        }
        field = FieldDefinition(key=f"{slug}_policy", label=f"{tag} policy", type="text")
        db.session.add_all([lead, assignment, dedup, dnc, field, *views.values()])
        db.session.flush()
        lease = DialLease(
            lead_id=lead.id,
            campaign_id=campaign.id,
            pool_id=pool.id,
            expires_at=utcnow() + dt.timedelta(minutes=5),
        )
        db.session.add(lease)
        wrap_code = db.session.scalar(sa.select(WrapCode.id).order_by(WrapCode.id))
        bjob = create_job(account_id, "pool_counts", f"{tag} recount", "default", admin.id)
        dnc_upload = create_job(account_id, "dnc_upload", f"{tag} upload", "default", admin.id)
        tokens, plaintext = {}, {}
        for role, user in (("supervisor", supervisor), ("admin", admin)):
            token, plaintext[role] = api_tokens.create_token(
                user, f"{tag} {role} script", scopes=list(TOKEN_SCOPES)
            )
            tokens[role] = token
        revoked, revoked_plain = api_tokens.create_token(supervisor, f"{tag} old script")
        api_tokens.revoke(revoked, supervisor)
        db.session.flush()

        # A staged draft import (bench/import.py's sequence, without execute).
        source = tmp / f"{slug}.csv"
        source.write_text(CSV)
        imp = import_read.create_import(account, admin, campaign, pool_name=f"{tag} import")
        info = import_read.attach_file(imp, source, source.name)
        import_mapping.set_mapping(
            imp,
            import_mapping.suggest(imp, info),
            info.headers,
            [],
            import_duplicates.DuplicateSettings(scope="campaign", action="discard-new"),
        )
        db.session.commit()
        import_stage.stage(imp)
        import_analyse.analyse(imp)
        db.session.commit()
        row = int(import_stage.staged(imp, ["_row"])["_row"].min())
        # A draft without a file (discarded by the matrix) and a mapping template.
        draft = import_read.create_import(account, admin, campaign, pool_name=f"{tag} draft")
        template = mapping_templates.save(f"{tag} template", {"Phone": "phone1"}, [], {}, admin.id)
        db.session.commit()

        outbox = Path(app.config["OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        eml = f"authz-{slug}-{account_id}.eml"
        (outbox / eml).write_bytes(bytes(_message(f"admin@{slug}.test", f"For {tag}")))
        record_outbox_message(account_id, f"<For-{tag}@authz.test>")
        # A second session of each user (not the one the matrix's requests use), and a
        # set-password link of the victim's.
        sessions = {
            role: user_sessions.start(user, remember=False)[0].id
            for role, user in (("supervisor", supervisor), ("admin", admin))
        }
        _, link_secret = password_links.reset(db.session.get(User, victim_id), admin)
        db.session.commit()

        w = SimpleNamespace(
            account=account_id,
            victim=victim_id,
            campaign=campaign.id,
            project=campaign.project_id,
            code=campaign.api_code,
            pool=pool.id,
            pool_name=pool.name,
            lead=lead.id,
            assignment=assignment.id,
            wrap_code=wrap_code,
            field=field.id,
            lease=lease.id,
            dedup=dedup.id,
            dnc=dnc.id,
            bjob=bjob.id,
            dnc_upload=dnc_upload.id,
            imp=imp.id,
            row=row,
            draft=draft.id,
            template=template.id,
            template_name=template.name,
            staging=Path(imp.staging_path),
            views={role: v.id for role, v in views.items()},
            tokens={role: t.id for role, t in tokens.items()},
            plaintext=plaintext,
            revoked=revoked_plain,
            outbox=outbox / eml,
            sessions=sessions,
            password_link=link_secret,
        )
    w.views["anonymous"] = w.views["supervisor"]
    w.tokens["anonymous"] = w.tokens["supervisor"]
    w.sessions["anonymous"] = w.sessions["supervisor"]
    return SimpleNamespace(**{**vars(w), "outbox": w.outbox.name, "outbox_path": w.outbox})


@pytest.fixture
def redis_untouched(app):
    """Jobs the requests hand to RQ (recounts, checks, test runs) are taken off again: their
    rows are rolled back, and a later worker test must not meet them."""
    with app.app_context():
        client = redis_connection.client()
        before = set(client.keys("*"))
        ids_before = {name: set(redis_connection.queue(name).job_ids) for name in QUEUE_NAMES}
    yield
    with app.app_context():
        client = redis_connection.client()
        for name in QUEUE_NAMES:
            queue = redis_connection.queue(name)
            for job_id in set(queue.job_ids) - ids_before[name]:
                queue.remove(job_id)
        new = set(client.keys("*")) - before
        if new:
            client.delete(*new)


@pytest.fixture
def world(app, make_account, make_user, tmp_path, redis_untouched):
    own = _build_account(app, make_account, make_user, "acme", tmp_path)
    other = _build_account(app, make_account, make_user, "zorro", tmp_path)
    own.home = other.home = own  # the acting users' account, for bodies naming others' objects
    yield SimpleNamespace(own=own, other=other)
    for w in (own, other):
        w.outbox_path.unlink(missing_ok=True)
        shutil.rmtree(w.staging, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Calling a cell and reading the answer


@dataclass
class Principal:
    name: str
    client: object
    csrf: str | None = None
    token: str | None = None  # API: the bearer token sent
    role: str = "anonymous"  # whose objects (views, tokens) the URLs name


@dataclass
class Cell:
    endpoint: str
    case: Case
    principal: str
    account: str
    expected: str
    got: str = ""
    detail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.endpoint, self.case.name, self.principal, self.account)


def _principals(app, world) -> dict[str, Principal]:
    anonymous = app.test_client()
    supervisor = app.test_client()
    admin = app.test_client()
    assert login(supervisor, "boss@acme.test").status_code == 302
    assert login(admin, "admin@acme.test").status_code == 302
    return {
        "anonymous": Principal("anonymous", anonymous, csrf_from(anonymous, "/login")),
        "supervisor": Principal(
            "supervisor", supervisor, csrf_from(supervisor, "/leads"), role="supervisor"
        ),
        "admin": Principal("admin", admin, csrf_from(admin, "/leads"), role="admin"),
    }


def _url(app, endpoint: str, values: dict, method: str) -> str:
    adapter = app.url_map.bind("localhost")
    url = adapter.build(endpoint, values, method=method)
    matched, _ = adapter.match(urlsplit(url).path, method=method)
    assert matched == endpoint, f"{url} routes to {matched}, not {endpoint}"
    return url


def classify(response) -> str:
    code = response.status_code
    if code >= 500:
        return f"5xx ({code})"
    if code in (301, 302, 303, 307, 308):
        target = urlsplit(response.headers.get("Location", ""))
        if target.path == "/login":
            return "login" if "next" in parse_qs(target.query) else "logged out"
        return f"allowed ({code} → {target.path})"
    if code in (401, 403, 404, 405):
        return str(code)
    if code == 400 and CSRF_SENTENCE in response.get_data(as_text=True):
        return "csrf refusal"
    return f"allowed ({code})"


def matches(expect: str, got: str, case: Case, response) -> bool:
    if expect == "page":
        # 409/422: the page answered with a sentence (another user's password link opened
        # while logged in; a form sent blank).
        return got.startswith("allowed") and response.status_code in (200, 302, 409, 422)
    if expect == "login":
        return got == "login" or (case.htmx and got == "401")
    if expect == "ignored":
        return got.startswith("allowed")
    if expect == "allowed":
        return got.startswith("allowed") or (case.logout and got == "logged out")
    if expect in ("401", "404", "405") and case.rule in API_RULES:
        return got == expect and response.is_json and "error" in response.get_json()
    return got == expect


def _snapshot(folder: Path, backup: Path) -> None:
    shutil.rmtree(backup, ignore_errors=True)
    if folder.exists():
        shutil.copytree(folder, backup)


def _restore(folder: Path, backup: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if backup.exists():
        shutil.copytree(backup, folder)


def run_cell(app, connection, cell: Cell, p: Principal, w, backup: Path) -> None:
    case = cell.case
    url = _url(app, cell.endpoint, case.args(w, p.role), case.method)
    headers = {}
    kwargs: dict = {}
    if case.htmx:
        headers["HX-Request"] = "true"
    if case.rule in API_RULES:
        if p.token:
            headers["Authorization"] = f"Bearer {p.token}"
        if case.method != "GET":
            kwargs["json"] = case.data(w, p.role) if case.data else {}
    elif case.method != "GET":
        data = case.data(w, p.role) if case.data else {}
        if p.csrf:
            headers["X-CSRFToken"] = p.csrf
            data = {**data, "csrf_token": p.csrf}
        kwargs["data"] = data
    cookie = p.client.get_cookie("session")
    staging = cell.endpoint.startswith("imports.")
    if staging:
        _snapshot(w.staging, backup)
    nested = connection.begin_nested()
    problem = response = None
    try:
        response = p.client.open(url, method=case.method, headers=headers, **kwargs)
        # A streamed answer (a CSV export) runs its generator now, inside this savepoint,
        # and ends its app context here: left to the garbage collector, its session's
        # cleanup would roll back a later request's savepoint.
        response.get_data()
        response.close()
        if cell.expected == "ignored":
            problem = case.verify(app, response, w)
    except Exception as exc:  # a propagated error is a 5xx too, and the other cells still run
        problem = f"5xx (raised {type(exc).__name__}: {exc})"
    finally:
        with app.app_context():
            db.session.remove()
        nested.rollback()
        if staging:
            _restore(w.staging, backup)
        # auth.logout (or a refused session) must not log the next request out.
        if cookie is not None:
            p.client.set_cookie(cookie.key, cookie.value)
    cell.detail = f"{case.method} {url}"
    if response is None:
        cell.got, cell.extra["ok"] = problem, False
        return
    cell.got = classify(response)
    cell.extra["ok"] = matches(cell.expected, cell.got, case, response) and not problem
    if problem:
        cell.got += f": {problem}"


def _table(cells: list[Cell], title: str) -> str:
    head = ("endpoint", "case", "role", "account", "expected", "got", "request")
    rows = [head] + [
        (c.endpoint, c.case.name, c.principal, c.account, c.expected, c.got, c.detail)
        for c in cells
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(v.ljust(widths[i]) for i, v in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * n for n in widths))
    return f"{title}\n" + "\n".join(lines)


def plan(world) -> list[tuple[Cell, SimpleNamespace]]:
    """Every cell of the matrix, with the objects (own or other account) it names."""
    cells = []
    for endpoint in sorted(MATRIX):
        for case in MATRIX[endpoint]:
            principals = ROLES + (API_ONLY if case.rule in API_RULES else ())
            for principal in principals:
                role = principal if principal in ROLES else "supervisor"
                own_values = (case.args(world.own, role), case.data and case.data(world.own, role))
                for account in ("own", "other"):
                    w = world.own if account == "own" else world.other
                    if account == "other":
                        values = (case.args(w, role), case.data and case.data(w, role))
                        if values == own_values:
                            continue  # the route names no object: nothing of another account
                    cell = Cell(
                        endpoint, case, principal, account, expected(case, principal, account)
                    )
                    cells.append((cell, w))
    return cells


# ---------------------------------------------------------------------------------------
# Tests


def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        routes.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_every_route_has_an_entry(app):
    routes = _routes(app)
    missing = sorted(set(routes) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(routes))
    assert not missing, f"routes without an entry in the authorization matrix: {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"
    uncovered = {
        endpoint: sorted(methods - {case.method for case in MATRIX[endpoint]})
        for endpoint, methods in routes.items()
        if methods - {case.method for case in MATRIX[endpoint]}
    }
    assert not uncovered, f"methods of routes without a matrix case: {uncovered}"
    for endpoint, cases in MATRIX.items():
        assert len({c.name for c in cases}) == len(cases), f"{endpoint}: two cases, one name"
        for case in cases:
            assert case.method in routes[endpoint], f"{endpoint} has no {case.method}"
            assert case.rule in (PUBLIC, USER, ADMIN, API, API_ANY), case
            assert (case.rule in API_RULES) == endpoint.startswith("api."), endpoint
    bugs = {(c.endpoint, c.case.name, c.principal, c.account) for c, _ in plan(_FakeWorld)}
    assert set(KNOWN_BUGS) <= bugs, (
        f"KNOWN_BUGS names cells that do not exist: {set(KNOWN_BUGS) - bugs}"
    )


def _fake(n: int) -> SimpleNamespace:
    roles = {"supervisor": n, "admin": n + 1, "anonymous": n}
    return SimpleNamespace(
        victim=n,
        campaign=n,
        pool_name=f"p{n}",
        project=n,
        code=f"c{n}",
        pool=n,
        lead=n,
        wrap_code=n,
        field=n,
        lease=n,
        dedup=n,
        dnc=n,
        bjob=n,
        dnc_upload=n,
        imp=n,
        row=n,
        draft=n,
        template=n,
        template_name=f"t{n}",
        outbox=f"{n}.eml",
        views=roles,
        tokens=roles,
        sessions=roles,
        password_link=f"link{n}",
    )


_FakeWorld = SimpleNamespace(own=_fake(1), other=_fake(10))
_FakeWorld.own.home = _FakeWorld.other.home = _FakeWorld.own


def test_authorization_matrix(app, world, tmp_path):
    with app.app_context():
        connection = db.session.bind  # the test's connection (tests/conftest.py)
    principals = _principals(app, world)
    for role, token in (("supervisor", "supervisor"), ("admin", "admin")):
        principals[f"api:{role}"] = Principal(
            role, app.test_client(), token=world.own.plaintext[token], role=role
        )
    principals["session"] = Principal("session", principals["supervisor"].client, role="supervisor")
    principals["revoked"] = Principal(
        "revoked", app.test_client(), token=world.own.revoked, role="supervisor"
    )
    backup = tmp_path / "staging-backup"

    cells = plan(world)
    for cell, w in cells:
        name = cell.principal
        if cell.case.rule in API_RULES and name in ("supervisor", "admin"):
            name = f"api:{name}"
        run_cell(app, connection, cell, principals[name], w, backup)

    if os.environ.get("AUTHZ_DUMP"):  # AUTHZ_DUMP=1 pytest -s: the whole matrix, answered
        print(_table([c for c, _ in cells], f"All {len(cells)} cells:"))
    failures = [c for c, _ in cells if not c.extra["ok"] and c.key not in KNOWN_BUGS]
    fixed = [c for c, _ in cells if c.extra["ok"] and c.key in KNOWN_BUGS]
    known = [c for c, _ in cells if not c.extra["ok"] and c.key in KNOWN_BUGS]
    report = []
    if failures:
        report.append(_table(failures, f"{len(failures)} of {len(cells)} cells answer wrongly:"))
    if fixed:
        report.append(
            _table(fixed, "Listed in KNOWN_BUGS but answering as expected (remove them):")
        )
    assert not report, "\n\n".join(report)
    if known:
        reasons = "; ".join(f"{'/'.join(c.key)}: {KNOWN_BUGS[c.key]}" for c in known)
        pytest.xfail(f"{len(known)} known authorization bug cell(s): {reasons}")


def test_post_without_csrf_token_is_refused_with_a_sentence(app, world):
    """A state-changing POST without its token gets a 400 and a visible sentence (htmx: the
    text for the page's modal), and changes nothing."""
    client = app.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    w = world.own
    posts = [
        (f"/leads/{w.lead}/delete", False),
        (f"/leads/{w.lead}/delete", True),
        (f"/pools/{w.pool}/toggle", True),
        (f"/admin/users/{w.victim}/active", False),
        (f"/imports/{w.imp}/rows/delete", True),
        ("/settings/api-tokens/", False),
        ("/logout", False),
    ]
    for url, htmx in posts:
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.post(url, data={"row": str(w.row)}, headers=headers)
        text = response.get_data(as_text=True)
        assert response.status_code == 400, (url, htmx, response.status_code)
        assert CSRF_SENTENCE in text, (url, htmx, text[:200])
        if htmx:
            assert response.mimetype == "text/plain", (url, response.mimetype)
    with app.app_context():
        assert db.session.get(Lead, w.lead) is not None
        assert db.session.get(User, w.victim).active
        assert db.session.get(LeadPool, w.pool).status == "active"
    # Still logged in: /logout without a token did nothing.
    assert client.get("/leads").status_code == 200
