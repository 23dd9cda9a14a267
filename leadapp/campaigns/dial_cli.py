"""Commands of the dial queue (issue 18), pinned by the issue because scripts and checks
use them: ``campaigns assign``, ``dnc import`` and ``dial next``. Errors: one sentence on
standard error, exit 1."""

from __future__ import annotations

import datetime as dt
import json

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from leadapp.commands import CommandGroup, fail
from leadapp.extensions import db
from leadapp.models import Campaign, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import accounts as account_service
from leadapp.services import campaigns as campaign_service
from leadapp.services import dial_queue, dnc

dnc_cli = CommandGroup("dnc", help="The account's do-not-call list.")
dial_cli = CommandGroup("dial", help="The dial queue: who does a campaign call next?")


def _account(slug: str):
    try:
        return account_service.account_by_slug(slug)
    except account_service.AccountError as exc:
        fail(str(exc))


def _campaign(account, name: str) -> Campaign:
    campaign = db.session.scalar(
        sa.select(Campaign).where(Campaign.account_id == account.id, Campaign.name == name)
    )
    if campaign is None:
        fail(f"Account {account.slug} has no campaign named '{name}'.")
    return campaign


def _pool(account, name: str) -> LeadPool:
    pool = db.session.scalar(
        sa.select(LeadPool).where(LeadPool.account_id == account.id, LeadPool.name == name)
    )
    if pool is None:
        fail(f"Account {account.slug} has no lead pool named '{name}'.")
    return pool


def _emit(data: dict, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, default=str) if as_json else text)


@click.command("assign")
@click.option("--account", "slug", required=True)
@click.option("--campaign", "campaign_name", required=True)
@click.option("--pool", "pool_name", required=True)
@click.option("--weight", type=int)
@click.option("--to-dial/--not-to-dial", "to_dial", default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def assign(slug, campaign_name, pool_name, weight, to_dial, as_json):
    """Assign a pool to a campaign, or change its weight or to-dial flag."""
    account = _account(slug)
    with account_scope(account.id):
        campaign = _campaign(account, campaign_name)
        pool = _pool(account, pool_name)
        assignment = db.session.scalar(
            sa.select(PoolAssignment).where(
                PoolAssignment.campaign_id == campaign.id, PoolAssignment.pool_id == pool.id
            )
        )
        try:
            if assignment is None:
                current = [a.pool_id for a in campaign_service.assignments(campaign)]
                campaign_service.apply_assignment(campaign, [*current, pool.id])
                assignment = db.session.scalar(
                    sa.select(PoolAssignment).where(
                        PoolAssignment.campaign_id == campaign.id,
                        PoolAssignment.pool_id == pool.id,
                    )
                )
            campaign_service.update_assignment(
                assignment,
                to_dial=assignment.to_dial if to_dial is None else to_dial,
                strategy=assignment.strategy,
                weight=assignment.weight if weight is None else weight,
            )
        except campaign_service.CampaignError as exc:
            db.session.rollback()
            fail(str(exc))
        data = {
            "campaign": campaign.name,
            "pool": pool.name,
            "weight": assignment.weight,
            "to_dial": assignment.to_dial,
        }
    db.session.commit()
    dial = "to dial" if data["to_dial"] else "not to dial"
    _emit(
        data,
        as_json,
        f"'{pool.name}' feeds '{campaign.name}' with weight {data['weight']}, {dial}.",
    )


@dnc_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--account", "slug", required=True)
@click.option("--json", "as_json", is_flag=True)
def dnc_import(file, slug, as_json):
    """Add the numbers of a CSV file to the account's do-not-call list (the page's upload)."""
    account = _account(slug)
    with account_scope(account.id):
        try:
            result = dnc.upload(account, file, user_id=None, note="flask dnc import")
        except dnc.DncError as exc:
            db.session.rollback()
            fail(str(exc))
    db.session.commit()
    _emit(
        {"added": result.added, "already_listed": result.already_listed, "invalid": result.invalid},
        as_json,
        result.summary(),
    )


def _at(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"--at must be an ISO-8601 time like 2026-06-02T15:00:00Z, not '{value[:40]}'.")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _iso(value: dt.datetime) -> str:
    return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")


@dial_cli.command("next")
@click.option("--account", "slug", required=True)
@click.option("--campaign", "campaign_name", required=True)
@click.option("--count", type=int, default=1, show_default=True)
@click.option("--at", "at_text", help="ISO-8601 clock for hours, callbacks and recycling.")
@click.option("--agent", "agent_email")
@click.option("--json", "as_json", is_flag=True)
def dial_next(slug, campaign_name, count, at_text, agent_email, as_json):
    """Lease the campaign's next leads (real leases), as the API's dial/next does."""
    at = _at(at_text)
    account = _account(slug)
    with account_scope(account.id):
        campaign = _campaign(account, campaign_name)
        try:
            handed = dial_queue.next_leads(campaign, count, agent_email=agent_email, at=at)
        except dial_queue.DialError as exc:
            db.session.rollback()
            fail(str(exc))
        leads = [
            {
                "id": h.lead.id,
                "pool": h.pool.name,
                "phone": h.lead.phone1,
                "timezone": h.zone,
                "local_time": h.local_time.isoformat(timespec="minutes"),
                "lease_id": h.lease.id,
                "lease_expires_at": _iso(h.lease.expires_at),
            }
            for h in handed
        ]
    db.session.commit()
    lines = [
        f"{x['id']}\t{x['pool']}\t{x['phone']}\t{x['timezone']}\t{x['local_time']}" for x in leads
    ]
    _emit({"leads": leads}, as_json, "\n".join(lines) or "No lead can be dialled now.")


def init_app(app, campaigns_cli) -> None:
    """Add ``campaigns assign`` to the campaigns group, and the dnc and dial groups."""
    campaigns_cli.add_command(assign)
    app.cli.add_command(dnc_cli)
    app.cli.add_command(dial_cli)
