"""``flask leads import FILE ...``: the import engine from the command line (DESIGN.md §7)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from redis.exceptions import RedisError

from leadapp.commands import CommandGroup, fail
from leadapp.domain.csv_io import CsvError
from leadapp.extensions import db
from leadapp.models import Campaign, Import, LeadPool, MappingTemplate, User
from leadapp.security import account_scope
from leadapp.services import accounts as account_service
from leadapp.services import jobs as job_rows
from leadapp.services import resume as resume_service
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import errors as import_errors
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import read as import_read
from leadapp.services.imports import run as import_run
from leadapp.services.transactions import database_full
from leadapp.tasks import QueueUnavailable, dispatch, failure_text

leads_cli = CommandGroup("leads", help="Import leads.")
STRAY_QUOTE_CHOICES = ("as-read", "literal", "stop")


class ProgressBar:
    """A progress bar on standard error, only when it is a terminal."""

    def __init__(self):
        self.tty = sys.stderr.isatty()

    def __call__(self, percent: float, message: str) -> None:
        if self.tty:
            filled = int(percent / 2.5)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (40 - filled)}] {percent:5.1f}% {message}")
            sys.stderr.flush()

    def close(self):
        if self.tty:
            sys.stderr.write("\n")


def parse_map(entries: tuple[str, ...]) -> dict[str, str | list[str]]:
    mapping: dict[str, str | list[str]] = {}
    for entry in entries:
        header, sep, target = entry.rpartition("=")
        if not sep or not header or not target:
            fail(f'--map takes "CSV header=field", not {entry!r}.')
        mapping[header] = target.strip() if target.strip() != "-" else None
    return mapping


@leads_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--account", "slug", required=True)
@click.option("--campaign", "campaign_name", required=True)
@click.option("--pool", "pool_name", required=True, help="New pool name, or an existing pool.")
@click.option("--map", "map_entries", multiple=True, help='"CSV header=field"; repeatable.')
@click.option("--auto-map", is_flag=True, help="Map columns from their names and values.")
@click.option("--template", "template_name", help="A saved mapping template.")
@click.option("--region", help="Phone region for numbers without +country code.")
@click.option("--encoding")
@click.option("--delimiter")
@click.option(
    "--match",
    default="phone1",
    show_default=True,
    help="Match keys, comma-separated: phone1, email, customer_key, custom:FIELD.",
)
@click.option(
    "--match-mode",
    type=click.Choice(["any", "all"]),
    default="any",
    show_default=True,
    help="With several match keys: a duplicate when any of them is equal, or all of them.",
)
@click.option(
    "--scope", type=click.Choice(import_duplicates.SCOPES), default="campaign", show_default=True
)
@click.option("--open-only", is_flag=True)
@click.option("--include-inactive", is_flag=True)
@click.option(
    "--action",
    type=click.Choice(import_duplicates.ACTIONS),
    default="discard-new",
    show_default=True,
)
@click.option(
    "--update-mode",
    type=click.Choice(["overwrite", "fill-blanks"]),
    default="overwrite",
    show_default=True,
)
@click.option(
    "--multiple",
    type=click.Choice(import_duplicates.MULTIPLE),
    default="update-all",
    show_default=True,
    help="When several existing leads match one row.",
)
@click.option(
    "--header/--no-header",
    default=None,
    help="Whether the first row holds column names (default: detected from its values).",
)
@click.option(
    "--stray-quote",
    type=click.Choice(STRAY_QUOTE_CHOICES),
    default="as-read",
    show_default=True,
    help="A quote that opens a cell and closes lines later: import the file as read (and "
    "warn), read that line's quotes as plain text (literal), or stop.",
)
@click.option("--enqueue", is_flag=True, help="Hand the work to the workers; print the job id.")
@click.option("--json", "as_json", is_flag=True)
def import_leads(
    file,
    slug,
    campaign_name,
    pool_name,
    map_entries,
    auto_map,
    template_name,
    region,
    encoding,
    delimiter,
    match,
    match_mode,
    scope,
    open_only,
    include_inactive,
    action,
    update_mode,
    multiple,
    header,
    stray_quote,
    enqueue,
    as_json,
):
    """Import a CSV file of leads into a pool of a campaign.

    What would be read other than the file seems to say (a stray quote, lines in another
    encoding) is imported as read and listed in "warnings" with its line; --stray-quote
    literal or stop choose otherwise for stray quotes."""
    path = Path(file)
    if not path.is_file():
        fail(f"There is no file {file}.")
    try:
        account = account_service.account_by_slug(slug)
    except account_service.AccountError as exc:
        fail(str(exc))
    with account_scope(account.id):
        try:
            imp = _prepare(
                account,
                path,
                campaign_name,
                pool_name,
                map_entries,
                auto_map,
                template_name,
                region,
                encoding,
                delimiter,
                match,
                scope,
                open_only,
                include_inactive,
                action,
                update_mode,
                multiple,
                header,
                stray_quote,
                match_mode=match_mode,
            )
        except (import_errors.ImportError_, CsvError) as exc:
            db.session.rollback()
            fail(str(exc))
        if enqueue:
            _enqueue(imp, as_json)
            return
        counts = _run_here(imp)
    _print_counts(counts, as_json)


def _run_here(imp) -> dict:
    """Run the import in this process (progress bar on a terminal); refusals exit with a
    sentence, unexpected errors keep their traceback; either way the import says why.
    The summary email the import asks for is queued as a
    worker would queue it; if Redis refuses it, standard error says so."""
    from leadapp.tasks.imports import run_with_summary
    from leadapp.tasks.mail import send_results_email

    bar = ProgressBar()
    try:
        counts, email = run_with_summary(imp, bar)
    except import_errors.ImportTakenOver as exc:
        db.session.rollback()  # the other process finishes the import: leave it be
        fail(str(exc))
    except Exception as exc:
        db.session.rollback()
        refused = _refused(exc)
        message = (
            failure_text(exc) if refused else f"the import stopped: {type(exc).__name__}: {exc}"
        )
        import_run.fail(db.session.get(type(imp), imp.id), message)
        db.session.commit()
        if not refused:
            raise  # an unexpected error keeps its traceback
        fail(message)
    finally:
        bar.close()
    try:
        send_results_email(email)
    except QueueUnavailable as exc:
        click.echo(f"Import finished; the summary email was not sent: {exc}", err=True)
    return counts


def _refused(exc: BaseException) -> bool:
    """A refusal, a full database disk or Redis lost: told as a sentence (the job's own,
    see ``tasks.failure_text``); anything else keeps its traceback."""
    refused = isinstance(exc, import_errors.ImportError_ | CsvError | RedisError)
    return refused or database_full(exc)


def _resume_here(imp) -> dict:
    """Resume the import in this process as a worker would run it: under a job row of its
    own (heartbeat, progress and outcome on the import's page), so the import no longer
    points at the stalled or failed row it had; its summary email is queued as a worker
    queues it."""
    from leadapp.tasks.imports import run_import

    row = job_rows.create_job(
        imp.account_id, "import", f"Import {imp.file_name} (resumed)", "imports", imp.user_id
    )
    imp.job_id = row.id
    db.session.commit()
    try:
        counts = dict(run_import(row.id, imp.id))
    except import_errors.ImportTakenOver as exc:
        fail(str(exc))
    except Exception as exc:
        if not _refused(exc):
            raise  # an unexpected error keeps its traceback (the rows say why too)
        fail(failure_text(exc))
    message = counts.pop("message", None)
    if message:
        click.echo(message, err=True)  # the leads are in; only the email is not
    return counts


def _print_counts(counts: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(counts))
    else:
        click.echo(
            f"{counts['rows']:,} rows: {counts['valid']:,} valid, {counts['invalid']:,} invalid, "
            f"{counts['duplicates_in_file']:,} duplicates in the file, "
            f"{counts['duplicates_existing']:,} matching existing leads; "
            f"imported {counts['imported']:,}, updated {counts['updated']:,} "
            f"into pool #{counts['pool_id']}."
        )
        for warning in counts.get("warnings", []):
            click.echo(f"Warning: {warning['message']}", err=True)


def _prepare(
    account,
    path,
    campaign_name,
    pool_name,
    map_entries,
    auto_map,
    template_name,
    region,
    encoding,
    delimiter,
    match,
    scope,
    open_only,
    include_inactive,
    action,
    update_mode,
    multiple,
    header=None,
    stray_quote="as-read",
    match_mode="any",
):
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == campaign_name))
    if campaign is None:
        raise import_errors.ImportError_(
            f"The account has no campaign named '{campaign_name}'; "
            "create it with `flask campaigns create`."
        )
    admin = db.session.scalar(
        sa.select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
    )
    pool = db.session.scalar(sa.select(LeadPool).where(LeadPool.name == pool_name))
    settings = {"region": region.upper()} if region else {}
    imp = import_read.create_import(
        account, admin, campaign, pool_name=pool_name, pool=pool, settings=settings
    )
    info = import_read.attach_file(
        imp,
        path,
        path.name,
        encoding,
        delimiter,
        header=header,
        literal_quotes=stray_quote == "literal",
    )
    stray = (imp.settings or {}).get("stray_quotes") or []
    if stray_quote == "stop" and stray:
        opens, closes = stray[0]
        import_read.forget_file(imp)  # the copy goes; the import row is rolled back
        raise import_errors.ImportError_(
            f"Line {opens} opens a quote that closes only on line {closes}, so those lines "
            "would be read as one row; correct the file, or import it with "
            "--stray-quote literal (that line's quotes read as plain text) or "
            "--stray-quote as-read."
        )
    mapping: dict = {}
    rules: list = []
    if template_name:
        template = db.session.scalar(
            sa.select(MappingTemplate).where(MappingTemplate.name == template_name)
        )
        if template is None:
            raise import_errors.ImportError_(f"There is no mapping template '{template_name}'.")
        mapping, rules = dict(template.mapping), list(template.timezone_rules or [])
    if auto_map or not (map_entries or template_name):
        suggested = import_mapping.suggest(imp, info)
        mapping = {**suggested, **mapping}
    mapping.update(parse_map(map_entries))
    # A --map target replaces any auto-mapped column that had the same field.
    explicit = set(parse_map(map_entries).values())
    for header in [h for h, t in mapping.items() if t in explicit]:
        if header not in dict(parse_map(map_entries)):
            mapping[header] = None
    dup = import_duplicates.DuplicateSettings(
        match=import_duplicates.match_keys_named(match.split(",")),
        match_mode=match_mode,
        scope=scope,
        open_only=open_only,
        include_inactive=include_inactive,
        action=action,
        update_mode=update_mode,
        multiple=multiple,
    )
    import_mapping.set_mapping(imp, mapping, info.headers, rules, dup)
    db.session.commit()
    return imp


@leads_cli.command("resume")
@click.argument("import_id", type=int)
@click.option("--enqueue", is_flag=True, help="Hand the work to the workers; print the job id.")
@click.option("--json", "as_json", is_flag=True)
def resume_import(import_id, enqueue, as_json):
    """Finish an import that stopped: failed, stalled (its worker was killed) or never
    handed to a worker. Batches already written are kept and never written twice."""
    imp = db.session.get(Import, import_id)
    if imp is None:
        fail(f"There is no import {import_id}.")
    with account_scope(imp.account_id):
        try:
            resume_service.take_over_import(imp)
        except resume_service.CannotResume as exc:
            db.session.rollback()
            fail(str(exc))
        db.session.commit()
        if enqueue:
            _enqueue(imp, as_json)
            return
        counts = _resume_here(imp)
    _print_counts(counts, as_json)


def _enqueue(imp, as_json: bool) -> None:
    from leadapp.tasks.imports import run_import

    job = resume_service.queue_import(imp, imp.user_id)
    db.session.commit()
    try:
        dispatch(job, run_import, imp.id)
    except QueueUnavailable as exc:
        import_run.fail(imp, str(exc))
        db.session.commit()
        fail(str(exc))
    data = {"job_id": job.id, "import_id": imp.id}
    click.echo(json.dumps(data) if as_json else f"Queued import {imp.id} as job {job.id}.")
