"""``flask dedup test-run | run | undo``: the Lead Deduplicator from the command line
(DESIGN.md §7). Work happens in this process; refusals are one sentence, exit 1."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa

from leadapp.commands import CommandGroup, fail
from leadapp.extensions import db
from leadapp.models import Campaign, DedupJob, LeadPool
from leadapp.models.base import utcnow
from leadapp.models.dedup import DEDUP_SCOPES, KEEP_RULES
from leadapp.security import account_scope
from leadapp.services import accounts as account_service
from leadapp.services import dedup as dedup_service
from leadapp.services import resume as resume_service
from leadapp.tasks import QueueUnavailable, dispatch

dedup_cli = CommandGroup("dedup", help="Find and move duplicate leads (the Lead Deduplicator).")


def scope_options(fn):
    for option in reversed(
        [
            click.option("--account", "slug", required=True, help="The account's slug."),
            click.option("--scope", type=click.Choice(DEDUP_SCOPES), default="account"),
            click.option(
                "--target",
                "targets",
                multiple=True,
                help="A campaign, pool or purpose name (repeat for several).",
            ),
            click.option("--keep", type=click.Choice(KEEP_RULES), default="latest-created"),
            click.option("--retain-inbound", is_flag=True, help="Never move inbound leads."),
            click.option(
                "--match",
                default="phone1",
                show_default=True,
                help="Match keys, comma-separated: phone1, phones, email, customer_key, "
                "custom:<field>.",
            ),
            click.option(
                "--match-mode",
                type=click.Choice(["any", "all"]),
                default="any",
                show_default=True,
                help="With several match keys: a duplicate when any of them is equal, or all.",
            ),
            click.option("--json", "as_json", is_flag=True),
        ]
    ):
        fn = option(fn)
    return fn


def _target_ids(scope: str, names: tuple[str, ...]) -> list:
    """Names on the command line → what a dedup job stores (ids; purposes as words)."""
    if scope == "account":
        return []
    if scope == "purpose":
        return list(names)
    model = Campaign if scope == "campaign" else LeadPool
    found = dict(
        db.session.execute(sa.select(model.name, model.id).where(model.name.in_(names))).all()
    )
    missing = [n for n in names if n not in found]
    if missing:
        what = "campaign" if scope == "campaign" else "pool"
        fail(f"No {what} named {', '.join(repr(n) for n in missing)} in this account.")
    return [found[n] for n in names]


def _settings(
    scope, targets, keep, retain_inbound, match, match_mode="any"
) -> dedup_service.DedupSettings:
    return dedup_service.DedupSettings(
        scope=scope,
        targets=_target_ids(scope, targets),
        match_keys=[k.strip() for k in match.split(",")],
        match_mode=match_mode,
        keep_rule=keep,
        retain_inbound=retain_inbound,
    ).check()


def _account_now(account) -> str:
    """Now on the account's clock, with its zone: "2026-12-03 09:14:05 PST"."""
    now = utcnow().replace(tzinfo=dt.UTC).astimezone(ZoneInfo(account.timezone))
    return now.strftime("%Y-%m-%d %H:%M:%S %Z")


def _account(slug: str):
    try:
        return account_service.account_by_slug(slug)
    except account_service.AccountError as exc:
        fail(str(exc))


def _emit(data: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data))
    else:
        click.echo("  ".join(f"{k}={v}" for k, v in data.items()))


@dedup_cli.command("test-run")
@scope_options
def test_run(slug, scope, targets, keep, retain_inbound, match, match_mode, as_json):
    """Count duplicates without changing anything: {"total", "duplicates", "after"}."""
    account = _account(slug)
    with account_scope(account.id):
        try:
            figures = dedup_service.count(
                _settings(scope, targets, keep, retain_inbound, match, match_mode)
            )
        except dedup_service.DedupError as exc:
            fail(str(exc))
    _emit(figures, as_json)


@dedup_cli.command("run")
@scope_options
def run(slug, scope, targets, keep, retain_inbound, match, match_mode, as_json):
    """Move duplicates to the Inactive pool now: {"total", "duplicates", "after", "moved",
    "job_id"}. The run is kept as a dedup job (report, undo)."""
    account = _account(slug)
    with account_scope(account.id):
        try:
            settings = _settings(scope, targets, keep, retain_inbound, match, match_mode)
            job = DedupJob(
                account_id=account.id,
                # Named in the account's zone, as its pages show times.
                name=f"Command line run {_account_now(account)}",
                description=f"flask dedup run: {settings.describe()}",
                scope=settings.scope,
                targets=settings.targets,
                match_keys=settings.match_keys,
                match_mode=settings.match_mode,
                keep_rule=settings.keep_rule,
                retain_inbound=settings.retain_inbound,
                status="running",
            )
            db.session.add(job)
            db.session.commit()
            result = dedup_service.run(job)
            db.session.commit()
        except dedup_service.DedupError as exc:
            db.session.rollback()
            fail(str(exc))
    _emit({k: result[k] for k in ("total", "duplicates", "after", "moved", "job_id")}, as_json)


@dedup_cli.command("undo")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def undo(job_id, as_json):
    """Put a completed run's moved leads back: {"restored"}."""
    job = db.session.scalar(
        sa.select(DedupJob).where(DedupJob.id == job_id).execution_options(all_accounts=True)
    )
    if job is None:
        fail(f"There is no dedup job {job_id}.")
    with account_scope(job.account_id):
        job = db.session.get(DedupJob, job_id)
        from leadapp.tasks.dedup import undo_and_tell

        try:
            result, problem = undo_and_tell(job, None)
        except dedup_service.DedupError as exc:
            fail(str(exc))
        if problem:
            click.echo(problem, err=True)
    _emit({"restored": result["restored"]}, as_json)


@dedup_cli.command("resume")
@click.argument("job_id", type=int)
@click.option("--enqueue", is_flag=True, help="Hand the work to the workers; print the job id.")
@click.option("--json", "as_json", is_flag=True)
def resume(job_id, enqueue, as_json):
    """Finish a run whose worker died (the job shows as stalled): the leads already moved
    stay moved, the rest of the plan is carried out, none is moved twice, and the job's
    addresses get its one results email (a worker sends it)."""
    job = db.session.scalar(
        sa.select(DedupJob).where(DedupJob.id == job_id).execution_options(all_accounts=True)
    )
    if job is None:
        fail(f"There is no dedup job {job_id}.")
    with account_scope(job.account_id):
        job = db.session.get(DedupJob, job_id)
        # A row of its own for the resumed run (heartbeat, progress, the job's page), run by
        # a worker (--enqueue) or here by the worker's own task; handed over atomically, so
        # of two resumes started together one runs and the other is refused.
        try:
            row = resume_service.take_over_dedup_run(job)
        except resume_service.CannotResume as exc:
            db.session.rollback()
            fail(str(exc))
        db.session.commit()
        from leadapp.tasks.dedup import run_dedup

        if enqueue:
            try:
                dispatch(row, run_dedup, job.id, True)
            except QueueUnavailable as exc:
                fail(str(exc))
            _emit({"dedup_job_id": job.id, "job_id": row.id}, as_json)
            return
        try:
            # The worker's task, in this process: claims the run for this row, carries it
            # out and emails the job's addresses, as a worker would.
            result = run_dedup(row.id, job.id, True)
        except dedup_service.DedupError as exc:
            fail(str(exc))
    if "moved" not in result:  # the claim was lost to another resume, at the last moment
        fail(result.get("message") or f"Dedup job {job_id} was not run.")
    if result.get("message"):
        click.echo(result["message"], err=True)  # the run is done; only its email is not
    _emit({k: result[k] for k in ("total", "duplicates", "after", "moved", "job_id")}, as_json)
