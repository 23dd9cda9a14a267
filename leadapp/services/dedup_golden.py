"""Golden records of the Lead Deduplicator: why each one was kept, what it inherits from the
copies moved away from it, and clearing a do-not-call flag it inherited once the cause goes.

Why kept (one sentence per moved lead, shown in the report): the keep rule's words when the
rule decided; when it could not (keep-latest-called and nobody in the group was called,
keep-inbound and nobody is inbound) or both leads tie on it, creation time decided, and
said so; when they were also created at the same moment, the lowest id decided, and said so.

Inheritance: the golden record takes the strictest state of its group — do-not-call
(reason "copy" unless it was already do-not-call), removed, else closed; completed; a
callback when it has none (the earliest of its copies'); call counts add up and the latest
call time wins. Each golden record that changes is recorded with its values before and
after (report, undo)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import DedupGoldenChange, DedupJob, DedupMove, DoNotCallNumber, Lead
from leadapp.models.base import utcnow
from leadapp.services import pool_counters
from leadapp.services.dedup_settings import RULE_WORDS

PHONE_COLUMNS = [f"phone{i}" for i in range(1, 6)]
UNDECIDED = {
    "latest-called": "no lead of the group was called",
    "inbound": "no lead of the group is inbound",
}
RULE_TIE = {
    "latest-called": "called at the same time",
    "inbound": "more than one lead is inbound",
}
BY_CREATION = "the most recently created lead is kept"
BY_ID = "created at the same time, the lowest id is kept"


def why_kept(rule: str, *, undecided: bool, rule_tie: bool, created_tie: bool) -> str:
    """Why the golden record was kept rather than this copy: what actually decided.

    ``undecided``: the rule could not choose in the group (nobody called / nobody inbound);
    ``rule_tie``: the copy equals the golden record on the rule; ``created_tie``: it also
    was created at the same moment, so the lowest id decided."""
    created = BY_ID if created_tie else BY_CREATION
    if rule == "latest-created":
        return created
    if undecided:
        return f"{UNDECIDED[rule]}; {created}"
    if rule_tie:
        return f"{RULE_TIE[rule]}; {created}"
    return RULE_WORDS[rule]


def _all_cases(rule: str):
    for undecided in (False, True):
        for rule_tie in (False, True):
            for created_tie in (False, True):
                yield undecided, rule_tie, created_tie


def reason_sql(rule: str, undecided, rule_tie, created_tie):
    """``why_kept`` as one SQL CASE over the three conditions (SQL boolean expressions)."""
    whens = []
    for u, r, c in _all_cases(rule):
        cond = sa.and_(
            undecided if u else sa.not_(undecided),
            rule_tie if r else sa.not_(rule_tie),
            created_tie if c else sa.not_(created_tie),
        )
        whens.append((cond, why_kept(rule, undecided=u, rule_tie=r, created_tie=c)))
    return sa.case(*whens, else_=RULE_WORDS[rule])


def ranked_reason(rule: str, lead_called, lead_source, golden_called, golden_inbound, rank):
    """The reason of a row of the ranked window query: ``golden_*`` are the group's first
    row's values, ``rank`` is the row's rank without the id (1: tied with the golden record
    on everything but the id)."""
    created_tie = rank == 1
    if rule == "latest-called":
        undecided = golden_called.is_(None)
        rule_tie = sa.and_(golden_called.is_not(None), lead_called == golden_called)
    elif rule == "inbound":
        undecided = golden_inbound == 0
        rule_tie = sa.and_(golden_inbound == 1, lead_source == "inbound")
    else:
        undecided = rule_tie = sa.false()
    return reason_sql(rule, undecided, rule_tie, created_tie)


def frame_reasons(leads: pd.DataFrame, rule: str) -> pd.Series:
    """``why_kept`` for every row of ``leads`` (id, golden_id, created_at, last_called_at,
    source), computed against its golden record's row."""
    golden = leads.set_index("id").loc[leads["golden_id"]]
    created = pd.to_datetime(leads["created_at"]).to_numpy()
    g_created = pd.to_datetime(golden["created_at"]).to_numpy()
    called = pd.to_datetime(leads["last_called_at"])
    g_called = pd.to_datetime(golden["last_called_at"]).reset_index(drop=True)
    inbound = leads["source"].eq("inbound").to_numpy()
    g_inbound = golden["source"].eq("inbound").to_numpy()
    if rule == "latest-called":
        undecided = g_called.isna().to_numpy()
        same_called = (called.reset_index(drop=True) == g_called).to_numpy()
        both_uncalled = (called.isna().reset_index(drop=True) & g_called.isna()).to_numpy()
        rule_tie = ~undecided & same_called
        rule_equal = same_called | both_uncalled
    elif rule == "inbound":
        undecided = ~g_inbound
        rule_tie = g_inbound & inbound
        rule_equal = inbound == g_inbound
    else:
        undecided = rule_tie = [False] * len(leads)
        rule_equal = [True] * len(leads)
    created_tie = (created == g_created) & pd.Series(rule_equal).to_numpy()
    return pd.Series(
        [
            why_kept(rule, undecided=bool(u), rule_tie=bool(r), created_tie=bool(c))
            for u, r, c in zip(undecided, rule_tie, created_tie, strict=True)
        ],
        index=leads.index,
    )


# --- inheritance ---------------------------------------------------------------------------


def inherit(job: DedupJob) -> None:
    """Pass the copies' state of ``job``'s plan on to their golden records (see the module
    docstring), set-based; the copies' state comes from the plan, not from the leads again."""
    move = DedupMove

    def any_of(condition):
        return sa.func.max(sa.case((condition, 1), else_=0))

    any_dnc = any_of(move.from_do_not_call.is_(True))
    any_removed = any_of(move.from_status == "removed")
    any_closed = any_of(move.from_status == "closed")
    any_completed = any_of(move.from_completed.is_(True))
    calls = sa.func.coalesce(sa.func.sum(move.from_call_count), 0)
    last_called = sa.func.max(move.from_last_called_at)
    callback = sa.func.min(move.from_callback_at)
    group = (
        sa.select(
            move.golden_lead_id.label("golden"),
            any_dnc.label("any_dnc"),
            any_removed.label("any_removed"),
            any_closed.label("any_closed"),
            any_completed.label("any_completed"),
            calls.label("calls"),
            last_called.label("last_called"),
            callback.label("callback"),
        )
        .where(move.dedup_job_id == job.id)
        .group_by(move.golden_lead_id)
        # Most groups have nothing to pass on: only the others meet their golden record.
        .having(
            sa.or_(
                any_dnc == 1,
                any_removed == 1,
                any_closed == 1,
                any_completed == 1,
                calls > 0,
                last_called.is_not(None),
                callback.is_not(None),
            )
        )
        .subquery("copies")
    )
    golden = sa.orm.aliased(Lead)
    later_call = sa.and_(
        group.c.last_called.is_not(None),
        sa.or_(golden.last_called_at.is_(None), group.c.last_called > golden.last_called_at),
    )
    gets_dnc = sa.and_(group.c.any_dnc == 1, golden.do_not_call.is_(False))
    gets_removed = sa.and_(group.c.any_removed == 1, golden.status != "removed")
    gets_closed = sa.and_(group.c.any_closed == 1, golden.status == "open")
    gets_completed = sa.and_(group.c.any_completed == 1, golden.completed.is_(False))
    gets_callback = sa.and_(group.c.callback.is_not(None), golden.callback_at.is_(None))
    new_values = (
        sa.case((gets_dnc, sa.true()), else_=golden.do_not_call),
        sa.case((gets_dnc, "copy"), else_=golden.dnc_reason),
        sa.case(
            (group.c.any_removed == 1, "removed"),
            (gets_closed, "closed"),
            else_=golden.status,
        ),
        sa.case((gets_completed, sa.true()), else_=golden.completed),
        sa.case((gets_callback, group.c.callback), else_=golden.callback_at),
        golden.call_count + group.c.calls,
        sa.case((later_call, group.c.last_called), else_=golden.last_called_at),
    )
    changes = sa.or_(
        gets_dnc,
        gets_removed,
        gets_closed,
        gets_completed,
        gets_callback,
        group.c.calls > 0,
        later_call,
    )
    db.session.execute(
        sa.insert(DedupGoldenChange).from_select(
            [
                "account_id",
                "dedup_job_id",
                "lead_id",
                "was_do_not_call",
                "was_dnc_reason",
                "was_status",
                "was_completed",
                "was_callback_at",
                "was_call_count",
                "was_last_called_at",
                "new_do_not_call",
                "new_dnc_reason",
                "new_status",
                "new_completed",
                "new_callback_at",
                "new_call_count",
                "new_last_called_at",
            ],
            sa.select(
                sa.literal(job.account_id),
                sa.literal(job.id),
                golden.id,
                golden.do_not_call,
                golden.dnc_reason,
                golden.status,
                golden.completed,
                golden.callback_at,
                golden.call_count,
                golden.last_called_at,
                *new_values,
            )
            .join(group, group.c.golden == golden.id)
            .where(changes),
        )
    )
    change = DedupGoldenChange
    # The golden records' pools' counters move by what the changed records add before and
    # after (their state moves open/closed, ready, used, reopenable).
    changed = sa.select(change.lead_id).where(change.dedup_job_id == job.id)
    golden_pools = golden_pool_ids(job)
    golden_leads = (Lead.__table__.c.id.in_(changed),)
    before = pool_counters.counts_of(golden_leads, golden_pools, lock=True)
    db.session.execute(
        sa.update(Lead)
        .where(Lead.id == change.lead_id, change.dedup_job_id == job.id)
        .values(
            do_not_call=change.new_do_not_call,
            dnc_reason=change.new_dnc_reason,
            status=change.new_status,
            completed=change.new_completed,
            callback_at=change.new_callback_at,
            call_count=change.new_call_count,
            last_called_at=change.new_last_called_at,
        )
        .execution_options(synchronize_session=False)
    )
    pool_counters.move(
        *pool_counters.difference(pool_counters.counts_of(golden_leads, golden_pools), before)
    )


def golden_pool_ids(job: DedupJob) -> list[int]:
    """The pools of the golden records ``job`` changed (``inherit``; it moves no lead to
    another pool, so they are the same before and after)."""
    return list(
        db.session.scalars(
            sa.select(Lead.pool_id)
            .where(Lead.id == DedupGoldenChange.lead_id, DedupGoldenChange.dedup_job_id == job.id)
            .distinct()
        )
    )


def as_left(change=DedupGoldenChange):
    """The golden record still has the values the run gave it (undo may put it back)."""
    return sa.and_(
        Lead.do_not_call == change.new_do_not_call,
        Lead.status == change.new_status,
        Lead.call_count == change.new_call_count,
        Lead.last_called_at.is_not_distinct_from(change.new_last_called_at),
        sa.or_(
            change.new_completed.is_(None),  # recorded before 0011
            sa.and_(
                Lead.completed == change.new_completed,
                Lead.callback_at.is_not_distinct_from(change.new_callback_at),
            ),
        ),
    )


def put_back_values(change=DedupGoldenChange) -> dict:
    """The golden record's values before the run (undo); columns recorded before 0011 are
    left as they are."""
    return dict(
        do_not_call=change.was_do_not_call,
        dnc_reason=sa.case(
            (change.was_completed.is_(None), Lead.dnc_reason), else_=change.was_dnc_reason
        ),
        status=change.was_status,
        completed=sa.func.coalesce(change.was_completed, Lead.completed),
        callback_at=sa.case(
            (change.was_completed.is_(None), Lead.callback_at), else_=change.was_callback_at
        ),
        call_count=change.was_call_count,
        last_called_at=change.was_last_called_at,
    )


def clear_inherited_dnc(account_id: int) -> list[int]:
    """Clear the do-not-call flag golden records inherited from copies ("copy") when none of
    their moved copies is do-not-call any more (its number left the list, its run was
    undone); a golden record whose own number is listed keeps the flag, as "number".
    Returns the ids of the leads cleared."""
    copy = sa.orm.aliased(Lead)
    still_caused = (
        sa.select(DedupMove.id)
        .join(copy, copy.id == DedupMove.lead_id)
        .where(
            DedupMove.golden_lead_id == Lead.id,
            DedupMove.undone_at.is_(None),
            copy.do_not_call.is_(True),
        )
        .exists()
    )
    listed = sa.select(DoNotCallNumber.phone).where(DoNotCallNumber.account_id == account_id)
    own_listed = sa.or_(*[getattr(Lead, c).in_(listed) for c in PHONE_COLUMNS])
    inherited = [Lead.account_id == account_id, Lead.dnc_reason == "copy", ~still_caused]
    db.session.execute(
        sa.update(Lead)
        .where(*inherited, own_listed)
        .values(dnc_reason="number")
        .execution_options(synchronize_session=False)
    )
    cleared = list(db.session.scalars(sa.select(Lead.id).where(*inherited)))
    if cleared:
        db.session.execute(
            sa.update(Lead)
            .where(Lead.id.in_(cleared))
            .values(do_not_call=False, dnc_reason=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return cleared
