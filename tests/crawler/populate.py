"""One fully populated instance for the crawler (tests/test_crawler.py): two accounts, each
with every object kind in every state, built through the app's own services.

Every object a user can name carries its account's marker in a name or subject: ``ALPHA-``
for account "alpha", ``BETA-`` for account "beta" (e.g. pool ``ALPHA-pool-active``), so a
response shown to one account's user must never contain the other's marker.

States reached by running the real services synchronously, in this process: imports at
each wizard step (create, attach the file, map, stage + analyse, review), a completed import
(``execute``), dedup test runs, a scheduled run (``schedule``), completed runs with golden
changes (``run``), an undone run (``run`` then ``undo``), do-not-call uploads (``upload``).
States set by hand because they cannot be reached quickly: a "running" import / dedup run
(status set and its job row marked running, alive), a "stalled" one (its heartbeat an hour
old), "failed" (``imports.fail`` / the status and error a failed task leaves), "cancelled".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import (
    Account,
    BackgroundJob,
    DedupJob,
    Lead,
    LeadPool,
    User,
)
from leadapp.security import account_scope

ACCOUNTS = {"alpha": "ALPHA", "beta": "BETA"}
PASSWORD = "correct horse battery"
AREA = {"alpha": "415", "beta": "212"}


@dataclass
class World:
    """One account's objects: ``objects[kind]`` is a list of (state, value) — the value a URL
    variable takes (an id, a code, a file name)."""

    slug: str
    marker: str
    account_id: int
    emails: dict[str, str]  # role → login email
    tokens: dict[str, str] = field(default_factory=dict)  # role → plaintext API token
    objects: dict[str, list[tuple[str, object]]] = field(default_factory=dict)
    staging: dict[int, Path] = field(default_factory=dict)  # import id → staging folder
    outbox: list[Path] = field(default_factory=list)

    def add(self, kind: str, state: str, value) -> None:
        self.objects.setdefault(kind, []).append((state, value))


def _phone(slug: str, n: int) -> str:
    return f"+1{AREA[slug]}55501{n:02d}"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _message(to: str, subject: str, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["Message-ID"] = message_id
    msg["From"] = "LeadApp <leadapp@localhost>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Mon, 03 Mar 2025 10:00:00 +0000"
    msg.set_content(f"{subject}\n")
    return bytes(msg)


def build(app, tmp: Path) -> dict[str, World]:
    """Both accounts, committed in the test's transaction (rolled back after the test)."""
    return {slug: _build_account(app, slug, marker, tmp) for slug, marker in ACCOUNTS.items()}


def _build_account(app, slug: str, m: str, tmp: Path) -> World:
    from leadapp.services.accounts import create_account, create_user

    with app.app_context():
        account = create_account(
            f"{m}-account", slug, f"admin@{slug}.test", PASSWORD, admin_name=f"{m}-user-admin"
        )
        db.session.commit()
        account_id = account.id
    w = World(
        slug,
        m,
        account_id,
        {"admin": f"admin@{slug}.test", "supervisor": f"boss@{slug}.test"},
    )
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        admin = db.session.scalar(sa.select(User).where(User.email == w.emails["admin"]))
        boss = create_user(account, w.emails["supervisor"], f"{m}-user-boss", PASSWORD)
        agent = create_user(account, f"agent@{slug}.test", f"{m}-user-agent", PASSWORD)
        agent.active = False
        db.session.flush()
        for state, user in (("admin", admin), ("supervisor", boss), ("inactive", agent)):
            w.add("user", state, user.id)
        _campaigns(w, account)
        _pools_and_leads(w, account, admin)
        _tokens_views_templates(w, admin, boss)
        _wrap_codes(w, account_id)
        _dial_leases(w, account_id)
        db.session.commit()
        _imports(app, w, account, admin, tmp)
        _dedup_jobs(w, admin)
        _background_jobs(w, account, admin)
        _outbox(app, w)
        _sessions_and_password_links(w, admin, boss, agent)
        db.session.commit()
    return w


def _campaigns(w: World, account) -> None:
    from leadapp.services import campaigns

    m = w.marker
    main = campaigns.create_campaign(account, f"{m}-campaign-main", project=f"{m}-project")
    db.session.flush()
    idle = campaigns.create_campaign(
        account, f"{m}-campaign-idle", project=main.project, active=False
    )
    db.session.flush()
    # Calling hours of its own (issue 15): weekends off, a state line of the marker's.
    from leadapp.services import calling_hours

    calling_hours.set_calling_hours(
        main,
        {"days": {"sat": None, "sun": None}, "states": {"US-FL": {"mon": ["09:00", "17:00"]}}},
        user_id=None,
    )
    for state, c in (("active", main), ("inactive", idle)):
        w.add("campaign", state, c.id)
        w.add("code", state, c.api_code)
    w.add("project", "main", main.project_id)
    w.campaign = main


def _pools_and_leads(w: World, account, admin) -> None:
    from leadapp.models import PoolAssignment
    from leadapp.services import dedup as dedup_service
    from leadapp.services import dnc
    from leadapp.services import leads as lead_service
    from leadapp.services import pools as pool_service

    m, today = w.marker, dt.date.today()
    from leadapp.services import campaign_duplicates, custom_fields

    # Custom lead fields, as Admin → Lead fields makes them: one that leads hold a value
    # of, one unique date field nobody uses yet.
    custom = custom_fields.add_field(account.id, f"{m}-field-loyalty", "text", max_length=40)
    unused = custom_fields.add_field(account.id, f"{m}-field-since", "date", unique=True)
    w.add("field_definition", "custom", custom.id)
    w.add("field_definition", "unused", unused.id)
    # The main campaign's API leads match on any of the phone or the custom field.
    campaign_duplicates.set_api_rules(
        w.campaign,
        {"match": ["phone1", f"custom:{custom.key}"], "match_mode": "any"},
        user_id=admin.id,
    )
    pools = {
        "active": LeadPool(name=f"{m}-pool-active", description=f"{m}-pool-description"),
        "inactive": LeadPool(name=f"{m}-pool-inactive"),
        "future": LeadPool(
            name=f"{m}-pool-future",
            active_from=today + dt.timedelta(days=30),
            active_until=today + dt.timedelta(days=60),
        ),
        "dupes": LeadPool(name=f"{m}-pool-dupes"),
    }
    db.session.add_all(pools.values())
    db.session.flush()
    for pool in pools.values():
        db.session.add(PoolAssignment(pool_id=pool.id, campaign_id=w.campaign.id))
    pool_service.set_status([pools["inactive"]], "inactive", admin)
    system = dedup_service.inactive_pool()  # the account's system pool, made on first use
    db.session.flush()
    for state, pool in (*pools.items(), ("system", system)):
        w.add("pool", state, pool.id)
    w.pools = pools

    def lead(state: str, n: int, pool="active", **data) -> Lead:
        made = lead_service.create_lead(
            pools[pool],
            {"first_name": f"{m}-lead-{state}", "last_name": "Crawl", "phone1": _phone(w.slug, n)}
            | data,
            user_id=admin.id,
            options={"scope": "none"},  # the copies for the dedup runs are kept
        ).lead
        w.add("lead", state, made.id)
        return made

    lead(
        "open",
        1,
        email=f"open@{w.slug}.test",
        customer_key=f"{m}-key-1",
        **{custom.key: f"{m}-gold"},
    )
    lead("closed", 2).status = "closed"
    lead("inactive", 3).status = "inactive"
    lead("removed", 4).status = "removed"
    called = lead("callback", 5)
    lead_service.record_interaction(
        called,
        campaign=w.campaign,
        agent_id=admin.id,
        wrap_code="NO_ANSWER",
        outcome="no answer",
        notes=f"{m}-note <b>rang</b>",
    )
    lead_service.set_wrap_code(
        called,
        "callback",
        completed=False,
        callback_at=_utcnow() + dt.timedelta(days=1),
        user_id=admin.id,
    )
    done = lead("completed", 6)
    lead_service.set_wrap_code(done, "SALE", completed=True, user_id=admin.id)
    lead("do-not-call", 7)
    lead("future-pool", 8, pool="future")
    lead("inactive-pool", 9, pool="inactive")
    entry, _, _ = dnc.add_number(account, _phone(w.slug, 7), user_id=admin.id, note=f"{m}-dnc")
    w.add("dnc", "listed", entry.id)
    # Three numbers × three copies for the dedup runs; one copy of the first number has calls,
    # one of the second number is on the do-not-call list: golden records inherit them.
    for copy in range(3):
        for n in (20, 21, 22):
            made = lead("duplicate", n, pool="dupes")
            made.created_at = dt.datetime(2026, 1, 1) + dt.timedelta(days=copy * 3 + n)
            if n == 20 and copy == 0:
                lead_service.record_interaction(
                    made, campaign=w.campaign, agent_id=admin.id, wrap_code="NO_ANSWER"
                )
    dnc_entry, _, _ = dnc.add_number(account, _phone(w.slug, 21), user_id=admin.id)
    w.add("dnc", "dupe", dnc_entry.id)
    db.session.flush()
    pool_service.refresh_counts(list(pools.values()) + [system])


def _tokens_views_templates(w: World, admin, boss) -> None:
    from leadapp.services import api_tokens, saved_views
    from leadapp.services.imports.mapping import save_template
    from leadapp.services.pool_grid import GridFilters

    m = w.marker
    for role, user in (("admin", admin), ("supervisor", boss)):
        token, w.tokens[role] = api_tokens.create_token(user, f"{m}-token-{role}")
        w.add("token", role, token.id)
    old, _ = api_tokens.create_token(boss, f"{m}-token-revoked")
    api_tokens.revoke(old, boss)
    w.add("token", "revoked", old.id)
    mine = saved_views.save_view(boss, f"{m}-view-boss", GridFilters(q="crawl"))
    shared = saved_views.save_view(admin, f"{m}-view-shared", GridFilters(status="active"))
    saved_views.set_shared(admin, shared, True)
    starred = saved_views.save_view(admin, f"{m}-view-starred", GridFilters())
    saved_views.set_starred(admin, starred, True)
    for state, view in (("own", mine), ("shared", shared), ("starred", starred)):
        w.add("view", state, view.id)
    template = save_template(
        f"{m}-template", {"first_name": "first_name", "phone1": "phone1"}, [], admin.id
    )
    w.add("template", "saved", template.id)


def _wrap_codes(w: World, account_id: int) -> None:
    """A default wrap code of the account (SALE) and one of its own."""
    from leadapp.services import wrap_codes

    sale = next(c for c in wrap_codes.codes(account_id) if c.code == "SALE")
    w.add("wrap_code", "default", sale.id)
    own = wrap_codes.save_code(account_id, f"{w.marker}_REFUSED", f"{w.marker}-wrap", "closed")
    w.add("wrap_code", "own", own.id)


CSV = "first_name,last_name,phone1,email\n{m}-row-a,One,{p1},a@x.test\n{m}-row-b,Two,{p2},\n"


def _dial_leases(w: World, account_id: int) -> None:
    """Leases of the dial queue (issue 18), set by hand: one running, one released."""
    from leadapp.models import Campaign, DialLease

    campaign_id = db.session.scalar(sa.select(Campaign.id).order_by(Campaign.id).limit(1))
    leads = db.session.scalars(sa.select(Lead).order_by(Lead.id).limit(2)).all()
    now = _utcnow()
    for state, lead, ended in (("open", leads[0], None), ("released", leads[1], now)):
        lease = DialLease(
            account_id=account_id,
            lead_id=lead.id,
            campaign_id=campaign_id,
            pool_id=lead.pool_id,
            leased_at=now,
            expires_at=now + dt.timedelta(minutes=5),
            ended_at=ended,
            end_reason="released" if ended else None,
        )
        db.session.add(lease)
        db.session.flush()
        w.add("lease", state, lease.id)


def _imports(app, w: World, account, admin, tmp: Path) -> None:
    """One import per wizard step and per run state."""
    from leadapp.services import jobs as job_rows
    from leadapp.services.imports import analyse as import_analyse
    from leadapp.services.imports import duplicates as import_duplicates
    from leadapp.services.imports import mapping as import_mapping
    from leadapp.services.imports import read as import_read
    from leadapp.services.imports import run as import_run
    from leadapp.services.imports import stage as import_stage
    from leadapp.services.imports import write as import_write

    m = w.marker
    source = tmp / f"{m}-leads.csv"
    source.write_text(CSV.format(m=m, p1=_phone(w.slug, 40), p2=_phone(w.slug, 41)))

    def new(state: str):
        imp = import_read.create_import(account, admin, w.campaign, pool_name=f"{m}-import-{state}")
        db.session.flush()
        w.add("import", state, imp.id)
        return imp

    def through(state: str, last: str):
        imp = new(state)
        steps = ("file", "mapping", "check", "review")
        for step in steps[: steps.index(last) + 1]:
            if step == "file":
                info = import_read.attach_file(imp, source, source.name)
                w.staging[imp.id] = Path(imp.staging_path)
            elif step == "mapping":
                import_mapping.set_mapping(
                    imp,
                    import_mapping.suggest(imp, info),
                    info.headers,
                    [],
                    import_duplicates.DuplicateSettings(scope="campaign", action="discard-new"),
                )
                db.session.commit()
            elif step == "check":
                import_stage.stage(imp)
                imp.step = "check"
            else:
                import_analyse.analyse(imp)
        db.session.commit()
        return imp

    new("settings")
    through("file", "file")
    through("mapping", "mapping")
    checked = through("check", "check")
    w.rows = [int(r) for r in import_stage.staged(checked, ["_row"])["_row"]]
    through("review", "review")
    for state in ("running", "stalled"):
        imp = through(state, "review")
        row = job_rows.create_job(w.account_id, "import", f"{m}-job-import", "imports", admin.id)
        job_rows.mark_running(row)
        if state == "stalled":
            row.heartbeat_at = row.started_at = _utcnow() - dt.timedelta(hours=1)
        imp.job_id, imp.status, imp.step = row.id, "running", "import"
    failed = through("failed", "review")
    failed.step = "import"
    import_run.fail(failed, "The database refused the leads; run the import again.")
    done = through("completed", "review")
    import_write.execute(done)
    db.session.commit()


def _dedup_jobs(w: World, admin) -> None:
    from leadapp.services import dedup as svc
    from leadapp.services import jobs as job_rows

    m = w.marker

    def job(state: str, tested: bool = True, **fields) -> DedupJob:
        made = DedupJob(name=f"{m}-dedup-{state}", description=f"{m}-dedup-about", **fields)
        db.session.add(made)
        db.session.flush()
        if tested:
            svc.test_run(made)
            made.status = "tested"
            made.acknowledged_by_id, made.acknowledged_at = admin.id, _utcnow()
        w.add("dedup", state, made.id)
        return made

    def ran(made: DedupJob) -> None:
        made.status = "running"
        svc.run(made)
        db.session.flush()

    job("draft", tested=False)
    job("tested")
    scheduled = job("scheduled")
    svc.schedule(
        scheduled,
        _utcnow() + dt.timedelta(days=1),
        [w.emails["admin"]],
        acknowledged=True,
        user_id=admin.id,
    )
    undone = job("undone")
    ran(undone)
    svc.undo(undone)
    ran(job("completed"))  # the golden records inherit the calls and the do-not-call flag
    for state in ("running", "stalled"):
        made = job(state)
        row = job_rows.create_job(w.account_id, "dedup_run", f"{m}-job-dedup", "dedup", admin.id)
        job_rows.mark_running(row)
        if state == "stalled":
            row.heartbeat_at = row.started_at = _utcnow() - dt.timedelta(hours=1)
        made.status, made.job_id = "running", row.id
    failed = job("failed")
    failed.status, failed.error = "failed", "The run stopped: the database was not reachable."
    job("cancelled").status = "cancelled"
    db.session.flush()


def _background_jobs(w: World, account, admin) -> None:
    from leadapp.services import dnc
    from leadapp.services import jobs as job_rows

    m = w.marker
    for state in ("queued", "running", "completed", "failed"):
        row = job_rows.create_job(w.account_id, "pool_counts", f"{m}-job-{state}", "default")
        if state != "queued":
            job_rows.mark_running(row)
        if state == "completed":
            job_rows.mark_completed(row, {"message": f"{m}-job-done"})
        elif state == "failed":
            job_rows.mark_failed(row, "The recount stopped: the database was not reachable.")
        w.add("job", state, row.id)
    good = f"phone\n{_phone(w.slug, 60)}\n{_phone(w.slug, 61)}\nnot a number\n".encode()
    row = job_rows.create_job(w.account_id, "dnc_upload", f"{m}-dnc-upload", "default", admin.id)
    job_rows.mark_running(row)
    result = dnc.upload(account, good, user_id=admin.id, note=f"{m}-dnc-upload")
    job_rows.mark_completed(row, {"message": result.summary()})
    w.add("dnc_upload", "completed", row.id)
    row = job_rows.create_job(w.account_id, "dnc_upload", f"{m}-dnc-failed", "default", admin.id)
    job_rows.mark_running(row)
    job_rows.mark_failed(row, "The file is not a list of phone numbers.")
    w.add("dnc_upload", "failed", row.id)
    db.session.flush()
    assert db.session.get(BackgroundJob, row.id).status == "failed"


def _sessions_and_password_links(w: World, admin, boss, agent) -> None:
    """A second browser session of each user (its browser named with the marker), an ended
    one; set-password links valid, used and expired (each newer one retires the older)."""
    from leadapp.services import password_links, user_sessions

    for state, user in (("admin", admin), ("supervisor", boss)):
        row, _, _ = user_sessions.start(
            user, remember=True, ip_address="192.0.2.1", user_agent=f"{w.marker}-browser-{state}"
        )
        w.add("session", state, row.id)
    ended, _, _ = user_sessions.start(boss, remember=False, user_agent=f"{w.marker}-browser-old")
    user_sessions.end(ended)
    w.add("session", "ended", ended.id)
    # The agent (inactive): links of an inactive user never work; the boss's do.
    old, old_secret = password_links.issue(boss, admin)
    expired, expired_secret = password_links.issue(boss, admin)
    _, valid_secret = password_links.issue(boss, admin)
    old.used_at = _utcnow()
    expired.used_at = None
    expired.expires_at = _utcnow() - dt.timedelta(hours=1)
    _, inactive_secret = password_links.issue(agent, admin)
    for state, secret in (
        ("valid", valid_secret),
        ("used", old_secret),
        ("expired", expired_secret),
        ("inactive user", inactive_secret),
    ):
        w.add("password_link", state, secret)
    db.session.flush()


def _outbox(app, w: World) -> None:
    from leadapp.services.mail import record_outbox_message

    outbox = Path(app.config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"crawler-{w.slug}-{w.account_id}.eml"
    (outbox / name).write_bytes(
        _message(w.emails["admin"], f"{w.marker}-mail subject", f"<{name}@crawler.test>")
    )
    # The mail job records each message's account as it writes it (issue 16).
    record_outbox_message(w.account_id, f"<{name}@crawler.test>")
    w.outbox.append(outbox / name)
    w.add("outbox", "message", name)
