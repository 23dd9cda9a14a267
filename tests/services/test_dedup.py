"""The Lead Deduplicator's engine: counts equal the generator's truth for every keep rule,
the golden record is the one the rule names, compliance state spreads to it, runs move
each duplicate once and undo puts them back."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re

import pytest
import sqlalchemy as sa

from leadapp.domain import leadgen
from leadapp.extensions import db
from leadapp.models import DedupJob, DedupMove, FieldDefinition, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services import pools as pool_service
from leadapp.services.dedup import DedupError, DedupSettings
from tests.pools.helpers import recounted, stored_counters

T0 = dt.datetime(2026, 1, 1, 9, 0)


def cli_json(runner, *args):
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def generated(app, runner, make_account, tmp_path):
    """1,500 generated US leads imported with no duplicate check: every valid row is a lead,
    so the file's duplicates are now duplicates in the account."""
    make_account("acme")
    truth = leadgen.generate(1500, tmp_path / "gen.csv", seed=7, region="US")
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", "Spring", "--region", "US"]
    )
    assert result.exit_code == 0, result.output
    counts = cli_json(
        runner,
        "leads", "import", str(tmp_path / "gen.csv"), "--account", "acme",
        "--campaign", "Spring", "--pool", "generated", "--scope", "none",
    )  # fmt: skip
    assert counts["imported"] == truth["rows_with_valid_phone"]
    return truth


def counters_match_recount(app):
    pools = list(db.session.scalars(sa.select(LeadPool)))
    recount = recounted([p.id for p in pools])
    for pool in pools:
        db.session.refresh(pool)
        assert stored_counters(pool) == recount[pool.id], pool.name


@pytest.mark.parametrize("keep", ["latest-created", "latest-called", "inbound"])
def test_test_run_counts_equal_the_generator_truth_for_each_keep_rule(runner, generated, keep):
    figures = cli_json(runner, "dedup", "test-run", "--account", "acme", "--keep", keep)
    assert figures == {
        "total": generated["rows_with_valid_phone"],
        "duplicates": generated["duplicate_rows"],
        "after": generated["unique_valid_phones"],
    }


def test_any_of_phone_or_email_predicts_the_run_and_leaves_no_shared_phone_or_email(
    app, runner, generated
):
    # Three new leads with a new number each and the email of three other customers.
    with app.app_context():
        rows = db.session.execute(
            sa.select(Lead.pool_id, Lead.email, Lead.email_key)
            .where(Lead.email_key.is_not(None))
            .order_by(Lead.id)
        ).all()
        chosen = list({r.email_key: r for r in rows}.values())[:3]
        account_id = db.session.scalar(sa.select(LeadPool.account_id))
        for i, r in enumerate(chosen):
            db.session.add(
                Lead(account_id=account_id, pool_id=r.pool_id, phone1=f"+1212555{i:04d}",
                     email=r.email, email_key=r.email_key)
            )  # fmt: skip
        db.session.commit()
    args = ["dedup", "test-run", "--account", "acme", "--match", "phone1,email"]
    any_of = cli_json(runner, *args)
    all_of = cli_json(runner, *args, "--match-mode", "all")
    phone_only = cli_json(runner, "dedup", "test-run", "--account", "acme")
    # Any of: every pair sharing a phone, or an email, is found; all of: only both.
    assert any_of["duplicates"] == phone_only["duplicates"] + 3
    assert phone_only["duplicates"] >= all_of["duplicates"]
    assert any_of["total"] == all_of["total"] == generated["rows_with_valid_phone"] + 3
    ran = cli_json(runner, "dedup", "run", "--account", "acme", "--match", "phone1,email")
    assert (ran["duplicates"], ran["moved"], ran["after"]) == (
        any_of["duplicates"],
        any_of["duplicates"],
        any_of["after"],
    )
    with app.app_context():
        kept = db.session.execute(
            sa.select(Lead.phone1, Lead.email_key)
            .join(LeadPool, LeadPool.id == Lead.pool_id)
            .where(LeadPool.is_system.is_(False), Lead.status != "inactive")
        ).all()
    assert len(kept) == any_of["after"]
    phones = [p for p, _e in kept]
    emails = [e for _p, e in kept if e]
    assert len(set(phones)) == len(phones) and len(set(emails)) == len(emails)


def test_run_moves_each_duplicate_once_keeps_counters_and_undo_restores(app, runner, generated):
    before = cli_json(runner, "dedup", "test-run", "--account", "acme")
    result = cli_json(runner, "dedup", "run", "--account", "acme")
    assert result["moved"] == generated["duplicate_rows"] == before["duplicates"]
    assert result["after"] == generated["unique_valid_phones"]
    with (
        app.app_context(),
        account_scope(
            db.session.scalar(
                sa.select(LeadPool.account_id).limit(1).execution_options(all_accounts=True)
            )
        ),
    ):  # noqa: E501
        inactive = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        in_inactive = db.session.scalar(
            sa.select(sa.func.count()).where(Lead.pool_id == inactive.id, Lead.status == "inactive")
        )
        assert in_inactive == generated["duplicate_rows"]
        # one lead per phone is left outside the Inactive pool
        left = db.session.execute(
            sa.select(Lead.phone1, sa.func.count())
            .where(Lead.pool_id != inactive.id)
            .group_by(Lead.phone1)
            .having(sa.func.count() > 1)
        ).all()
        assert left == []
        moves = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(DedupMove.lead_id))).where(
                DedupMove.dedup_job_id == result["job_id"]
            )
        )
        assert moves == result["moved"]
        counters_match_recount(app)
        # a second run finds nothing left to move
    again = cli_json(runner, "dedup", "test-run", "--account", "acme")
    assert again["duplicates"] == 0
    assert again["total"] == generated["unique_valid_phones"]

    undone = cli_json(runner, "dedup", "undo", str(result["job_id"]))
    assert undone == {"restored": generated["duplicate_rows"]}
    assert cli_json(runner, "dedup", "test-run", "--account", "acme") == before
    with (
        app.app_context(),
        account_scope(
            db.session.scalar(
                sa.select(LeadPool.account_id).limit(1).execution_options(all_accounts=True)
            )
        ),
    ):  # noqa: E501
        counters_match_recount(app)


@pytest.fixture
def pool(app, make_account):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        target = LeadPool(name="Spring list")
        db.session.add(target)
        db.session.flush()
        yield target


def add_lead(pool, phone, created, **extra):
    lead = Lead(pool_id=pool.id, phone1=phone, created_at=created, updated_at=created, **extra)
    db.session.add(lead)
    db.session.flush()
    return lead


def settings(**kw) -> DedupSettings:
    return DedupSettings(**kw).check()


def golden_of(lead_ids):
    moves = db.session.execute(
        sa.select(DedupMove.lead_id, DedupMove.golden_lead_id).where(
            DedupMove.lead_id.in_(lead_ids)
        )
    ).all()
    return {lead: golden for lead, golden in moves}


@pytest.mark.parametrize(
    "keep,rule_winner",
    [("latest-created", "newest"), ("latest-called", "called"), ("inbound", "inbound")],
)
def test_the_golden_record_is_the_one_the_rule_names(pool, keep, rule_winner):
    phone = "+14155550101"
    leads = {
        "oldest": add_lead(pool, phone, T0),
        "called": add_lead(pool, phone, T0 + dt.timedelta(days=1), last_called_at=T0),
        "inbound": add_lead(pool, phone, T0 + dt.timedelta(days=2), source="inbound"),
        "newest": add_lead(pool, phone, T0 + dt.timedelta(days=3)),
    }
    job = DedupJob(name="x", keep_rule=keep, match_keys=["phone1"])
    db.session.add(job)
    db.session.flush()
    figures = dedup_service.plan(job)
    assert figures == {"total": 4, "duplicates": 3, "after": 1}
    winner = leads[rule_winner].id
    assert golden_of([lead.id for lead in leads.values()]) == {
        lead.id: winner for name, lead in leads.items() if name != rule_winner
    }


def test_the_counters_equal_a_recount_after_every_batch_and_stale_ones_are_put_right(app, pool):
    other = LeadPool(name="Autumn list")
    db.session.add(other)
    db.session.flush()
    for i in range(12):  # 6 numbers, twice each, the copies spread over both pools
        add_lead(
            pool if i % 3 else other,
            f"+1415555{i % 6:04d}",
            T0 + dt.timedelta(minutes=i),
            call_count=i % 2,
            status="closed" if i % 5 == 0 else "open",
        )
    pool_service.refresh_counts([pool, other])
    job = DedupJob(name="x")
    db.session.add(job)
    db.session.flush()
    assert dedup_service.plan(job) == {"total": 12, "duplicates": 6, "after": 6}
    target = dedup_service.inactive_pool()
    batches = 0
    while dedup_service.move_next_batch(job, target, 2, [pool.id, other.id]):
        batches += 1
        db.session.flush()
        counters_match_recount(app)
    assert batches == 3

    # A run puts right counters that were off before it began (here: a lead added without
    # a recount, an older copy that the run moves out of its pool).
    again = DedupJob(name="y")
    db.session.add(again)
    add_lead(other, "+14155550000", T0 - dt.timedelta(days=1))
    other.total_count = 99
    db.session.flush()
    assert dedup_service.run(again)["moved"] == 1
    counters_match_recount(app)


def _batch_world(pool, spread: int):
    """``pool`` and a second pool dialled by a campaign allowing 2 attempts, with
    duplicates in every state a counter or breakdown tells apart (closed, removed,
    completed, do-not-call, without a phone match, called, over the attempts, time zones
    and zone keys, inbound), plus ``spread`` leads without duplicates in ``pool``."""
    from leadapp.models import Account, DialSettings, PoolAssignment
    from leadapp.services import accounts as account_service

    other = LeadPool(name="Autumn list")
    db.session.add(other)
    db.session.flush()
    account = db.session.get(Account, pool.account_id)
    campaign = account_service.create_campaign(account, "Spring")
    db.session.add(DialSettings(account_id=account.id, campaign_id=campaign.id, max_attempts=2))
    db.session.add(PoolAssignment(pool_id=other.id, campaign_id=campaign.id))
    zones = [("America/New_York", "NY"), ("America/Chicago", "TX"), (None, None)]
    for i in range(30):  # 10 numbers, three leads each, over both pools
        zone, state = zones[i % 3]
        add_lead(
            other if i % 4 == 0 else pool,
            f"+1415555{i % 10:04d}",
            T0 + dt.timedelta(minutes=i * 7 % 30),
            status=["open", "open", "closed", "removed", "open"][i % 5],
            completed=i % 6 == 1,
            do_not_call=i % 7 == 3,
            call_count=i % 3,
            dial_attempts=i % 4,
            timezone=zone,
            state=state,
            country="US" if state else None,
            source="inbound" if i % 8 == 2 else "outbound",
            last_called_at=T0 + dt.timedelta(hours=i) if i % 3 else None,
        )
    for i in range(spread):
        add_lead(pool, f"+1415666{i:04d}", T0, timezone="America/New_York")
    pool_service.refresh_counts([pool, other])
    return other


@pytest.mark.parametrize("keep", ["latest-created", "latest-called", "inbound"])
@pytest.mark.parametrize("match_keys,retain_inbound", [(["phone1"], False), (["phones"], True)])
def test_each_batch_moves_the_counters_by_its_own_leads_to_a_recount(
    app, pool, keep, match_keys, retain_inbound
):
    """Every batch leaves the counters and breakdowns of every pool equal to a full recount
    (the plan's golden records too: they inherit closed, removed, completed, do-not-call
    and calls), and no statement of a batch reads the pools' leads beyond the batch's:
    each one that reads the leads is restricted to the plan's moves (not a recount of the
    pools, whose cost grows with them)."""
    other = _batch_world(pool, spread=40)
    job = DedupJob(name="x", keep_rule=keep, match_keys=match_keys, retain_inbound=retain_inbound)
    db.session.add(job)
    db.session.flush()
    assert dedup_service.plan(job)["duplicates"] > 6
    db.session.flush()
    counters_match_recount(app)
    target = dedup_service.inactive_pool()
    engine = db.session.get_bind()
    seen: list[str] = []

    def observe(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    batches = 0
    while True:
        seen.clear()
        sa.event.listen(engine, "before_cursor_execute", observe)
        try:
            moved = dedup_service.move_next_batch(job, target, 3, [pool.id, other.id])
            db.session.flush()
        finally:
            sa.event.remove(engine, "before_cursor_execute", observe)
        if not moved:
            break
        batches += 1
        reading_leads = [s for s in seen if re.search(r"\b(FROM|JOIN|UPDATE)\s+leads\b", s, re.I)]
        assert reading_leads
        assert all("dedup_moves" in s for s in reading_leads), [
            s for s in reading_leads if "dedup_moves" not in s
        ]
        counters_match_recount(app)
    assert batches >= 3
    planned = db.session.scalar(
        sa.select(sa.func.count(DedupMove.id)).where(DedupMove.dedup_job_id == job.id)
    )
    in_target = sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == target.id)
    assert db.session.scalar(in_target) == planned > 6


def test_inbound_leads_are_retained_when_asked(pool):
    phone = "+14155550102"
    inbound = add_lead(pool, phone, T0, source="inbound")
    add_lead(pool, phone, T0 + dt.timedelta(days=1))
    newest = add_lead(pool, phone, T0 + dt.timedelta(days=2))
    assert dedup_service.count(settings(retain_inbound=True)) == {
        "total": 3,
        "duplicates": 1,
        "after": 2,
    }
    job = DedupJob(name="x", retain_inbound=True)
    db.session.add(job)
    db.session.flush()
    dedup_service.run(job)
    assert inbound.pool_id == pool.id and newest.pool_id == pool.id
    assert dedup_service.count(settings()) == {"total": 2, "duplicates": 1, "after": 1}


@pytest.mark.parametrize("match_keys", [["phone1"], ["phones"]])
def test_the_golden_record_inherits_the_strictest_compliance_state_and_undo_restores_it(
    pool, match_keys
):
    phone = "+14155550103"
    golden = add_lead(pool, phone, T0 + dt.timedelta(days=5), call_count=1)
    dnc = add_lead(pool, phone, T0, do_not_call=True, call_count=2, last_called_at=T0)
    removed = add_lead(pool, phone, T0 + dt.timedelta(days=1), status="removed", call_count=3)
    # Not a duplicate: its state passes to no one.
    add_lead(pool, "+14155550199", T0, do_not_call=True, call_count=9)
    job = DedupJob(name="x", match_keys=match_keys)
    db.session.add(job)
    db.session.flush()
    result = dedup_service.run(job)
    assert result["moved"] == 2
    # The plan recorded each copy's state as it found it: that is what was inherited.
    moves = db.session.execute(
        sa.select(
            DedupMove.lead_id,
            DedupMove.from_do_not_call,
            DedupMove.from_call_count,
            DedupMove.from_last_called_at,
        ).order_by(DedupMove.lead_id)
    ).all()
    assert [tuple(m) for m in moves] == [(dnc.id, True, 2, T0), (removed.id, False, 3, None)]
    db.session.refresh(golden)
    assert golden.do_not_call is True
    assert golden.status == "removed"
    assert golden.call_count == 6
    assert golden.last_called_at == T0
    restored = dedup_service.undo(job)
    assert restored["restored"] == 2
    db.session.refresh(golden)
    assert (golden.do_not_call, golden.status, golden.call_count, golden.last_called_at) == (
        False,
        "open",
        1,
        None,
    )


def test_undo_leaves_leads_changed_since_and_lists_them(pool):
    phone = "+14155550104"
    add_lead(pool, phone, T0 + dt.timedelta(days=1))
    copy = add_lead(pool, phone, T0)
    other_copy = add_lead(pool, phone, T0 - dt.timedelta(days=1))
    job = DedupJob(name="x")
    db.session.add(job)
    db.session.flush()
    dedup_service.run(job)
    copy.status = "open"  # a supervisor re-opened it after the run
    copy.updated_at = dt.datetime(2099, 1, 1)
    db.session.flush()
    result = dedup_service.undo(job)
    assert result["restored"] == 1
    assert result["changed_since"] == [copy.id]
    assert other_copy.pool_id == pool.id and other_copy.status == "open"
    assert copy.pool_id == job.target_pool_id


def test_undo_leaves_a_lead_whose_pool_was_deleted_since_where_it_is(pool):
    """Moves keep their from-pool id without a foreign key (the audit outlives the pool):
    undo cannot send a lead back to a pool that is gone, so it lists it and leaves it."""
    phone = "+14155550105"
    golden = add_lead(pool, phone, T0 + dt.timedelta(days=1))
    old_list = LeadPool(name="Old list")
    db.session.add(old_list)
    db.session.flush()
    copy = add_lead(old_list, phone, T0)
    job = DedupJob(name="x")
    db.session.add(job)
    db.session.flush()
    assert dedup_service.run(job)["moved"] == 1
    old_pool_id = old_list.id
    db.session.delete(old_list)
    db.session.flush()
    move = db.session.scalar(sa.select(DedupMove).where(DedupMove.lead_id == copy.id))
    assert move.from_pool_id == old_pool_id  # the audit trail still names it
    result = dedup_service.undo(job)
    assert result["restored"] == 0
    assert result["changed_since"] == [copy.id]
    db.session.refresh(copy)
    assert (copy.pool_id, copy.status) == (job.target_pool_id, "inactive")
    assert golden.pool_id == pool.id


def test_any_phone_groups_chains_of_shared_numbers(pool):
    a = add_lead(pool, "+14155550111", T0 + dt.timedelta(days=3))
    b = add_lead(pool, "+14155550112", T0 + dt.timedelta(days=2), phone2="+14155550111")
    c = add_lead(pool, "+14155550113", T0 + dt.timedelta(days=1), phone3="+14155550112")
    add_lead(pool, "+14155550114", T0)  # alone
    assert dedup_service.count(settings(match_keys=["phone1"])) == {
        "total": 4,
        "duplicates": 0,
        "after": 4,
    }
    assert dedup_service.count(settings(match_keys=["phones"])) == {
        "total": 4,
        "duplicates": 2,
        "after": 2,
    }
    job = DedupJob(name="x", match_keys=["phones"])
    db.session.add(job)
    db.session.flush()
    dedup_service.plan(job)
    assert golden_of([b.id, c.id]) == {b.id: a.id, c.id: a.id}


def test_all_of_several_keys_needs_every_field_to_match(pool):
    add_lead(pool, "+14155550121", T0, email_key="a@x.test")
    add_lead(pool, "+14155550121", T0 + dt.timedelta(days=1), email_key="a@x.test")
    add_lead(pool, "+14155550121", T0 + dt.timedelta(days=2), email_key="b@x.test")
    # No email: no complete key, so never a duplicate — but still a lead in the total.
    add_lead(pool, "+14155550121", T0 + dt.timedelta(days=3))
    figures = {"total": 4, "duplicates": 1, "after": 3}
    both = {"match_keys": ["phone1", "email"], "match_mode": "all"}
    assert dedup_service.count(settings(**both)) == figures
    job = DedupJob(name="x", **both)
    db.session.add(job)
    db.session.flush()
    assert dedup_service.plan(job) == figures  # the run's figures count the same leads


def test_any_of_several_keys_groups_chains_and_differs_from_all_of(pool):
    a = add_lead(pool, "+14155550131", T0, email_key="a@x.test")
    b = add_lead(pool, "+14155550132", T0 + dt.timedelta(days=1), email_key="a@x.test")
    c = add_lead(pool, "+14155550132", T0 + dt.timedelta(days=2), email_key="c@x.test")
    add_lead(pool, "+14155550134", T0 + dt.timedelta(days=3), email_key="d@x.test")
    e = add_lead(pool, "+14155550131", T0 + dt.timedelta(days=4))  # phone only: matches a
    keys = ["phone1", "email"]
    # any of (the default): a-b by email, b-c by phone, e-a by phone: one group of 4.
    assert dedup_service.count(settings(match_keys=keys)) == {
        "total": 5,
        "duplicates": 3,
        "after": 2,
    }
    assert dedup_service.count(settings(match_keys=keys, match_mode="all")) == {
        "total": 5,
        "duplicates": 0,
        "after": 5,
    }
    job = DedupJob(name="x", match_keys=keys)
    db.session.add(job)
    db.session.flush()
    assert job.match_mode == "any"
    assert dedup_service.plan(job) == {"total": 5, "duplicates": 3, "after": 2}
    moves = {m.lead_id: m for m in db.session.scalars(sa.select(DedupMove))}
    assert set(moves) == {a.id, b.id, c.id}  # the newest of the 4 (e) is kept
    assert {m.golden_lead_id for m in moves.values()} == {e.id}
    assert moves[b.id].match_key in ("a@x.test", "+14155550132")
    assert moves[a.id].matched_on == "phone1 | email"


def test_a_custom_field_is_a_match_key_trimmed_and_without_case(pool):
    db.session.add(
        FieldDefinition(account_id=pool.account_id, key="policy", label="Policy", position=99)
    )
    for i, value in enumerate(["P-1", " p-1 ", "P-2", None]):
        lead = add_lead(pool, f"+1415555014{i}", T0 + dt.timedelta(days=i))
        lead.custom = {} if value is None else {"policy": value}
    db.session.flush()
    assert dedup_service.count(settings(match_keys=["custom:policy"])) == {
        "total": 4,
        "duplicates": 1,
        "after": 3,
    }
    with pytest.raises(DedupError, match="There is no custom field nope"):
        settings(match_keys=["custom:nope"])


def test_the_command_line_matches_on_a_custom_field_and_any_of(app, runner, pool):
    db.session.add(
        FieldDefinition(account_id=pool.account_id, key="policy", label="Policy", position=99)
    )
    for i, (value, email) in enumerate([("P-1", "a@x.test"), ("p-1", None), ("P-2", "a@x.test")]):
        lead = add_lead(pool, f"+1415555016{i}", T0 + dt.timedelta(days=i), email_key=email)
        lead.custom = {"policy": value}
    db.session.commit()
    base = ["dedup", "test-run", "--account", "acme"]
    assert cli_json(runner, *base, "--match", "custom:policy")["duplicates"] == 1
    # Policy or email: the three are one chain; both: none.
    assert cli_json(runner, *base, "--match", "custom:policy,email")["duplicates"] == 2
    both = cli_json(runner, *base, "--match", "custom:policy,email", "--match-mode", "all")
    assert both["duplicates"] == 0
    refused = runner.invoke(args=[*base, "--match", "custom:nope"])
    assert refused.exit_code == 1 and "There is no custom field nope" in refused.output


def test_a_scope_over_the_limit_is_refused_and_nothing_moves(pool, monkeypatch):
    for i in range(3):
        add_lead(pool, "+14155550131", T0 + dt.timedelta(days=i))
    monkeypatch.setattr(dedup_service, "SCOPE_LIMIT", 2)
    job = DedupJob(name="x")
    db.session.add(job)
    db.session.flush()
    with pytest.raises(DedupError, match="over the limit of 2, so nothing was moved"):
        dedup_service.run(job)
    assert db.session.scalar(sa.select(sa.func.count(DedupMove.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == pool.id)) == 3


def test_the_scope_limit_setting_raises_or_lowers_the_limit(app, pool, monkeypatch):
    """DEDUP_SCOPE_LIMIT (bench/dedup.py raises it past 250,000) is the limit when set."""
    for i in range(3):
        add_lead(pool, "+14155550131", T0 + dt.timedelta(days=i))
    monkeypatch.setitem(app.config, "DEDUP_SCOPE_LIMIT", 2)
    with pytest.raises(DedupError, match="over the limit of 2;"):
        dedup_service.check_limit(DedupSettings())
    monkeypatch.setattr(dedup_service, "SCOPE_LIMIT", 2)
    monkeypatch.setitem(app.config, "DEDUP_SCOPE_LIMIT", 3)
    assert dedup_service.scope_limit() == 3
    job = DedupJob(name="x")
    db.session.add(job)
    db.session.flush()
    assert dedup_service.run(job)["moved"] == 2


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"scope": "campaign"}, "Choose at least one campaign"),
        ({"match_keys": ["fax"]}, "'fax' is not a match key"),
        ({"match_keys": ["phones", "email"], "match_mode": "all"}, "cannot be combined"),
        ({"match_keys": ["email", "email"]}, "chosen once"),
        ({"match_keys": ["email"], "match_mode": "some"}, "any of them or on all"),
        ({"keep_rule": "oldest"}, "keep rule must be one of"),
    ],
)
def test_settings_that_cannot_run_are_refused_in_one_sentence(kw, message):
    with pytest.raises(DedupError, match=message):
        DedupSettings(**kw).check()


def test_any_phone_or_the_email(pool):
    add_lead(pool, "+14155550151", T0, phone2="+14155550159", email_key="x@x.test")
    add_lead(pool, "+14155550152", T0 + dt.timedelta(days=1), email_key="x@x.test")
    add_lead(pool, "+14155550159", T0 + dt.timedelta(days=2))  # the first one's phone2
    add_lead(pool, "+14155550153", T0 + dt.timedelta(days=3))
    assert dedup_service.count(settings(match_keys=["phones", "email"]))["duplicates"] == 2
    assert dedup_service.count(settings(match_keys=["phones"]))["duplicates"] == 1


def test_the_inactive_pool_is_never_in_scope(pool):
    inactive = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
    add_lead(inactive, "+14155550141", T0)
    add_lead(pool, "+14155550141", T0)
    assert dedup_service.count(settings()) == {"total": 1, "duplicates": 0, "after": 1}


NOW = dt.datetime(2026, 11, 23, 12, 0)


def make_tested_job(name="Nightly") -> DedupJob:
    job = DedupJob(name=name, test_results={"total": 1, "duplicates": 0, "after": 1})
    db.session.add(job)
    db.session.flush()
    return job


@pytest.mark.parametrize(
    "change,message",
    [
        ({"test_results": None}, "Start a test run"),
        ({"acknowledged": False}, "Tick the acknowledgement"),
        ({"emails": []}, "at least one email address"),
        ({"when": NOW - dt.timedelta(minutes=1)}, "in the future"),
        ({"when": NOW + dt.timedelta(days=9)}, "scheduled up to 2026-12-01"),
    ],
)
def test_scheduling_refuses_what_the_seed_product_refuses(pool, change, message):
    job = make_tested_job()
    if "test_results" in change:
        job.test_results = None
    args = {
        "when": NOW + dt.timedelta(days=2),
        "emails": ["ops@acme.test"],
        "acknowledged": True,
        **{k: v for k, v in change.items() if k != "test_results"},
    }
    with pytest.raises(DedupError, match=message):
        dedup_service.schedule(
            job,
            args["when"],
            args["emails"],
            acknowledged=args["acknowledged"],
            user_id=None,
            now=NOW,
        )  # noqa: E501
    assert job.status == "draft" and job.scheduled_for is None


def test_one_scheduled_job_per_account_and_unscheduling_frees_the_slot(pool):
    first, second = make_tested_job("First"), make_tested_job("Second")
    when = NOW + dt.timedelta(days=8)
    dedup_service.schedule(first, when, ["a@x.test"], acknowledged=True, user_id=None, now=NOW)
    assert first.status == "scheduled"
    with pytest.raises(DedupError, match="The job 'First' is already scheduled; unschedule it"):
        dedup_service.schedule(second, when, ["a@x.test"], acknowledged=True, user_id=None, now=NOW)  # noqa: E501
    dedup_service.schedule(first, when, ["b@x.test"], acknowledged=True, user_id=None, now=NOW)
    dedup_service.unschedule(first)
    assert (first.status, first.scheduled_for) == ("tested", None)
    dedup_service.schedule(second, when, ["a@x.test"], acknowledged=True, user_id=None, now=NOW)
    assert second.status == "scheduled"


def test_only_one_claim_of_a_scheduled_run_succeeds(pool):
    job = make_tested_job()
    job.status = "scheduled"
    db.session.flush()
    assert dedup_service.claim_for_run(job) is True
    assert dedup_service.claim_for_run(job) is False


def test_of_two_resumes_of_a_killed_run_exactly_one_gets_it(pool):
    """Two ``flask dedup resume`` started together both see the same stalled row: the
    hand-over is a compare-and-set, and a resume claims only a run handed over to it."""
    from leadapp.services import jobs as job_rows

    job = make_tested_job()
    job.status = "scheduled"
    db.session.flush()
    killed = job_rows.create_job(job.account_id, "dedup_run", "run", "dedup")
    job.job_id = killed.id
    assert dedup_service.claim_for_run(job, row_id=killed.id) is True  # the killed run
    first = job_rows.create_job(job.account_id, "dedup_run", "resumed", "dedup")
    second = job_rows.create_job(job.account_id, "dedup_run", "resumed too", "dedup")
    assert dedup_service.hand_over(job, killed.id, first.id) is True
    assert dedup_service.hand_over(job, killed.id, second.id) is False
    assert job.job_id == first.id
    assert dedup_service.claim_for_run(job, resume=True, row_id=second.id) is False
    assert dedup_service.claim_for_run(job, resume=True, row_id=first.id) is True


# --- issue 14: figures, why kept, the last schedulable day ----------------------------------


def in_scope_now(pool_ids) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Lead.id)).where(
            Lead.pool_id.in_(pool_ids), Lead.status != "inactive"
        )
    )


@pytest.mark.parametrize("match_keys", [["email"], ["customer_key"], ["phones"]])
def test_total_is_every_lead_in_scope_even_without_the_match_key(pool, match_keys):
    """34 leads: 24 in 8 groups of 3 copies, 10 without the key. Total 34, 16 duplicates,
    18 after — and 18 are left after the run (the test run, the run and a recount agree)."""
    for i in range(24):
        group = i % 8
        add_lead(
            pool,
            f"+1415555{group:04d}" if match_keys == ["phones"] else f"+1415556{i:04d}",
            T0 + dt.timedelta(minutes=i),
            email=f"p{group}@x.test",
            email_key=f"p{group}@x.test",
            customer_key=f"C{group}",
        )
    for i in range(10):
        extra = {"phone1": None} if match_keys == ["phones"] else {}
        lead = add_lead(pool, f"+1415557{i:04d}", T0 + dt.timedelta(hours=i))
        for key, value in extra.items():
            setattr(lead, key, value)
    db.session.flush()
    expected = {"total": 34, "duplicates": 16, "after": 18}
    assert dedup_service.count(settings(match_keys=match_keys)) == expected
    job = DedupJob(name="x", match_keys=match_keys)
    db.session.add(job)
    db.session.flush()
    result = dedup_service.run(job)
    assert {k: result[k] for k in expected} == expected and result["moved"] == 16
    assert in_scope_now([pool.id]) == 18


def reasons(job) -> dict[int, str]:
    return dict(
        db.session.execute(
            sa.select(DedupMove.lead_id, DedupMove.reason).where(DedupMove.dedup_job_id == job.id)
        ).all()
    )


def planned_job(**fields) -> DedupJob:
    job = DedupJob(name="why", **fields)
    db.session.add(job)
    db.session.flush()
    dedup_service.plan(job)
    return job


@pytest.mark.parametrize("match_keys", [["phone1"], ["phones"]])
def test_why_kept_says_what_decided(pool, match_keys):
    # Keep-latest-called, nobody called: creation time decided.
    old = add_lead(pool, "+14155550301", T0)
    add_lead(pool, "+14155550301", T0 + dt.timedelta(days=1))
    # Called: the call decided.
    called_copy = add_lead(pool, "+14155550302", T0 + dt.timedelta(days=2))
    add_lead(pool, "+14155550302", T0, last_called_at=T0)
    # Same creation time, never called: the lowest id decided.
    first = add_lead(pool, "+14155550303", T0)
    second = add_lead(pool, "+14155550303", T0)
    job = planned_job(keep_rule="latest-called", match_keys=match_keys)
    why = reasons(job)
    assert why[old.id] == (
        "no lead of the group was called; the most recently created lead is kept"
    )
    assert why[called_copy.id] == "the most recently called lead is kept"
    assert first.id not in why
    assert why[second.id] == (
        "no lead of the group was called; created at the same time, the lowest id is kept"
    )


def test_why_kept_for_inbound_and_latest_created(pool):
    not_inbound = add_lead(pool, "+14155550311", T0)
    add_lead(pool, "+14155550311", T0 - dt.timedelta(days=1), source="inbound")
    none_inbound = add_lead(pool, "+14155550312", T0)
    add_lead(pool, "+14155550312", T0 + dt.timedelta(days=1))
    why = reasons(planned_job(keep_rule="inbound"))
    assert why[not_inbound.id] == "the inbound lead is kept"
    assert why[none_inbound.id] == (
        "no lead of the group is inbound; the most recently created lead is kept"
    )
    older = add_lead(pool, "+14155550313", T0)
    add_lead(pool, "+14155550313", T0 + dt.timedelta(days=1))
    a = add_lead(pool, "+14155550314", T0)
    b = add_lead(pool, "+14155550314", T0)
    why = reasons(planned_job(keep_rule="latest-created", match_keys=["phone1"]))
    assert why[older.id] == "the most recently created lead is kept"
    assert a.id not in why
    assert why[b.id] == "created at the same time, the lowest id is kept"


ZONE = "America/Los_Angeles"


@pytest.mark.parametrize(
    "local_when,ok",
    [
        (dt.datetime(2026, 12, 10, 12, 0), True),  # the last day the page offers, at noon
        (dt.datetime(2026, 12, 10, 23, 59), True),
        (dt.datetime(2026, 12, 11, 0, 0), False),
    ],
)
def test_the_last_schedulable_day_is_the_one_the_page_offers(pool, local_when, ok):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(ZONE)
    now = dt.datetime(2026, 12, 2, 10, 30, tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    assert dedup_service.last_schedulable_day(now, zone) == dt.date(2026, 12, 10)
    job = make_tested_job()
    when = local_when.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    schedule = functools.partial(
        dedup_service.schedule, job, when, ["ops@acme.test"], acknowledged=True, user_id=None,
        now=now, zone=zone,
    )  # fmt: skip
    if ok:
        schedule()
        assert job.status == "scheduled"
    else:
        with pytest.raises(DedupError) as refused:
            schedule()
        assert str(refused.value) == (
            "A job can be scheduled up to 2026-12-10 (8 days ahead, in the account's time zone)."
        )


def test_a_scope_over_the_limit_gives_advice_that_fits_a_locked_job(pool, monkeypatch):
    """A saved job's scope cannot be changed after its test run: its refusal must not say
    "choose fewer campaigns"; the command line, whose scope is its arguments, may."""
    monkeypatch.setattr(dedup_service, "SCOPE_LIMIT", 2)
    base = dt.datetime(2026, 1, 1)
    for i in range(3):
        add_lead(pool, f"+1415555011{i}", base)
    job = DedupJob(name="Too big", scope="list", targets=[pool.id])
    db.session.add(job)
    db.session.flush()
    for attempt in (dedup_service.test_run, dedup_service.plan):
        with pytest.raises(DedupError) as refused:
            attempt(job)
        message = str(refused.value)
        assert "choose fewer" not in message
        assert "3 leads, over the limit of 2" in message
        assert "make a new dedup job over fewer campaigns or pools" in message
    with pytest.raises(DedupError, match="choose fewer campaigns or pools"):
        dedup_service.count(settings(scope="list", targets=[pool.id]))
