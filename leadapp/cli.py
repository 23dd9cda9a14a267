"""``flask --app wsgi ...`` commands (DESIGN.md §7). Errors: one sentence on stderr, exit 1."""

from __future__ import annotations

import json
import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app
from rq import Queue
from rq.serializers import JSONSerializer

from leadapp.commands import CommandGroup, fail
from leadapp.extensions import QUEUE_NAMES, db, redis_connection
from leadapp.security import account_scope
from leadapp.services import accounts as account_service
from leadapp.services import pools as pool_service
from leadapp.tasks.worker import SCHEDULER_DEAD_SECONDS, LeadAppWorker

accounts_cli = CommandGroup("accounts", help="Create and list accounts.")
campaigns_cli = CommandGroup("campaigns", help="Create and change campaigns.")
pools_cli = CommandGroup("pools", help="Lead pool statistics and counters.")
jobs_cli = CommandGroup("jobs", help="Background jobs.")


def emit(data: dict, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, default=str) if as_json else text)


@accounts_cli.command("create")
@click.option("--name", required=True)
@click.option("--slug", required=True)
@click.option("--admin-email", required=True)
@click.option("--password", required=True)
@click.option("--region", default="US", show_default=True)
@click.option("--timezone", default="America/Los_Angeles", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def accounts_create(name, slug, admin_email, password, region, timezone, as_json):
    """Create an account with its first admin, its Inactive pool and standard fields."""
    try:
        account = account_service.create_account(
            name, slug, admin_email, password, region=region, timezone=timezone
        )
    except account_service.AccountError as exc:
        db.session.rollback()
        fail(str(exc))
    db.session.commit()
    emit(
        {"id": account.id, "slug": account.slug},
        as_json,
        f"Account {account.slug} created; {admin_email} can log in as admin.",
    )


@accounts_cli.command("list")
def accounts_list():
    from leadapp.models import Account

    for account in db.session.scalars(sa.select(Account).order_by(Account.slug)):
        click.echo(f"{account.slug}\t{account.name}\t{account.default_region}\t{account.timezone}")


def api_duplicate_options(command):
    """The options of a campaign's API duplicate rules (the names of ``leads import``)."""
    from leadapp.services.imports.duplicates import ACTIONS, MULTIPLE, SCOPES

    options = [
        click.option(
            "--match",
            help="API duplicate rules: match keys, comma-separated (phone1, email, "
            "customer_key, custom:FIELD).",
        ),
        click.option(
            "--match-mode",
            type=click.Choice(["any", "all"]),
            help="Several keys: any or all of them.",
        ),
        click.option(
            "--scope", type=click.Choice(SCOPES), help="Where API leads' duplicates are looked for."
        ),
        click.option("--open-only/--any-status", default=None, help="Only open leads match."),
        click.option(
            "--include-inactive/--active-pools-only", default=None, help="Inactive pools count."
        ),
        click.option("--action", type=click.Choice(ACTIONS), help="What a match does."),
        click.option(
            "--update-mode",
            type=click.Choice(["overwrite", "fill-blanks"]),
            help="Conflict policy of update-existing.",
        ),
        click.option(
            "--multiple", type=click.Choice(MULTIPLE), help="When several existing leads match."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


RULE_OPTIONS = (
    "match",
    "match_mode",
    "scope",
    "open_only",
    "include_inactive",
    "action",
    "update_mode",
    "multiple",
)


def _set_rules(campaign, given: dict) -> dict:
    """Apply the rule options given (others keep their value); the rules in full."""
    from leadapp.services import campaign_duplicates

    rules = {k: v for k, v in given.items() if k in RULE_OPTIONS and v is not None}
    if rules:
        try:
            campaign_duplicates.set_api_rules(campaign, rules, user_id=None)
        except campaign_duplicates.RulesError as exc:
            raise account_service.AccountError(str(exc)) from None
    return campaign_duplicates.api_rules(campaign)


zone_outside_region_option = click.option(
    "--zone-outside-region",
    is_flag=True,
    help="Confirm a default time zone that is not one of the region's.",
)


@campaigns_cli.command("create")
@click.option("--account", "slug", required=True)
@click.option("--name", required=True)
@click.option("--project", default="Default", show_default=True)
@click.option("--purpose", default="sales", show_default=True)
@click.option("--region")
@click.option("--timezone", help="Default zone; without it the region's (US and AU: asked).")
@zone_outside_region_option
@api_duplicate_options
@click.option("--json", "as_json", is_flag=True)
def campaigns_create(
    slug, name, project, purpose, region, timezone, zone_outside_region, as_json, **rules
):
    """Create a campaign (and its project when new), with its API duplicate rules."""
    try:
        account = account_service.account_by_slug(slug)
        with account_scope(account.id):
            campaign = account_service.create_campaign(
                account,
                name,
                project=project,
                purpose=purpose,
                region=region,
                timezone=timezone,
                zone_outside_region=zone_outside_region,
            )
            duplicate_rules = _set_rules(campaign, rules)
    except account_service.AccountError as exc:
        db.session.rollback()
        fail(str(exc))
    db.session.commit()
    emit(
        {
            "id": campaign.id,
            "name": campaign.name,
            "api_code": campaign.api_code,
            "duplicate_options": duplicate_rules,
        },
        as_json,
        f"Campaign {campaign.name} created in {slug}.",
    )


@campaigns_cli.command("edit")
@click.option("--account", "slug", required=True)
@click.option("--campaign", "campaign_name", required=True, help="The campaign's name.")
@click.option("--purpose")
@click.option("--region")
@click.option("--timezone")
@zone_outside_region_option
@api_duplicate_options
@click.option("--json", "as_json", is_flag=True)
def campaigns_edit(
    slug, campaign_name, purpose, region, timezone, zone_outside_region, as_json, **rules
):
    """Change a campaign's purpose, region, time zone or API duplicate rules (what is not
    given stays)."""
    from leadapp.models import Campaign
    from leadapp.services import campaigns as campaign_service

    try:
        account = account_service.account_by_slug(slug)
        with account_scope(account.id):
            campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == campaign_name))
            if campaign is None:
                raise account_service.AccountError(
                    f"The account {slug} has no campaign named '{campaign_name}'."
                )
            if purpose or region or timezone:
                campaign_service.update_campaign(
                    campaign,
                    name=campaign.name,
                    api_code=campaign.api_code,
                    project=campaign.project,
                    purpose=purpose or campaign.purpose,
                    timezone=timezone or campaign.timezone,
                    region=region or campaign.default_region,
                    window_start=campaign.window_start,
                    window_end=campaign.window_end,
                    weighting=campaign.weighting,
                    active=campaign.active,
                    zone_outside_region=zone_outside_region,
                )
            duplicate_rules = _set_rules(campaign, rules)
    except (account_service.AccountError, campaign_service.CampaignError) as exc:
        db.session.rollback()
        fail(str(exc))
    db.session.commit()
    emit(
        {
            "id": campaign.id,
            "name": campaign.name,
            "api_code": campaign.api_code,
            "purpose": campaign.purpose,
            "region": campaign.default_region,
            "timezone": campaign.timezone,
            "duplicate_options": duplicate_rules,
        },
        as_json,
        f"Campaign {campaign.name} saved.",
    )


@pools_cli.command("stats")
@click.option("--account", "slug", required=True)
@click.option("--json", "as_json", is_flag=True)
def pools_stats(slug, as_json):
    """Per-pool counts, as the pool grid shows them."""
    try:
        account = account_service.account_by_slug(slug)
    except account_service.AccountError as exc:
        fail(str(exc))
    with account_scope(account.id):
        rows = pool_service.pool_stats()
    if as_json:
        click.echo(json.dumps({"pools": rows}))
        return
    for r in rows:
        click.echo(
            f"{r['id']}\t{r['name']}\t{r['status']}\ttotal={r['total']}\tready={r['ready_to_dial']}"
        )


@pools_cli.command("recount")
@click.option("--account", "slug", required=True)
@click.option("--json", "as_json", is_flag=True)
def pools_recount(slug, as_json):
    """Count every pool of the account again from its leads (a repair: the counters move
    with each change to a lead, and bulk operations recount their pools)."""
    try:
        account = account_service.account_by_slug(slug)
    except account_service.AccountError as exc:
        fail(str(exc))
    with account_scope(account.id):
        off = pool_service.recount_all()
        db.session.commit()
    names = ", ".join(row["name"] for row in off)
    emit(
        {"repaired": off},
        as_json,
        f"Pools whose counters were off, now counted again: {names}."
        if off
        else "Every pool's counters were right.",
    )


@jobs_cli.command("requeue")
@click.option("--json", "as_json", is_flag=True)
def jobs_requeue(as_json):
    """Hand queued jobs that Redis lost (restarted without its data, flushed) to RQ again,
    and results emails that were never queued or were lost; workers also do this when they
    start."""
    from leadapp.tasks import QueueUnavailable, requeue_lost
    from leadapp.tasks.mail import requeue_lost_emails

    try:
        again = requeue_lost()
        emails = requeue_lost_emails()
    except QueueUnavailable as exc:
        fail(str(exc))
    emit(
        {"requeued": again, "emails_requeued": emails},
        as_json,
        f"{len(again)} job(s) handed to RQ again: {again}; "
        f"{len(emails)} results email(s) queued again: {emails}",
    )


@click.command("worker")
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also run RQ's scheduler. Several workers, on any machines, may be started so: "
    "one schedules, the others stand by to take over when it dies.",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queues", default=",".join(QUEUE_NAMES), show_default=True)
@click.option(
    "--scheduler-check",
    type=click.IntRange(min=1),
    default=None,
    metavar="SECONDS",
    help="With --with-scheduler: every SECONDS a standing-by worker checks whether the "
    "scheduler died and, if so, starts its own. One that died on this machine (process "
    f"gone, silent {SCHEDULER_DEAD_SECONDS} s) is replaced within about "
    f"{SCHEDULER_DEAD_SECONDS} + SECONDS s; one on another machine once RQ's lock "
    "expires, 61 s after its last heartbeat, + SECONDS. A worker busy with a job checks "
    "when the job ends. Default: SCHEDULER_CHECK_SECONDS, else 15.",
)
def worker(with_scheduler, burst, queues, scheduler_check):
    """Run an RQ worker inside the app context (jobs see the app's config and database)."""
    from leadapp.tasks import requeue_lost
    from leadapp.tasks.mail import requeue_lost_emails

    conn = redis_connection.client()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = set(names) - set(QUEUE_NAMES)
    if unknown:
        fail(f"Unknown queue(s) {', '.join(sorted(unknown))}; use {', '.join(QUEUE_NAMES)}.")
    again = requeue_lost()  # jobs Redis lost while no worker ran (restart, flush)
    if again:
        click.echo(f"Handed {len(again)} queued job(s) to RQ again: {again}", err=True)
    emails = requeue_lost_emails()  # and results emails a killed worker never queued
    if emails:
        click.echo(f"Queued {len(emails)} results email(s) again: {emails}", err=True)
    db.session.remove()
    db.engine.dispose()  # the work horses fork from here: start with no open connections
    if with_scheduler and not burst:  # a burst worker schedules once, at its start
        scheduler_check = scheduler_check or current_app.config["SCHEDULER_CHECK_SECONDS"]
    else:
        scheduler_check = None
    w = LeadAppWorker(
        [Queue(n, connection=conn, serializer=JSONSerializer) for n in names],
        connection=conn,
        serializer=JSONSerializer,
        scheduler_check=scheduler_check,
    )
    w.work(burst=burst, with_scheduler=with_scheduler)


@click.command("demo")
@click.option("--leads", "lead_count", default=2000, show_default=True)
def demo(lead_count):
    """A demo account with an admin, a supervisor, two campaigns and sample leads."""
    from leadapp.services import demo as demo_service

    info = demo_service.create_demo(lead_count)
    db.session.commit()
    click.echo(info["message"])


@click.command("mailsink")
def mailsink():
    """Run only the local SMTP sink (mail goes to the outbox folder)."""
    import time

    from leadapp.mailsink import start_sink

    start_sink(current_app.config["OUTBOX_DIR"], port=current_app.config["MAIL_PORT"])
    click.echo(f"SMTP sink on 127.0.0.1:{current_app.config['MAIL_PORT']}; Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


@click.command("run-all")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def run_all(host, port):
    """Start everything `make run` needs: Redis, SMTP sink, a worker, the web server."""
    from leadapp.launcher import run_all as launch

    sys.exit(launch(current_app, host, port))


@click.command("bootstrap")
def bootstrap():
    """Create the demo data when the database has no account yet (used by `make run`)."""
    from leadapp.models import Account

    if db.session.scalar(sa.select(sa.func.count(Account.id))):
        click.echo("Database already has accounts; demo data not created.")
        return
    demo.callback(2000)


def init_app(app: Flask) -> None:
    from leadapp.dedup.cli import dedup_cli
    from leadapp.imports.cli import leads_cli

    for command in (
        leads_cli,
        dedup_cli,
        accounts_cli,
        campaigns_cli,
        pools_cli,
        jobs_cli,
        worker,
        demo,
        mailsink,
        run_all,
        bootstrap,
    ):
        app.cli.add_command(command)
    from leadapp.campaigns import dial_cli

    dial_cli.init_app(app, campaigns_cli)
