"""The dial queue's pinned commands (issue 18): campaigns assign, dnc import, dial next."""

from __future__ import annotations

import json

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import DialLease, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from tests.services.dial_helpers import add_leads, build


def _last_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def _world(app, make_account):
    account_id = make_account("clico")
    with app.app_context(), account_scope(account_id):
        world = build(account_id, {"Spring": 70}, leads=4)
        extra = LeadPool(account_id=account_id, name="Autumn")
        db.session.add(extra)
        db.session.flush()
        add_leads(extra, 3, first_order=0)
        db.session.commit()
    return world


def test_campaigns_assign_adds_a_pool_and_sets_its_weight(app, runner, make_account):
    world = _world(app, make_account)
    args = ["campaigns", "assign", "--account", "clico", "--campaign", "Dialing"]
    data = _last_json(runner.invoke(args=[*args, "--pool", "Autumn", "--weight", "30", "--json"]))
    assert data == {"campaign": "Dialing", "pool": "Autumn", "weight": 30, "to_dial": True}
    data = _last_json(runner.invoke(args=[*args, "--pool", "Autumn", "--not-to-dial", "--json"]))
    assert data["to_dial"] is False and data["weight"] == 30
    with app.app_context():
        rows = db.session.scalars(
            sa.select(PoolAssignment).where(PoolAssignment.campaign_id == world.campaign_id)
        ).all()
        assert len(rows) == 2
    missing = runner.invoke(args=[*args, "--pool", "Nope"])
    assert missing.exit_code == 1 and "no lead pool named 'Nope'" in missing.stderr
    bad = runner.invoke(args=[*args, "--pool", "Autumn", "--weight", "-4"])
    assert bad.exit_code == 1 and "whole number" in bad.stderr


def test_dnc_import_counts_added_already_listed_and_invalid(app, runner, make_account, tmp_path):
    _world(app, make_account)
    path = tmp_path / "dnc.csv"
    path.write_text("phone\n+13125550000\n(312) 555-0001\nnot a number\n+13125550000\n")
    first = _last_json(
        runner.invoke(args=["dnc", "import", str(path), "--account", "clico", "--json"])
    )
    assert first == {"added": 2, "already_listed": 1, "invalid": 1}
    again = _last_json(
        runner.invoke(args=["dnc", "import", str(path), "--account", "clico", "--json"])
    )
    assert again == {"added": 0, "already_listed": 3, "invalid": 1}
    unknown = runner.invoke(args=["dnc", "import", str(path), "--account", "nobody"])
    assert unknown.exit_code == 1 and "No account" in unknown.stderr


def test_dial_next_leases_real_leads_at_the_given_clock(app, runner, make_account):
    world = _world(app, make_account)
    args = ["dial", "next", "--account", "clico", "--campaign", "Dialing", "--json"]
    # 2026-06-02 16:00 UTC is 11:00 in Chicago; 05:00 UTC is midnight there.
    night = _last_json(runner.invoke(args=[*args, "--count", "2", "--at", "2026-06-02T05:00:00Z"]))
    assert night == {"leads": []}
    day = _last_json(runner.invoke(args=[*args, "--count", "3", "--at", "2026-06-02T16:00:00Z"]))
    leads = day["leads"]
    assert [set(x) for x in leads] == [
        {"id", "pool", "phone", "timezone", "local_time", "lease_id", "lease_expires_at"}
    ] * 3
    assert leads[0]["pool"] == "Spring" and leads[0]["timezone"] == "America/Chicago"
    assert leads[0]["local_time"].startswith("2026-06-02T11:00")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DialLease)) == 3
        ids = [x["id"] for x in leads]
        assert {
            lead.id for lead in db.session.scalars(sa.select(Lead).where(Lead.id.in_(ids)))
        } == set(ids)
    rest = _last_json(runner.invoke(args=[*args, "--count", "5", "--at", "2026-06-02T16:00:00Z"]))
    assert len(rest["leads"]) == 1  # 4 leads, 3 leased
    bad = runner.invoke(args=[*args, "--at", "tomorrow"])
    assert bad.exit_code == 1 and "ISO-8601" in bad.stderr
    assert world.code
