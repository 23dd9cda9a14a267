"""The dial queue's leases, model-based (issue 18): random sequences of dialers asking for
leads, outcomes (on live leases and on leases already over), releases and a clock moving
across lease ends, recycle delays and calling hours agree with a plain model of each lead.

The clock is the queue's ``at``, set in 2030 so it always runs ahead of the real one. The
leases are real (issue 18: "``--at`` sets the clock used for hours, callbacks and
recycling; the leases are real"): a lease ends on the real clock, which a test cannot wait
for, so when the machine's clock passes a lease's end the lease's real end is moved into
the past, as minutes going by would do. Now and then a planner asks on the real clock
(no ``at``) between the asks ahead: its leases run on the real clock for the whole
example, and no ask ahead may hand their leads out (a fault the simulated day found)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from leadapp.domain.calling_hours import lead_zone_key
from leadapp.extensions import db
from leadapp.models import Campaign, DialLease, Lead, LeadPool
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import dial_candidates, dial_queue, dial_settings
from leadapp.services import leads as lead_service
from tests.machines import machine_settings
from tests.services.dial_helpers import add_leads, build

MIN = dt.timedelta(minutes=1)
MONDAY = dt.datetime(2030, 6, 3)  # 00:00 UTC, a Monday (no clock change in June)
# Weekdays 08:00-21:00, Saturday 10:00-17:00, never on Sunday; no holidays, no state rules.
WEEKDAY, SATURDAY = (dt.time(8), dt.time(21)), (dt.time(10), dt.time(17))
HOURS = {
    "days": {
        **{d: ["08:00", "21:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "sat": ["10:00", "17:00"],
        "sun": None,
    },
    "states": {},
    "holidays_off": False,
}
# A lead's possible zones (the first is its own): one unsure between two US zones.
ZONES = [
    ("America/New_York",),
    ("America/Chicago",),
    ("America/Los_Angeles",),
    ("Australia/Sydney",),
    ("America/Chicago", "America/Denver"),
]
RECYCLED = ("NO_ANSWER", "BUSY", "VOICEMAIL")
CLOSING = {"SALE": False, "NOT_INTERESTED": False, "DNC": True}  # code → do-not-call
# Weighted like a day's calls: mostly dialled again, callbacks often enough to meet them due.
CODES = [*RECYCLED, *RECYCLED, "CALLBACK", "CALLBACK", *CLOSING]
AGENTS = ["ann@dialco.test", "bob@dialco.test"]


def callable_at(zones: tuple[str, ...], at: dt.datetime) -> bool:
    """The campaign's calling hours in every zone the lead may be in, the slow obvious way."""
    for zone in zones:
        local = at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
        window = {5: SATURDAY, 6: None}.get(local.weekday(), WEEKDAY)
        if window is None or not window[0] <= local.time().replace(tzinfo=None) < window[1]:
            return False
    return True


@dataclass
class ModelLead:
    id: int
    pool: str
    zones: tuple[str, ...]
    closed: bool = False
    dnc: bool = False
    attempts: int = 0
    late_calls: int = 0  # outcomes posted after their lease was over
    next_at: dt.datetime = dt.datetime(1970, 1, 1)  # the recycle delay's end
    lease: int | None = None  # the lease holding it (its model entry in ``leases``)
    callback_at: dt.datetime | None = None
    callback_agent: str | None = None


@dataclass
class ModelLease:
    lead: int
    agent: str | None
    ends: dt.datetime  # on the machine's clock
    ended: bool = False  # closed in the database (outcome, release, or the lead leased again)
    on_the_real_clock: bool = False  # asked for without ``at``: runs through the example
    reason: str | None = None  # how: "outcome", "released" or "expired"


class LeaseMachine(RuleBasedStateMachine):
    """One campaign per example, inside a savepoint rolled back at its end."""

    account_id: int = 0
    agent_ids: dict[str, int] = {}  # noqa: RUF012 (set by the test)

    @initialize(
        weights=st.lists(st.sampled_from([70, 30, 100, 1, 50]), min_size=2, max_size=3),
        sizes=st.lists(st.integers(1, 4), min_size=3, max_size=3),
        max_attempts=st.integers(2, 3),
        lease_minutes=st.sampled_from([2, 5, 15]),
        recycle=st.lists(st.sampled_from([0, 10, 60, 180]), min_size=3, max_size=3),
        day=st.integers(0, 6),
        quarter=st.integers(0, 18 * 4),
    )
    def campaign(self, weights, sizes, max_attempts, lease_minutes, recycle, day, quarter):
        self.savepoint = db.session.begin_nested()
        dial_candidates._zones_seen.clear()  # pool ids come back after a rollback
        if db.session.get_bind().dialect.name == "postgresql":
            # The weighted turns come from a sequence no rollback resets: every example
            # starts at the first turn, so a sequence replayed hands out the same leads
            # (Hypothesis refuses steps that differ between runs of the same choices).
            db.session.execute(sa.text("SELECT setval('dial_mix_slots', 1, false)"))
        names = "ABC"[: len(weights)]
        world = build(self.account_id, dict(zip(names, weights, strict=True)), leads=0)
        self.campaign_id = world.campaign_id
        campaign = db.session.get(Campaign, world.campaign_id)
        campaign.calling_hours = HOURS
        self.max_attempts, self.lease = max_attempts, lease_minutes * MIN
        self.recycle = dict(zip(RECYCLED, recycle, strict=True))
        dial_settings.update_settings(
            dial_settings.settings_for(campaign),
            max_attempts=max_attempts,
            lease_minutes=lease_minutes,
            lead_order="file",
            recycle_minutes=self.recycle,
        )
        self.leads: dict[int, ModelLead] = {}
        self.leases: dict[int, ModelLease] = {}
        self.objects: dict[int, DialLease] = {}
        n = 0
        for name, size in zip(names, sizes, strict=False):
            pool = db.session.get(LeadPool, world.pools[name])
            for order in range(size):
                zones = ZONES[n % len(ZONES)]
                key = lead_zone_key(list(zones), None, None)
                add_leads(pool, 1, zone=zones[0], first_order=order, zone_key=key)
                lead_id = db.session.scalar(
                    sa.select(Lead.id).where(Lead.pool_id == pool.id, Lead.dial_order == order)
                )
                self.leads[lead_id] = ModelLead(lead_id, name, zones)
                n += 1
        db.session.flush()
        # Mostly while some zone may be called: 18 hours from 16:00 UTC (noon in New York)
        # to 10:00 (20:00 in Sydney).
        self.clock = MONDAY + dt.timedelta(days=day, hours=16) + quarter * 15 * MIN

    def teardown(self):
        if getattr(self, "savepoint", None) is not None and self.savepoint.is_active:
            self.savepoint.rollback()
            db.session.expunge_all()  # SQLite gives the next example the same ids

    # --- the model ---------------------------------------------------------------------

    def late(self, lead_id: int, agent: str | None) -> bool:
        """A call the agent posts after their last lease of the lead ran out and the lead
        was leased since to someone else (anonymous or another agent) who kept it."""
        mine = [i for i, s in self.leases.items() if s.lead == lead_id and s.agent == agent]
        if agent is None or not mine or self.leases[max(mine)].reason != "expired":
            return False
        return any(
            i > max(mine) and s.lead == lead_id and s.agent != agent and s.reason != "released"
            for i, s in self.leases.items()
        )

    def live(self, lead: ModelLead) -> bool:
        if lead.lease is None:
            return False
        lease = self.leases[lead.lease]
        return lease.on_the_real_clock or self.clock < lease.ends

    def due_callback(self, lead: ModelLead, agent: str | None) -> bool:
        """A callback this agent may take now: its own or nobody's at once, another
        agent's once the grace has passed."""
        if lead.callback_at is None or lead.callback_at > self.clock:
            return False
        grace = self.clock - dial_candidates.CALLBACK_GRACE
        return lead.callback_agent in (None, agent) or lead.callback_at <= grace

    def eligible(self, lead: ModelLead, agent: str | None) -> bool:
        return (
            not lead.closed
            and not lead.dnc
            and lead.attempts < self.max_attempts
            and lead.next_at <= self.clock
            and not self.live(lead)
            and (lead.callback_at is None or self.due_callback(lead, agent))
            and callable_at(lead.zones, self.clock)
        )

    def handed(self) -> list[int]:
        return sorted(self.leases)

    # --- rules -------------------------------------------------------------------------

    @rule(count=st.integers(1, 4), agent=st.sampled_from([None, *AGENTS]))
    def hand_out(self, count, agent):
        self._hand_out(count, agent)

    @rule(
        agent=st.sampled_from([None, *AGENTS]),
        codes=st.lists(st.sampled_from(CODES), min_size=1, max_size=3),
        callback_in=st.sampled_from([0, 1, 5, 30, 90]),
    )
    def dial(self, agent, codes, callback_in):
        """A dialer's turn: ask for as many leads as it has outcomes to post, call them and
        post each outcome as the asking agent."""
        for lead_id, code in zip(self._hand_out(len(codes), agent), codes, strict=False):
            self._outcome(self.leads[lead_id], code, agent, callback_in, late=False)

    @rule(count=st.integers(1, 3))
    def hand_out_on_the_real_clock(self, count):
        """A planner asks on the real clock (2026, before any call of the example): only
        leads never called in the example can be due, in their calling hours now."""
        now = utcnow()
        eligible = {
            lead.id
            for lead in self.leads.values()
            if not lead.closed
            and not lead.dnc
            and lead.attempts < self.max_attempts
            and lead.next_at <= now
            and lead.callback_at is None
            and not self.live(lead)
            and callable_at(lead.zones, now)
        }
        campaign = db.session.get(Campaign, self.campaign_id)
        got = dial_queue.next_leads(campaign, count)
        ids = [h.lead.id for h in got]
        assert set(ids) <= eligible and len(set(ids)) == len(ids), (ids, sorted(eligible))
        assert len(ids) == min(count, len(eligible)), (ids, sorted(eligible))
        for h in got:
            lead = self.leads[h.lead.id]
            if lead.lease is not None:
                self.leases[lead.lease].ended, self.leases[lead.lease].reason = True, "expired"
            self.leases[h.lease.id] = ModelLease(
                lead.id, None, now + self.lease, on_the_real_clock=True
            )
            self.objects[h.lease.id] = h.lease
            lead.lease = h.lease.id

    def _hand_out(self, count, agent) -> list[int]:
        eligible = [lead for lead in self.leads.values() if self.eligible(lead, agent)]
        callbacks = [lead for lead in eligible if lead.callback_at is not None]
        campaign = db.session.get(Campaign, self.campaign_id)
        got = dial_queue.next_leads(campaign, count, agent_email=agent, at=self.clock)
        ids = [h.lead.id for h in got]
        assert len(set(ids)) == len(ids), "a lead handed out twice in one answer"
        allowed = {lead.id for lead in eligible}
        assert set(ids) <= allowed, (
            f"handed out leads the model says are not eligible: {set(ids) - allowed}"
        )
        # No starvation: as many as asked for, or every eligible lead.
        assert len(ids) == min(count, len(eligible)), (ids, sorted(allowed))

        # Due callbacks first: the asking agent's own, then the longest due; marked so.
        def rank(lead):
            return (lead.callback_agent != agent, lead.callback_at)

        first = [self.leads[i] for i in ids[: min(count, len(callbacks))]]
        assert all(lead.callback_at is not None for lead in first), "a callback was passed over"
        assert [rank(x) for x in first] == sorted(rank(x) for x in first)
        left = [lead for lead in callbacks if lead not in first]
        assert not first or not left or rank(first[-1]) <= min(rank(x) for x in left)
        assert [h.reason for h in got[: len(first)]] == ["callback"] * len(first)
        for h in got:
            lead = self.leads[h.lead.id]
            if lead.lease is not None:
                # Over; the new lease closes it.
                self.leases[lead.lease].ended, self.leases[lead.lease].reason = True, "expired"
            self.leases[h.lease.id] = ModelLease(lead.id, agent, self.clock + self.lease)
            self.objects[h.lease.id] = h.lease
            lead.lease = h.lease.id
        return ids

    def _outcome(self, lead: ModelLead, code, agent, callback_in, late):
        row = db.session.get(Lead, lead.id)
        agent_id = self.agent_ids[agent] if agent else None
        callback_at = self.clock + callback_in * MIN if code == "CALLBACK" else None
        lead_service.record_interaction(
            row,
            campaign=db.session.get(Campaign, self.campaign_id),
            agent_id=agent_id,
            wrap_code=code,
            at=self.clock,
            callback_at=callback_at,
        )
        if self.late(lead.id, agent):
            # The agent's lease is over and the lead was leased to someone else since: the
            # call is history, but for a do-not-call request.
            lead.dnc = lead.dnc or CLOSING.get(code, False)
            return
        # Whoever holds the lead now, the call ends the lease (issue 18: "recording an
        # outcome ends the lease"), counts the attempt and sets the recycle time.
        if lead.lease is not None:
            self.leases[lead.lease].ended, self.leases[lead.lease].reason = True, "outcome"
            lead.lease = None
        lead.attempts += 1
        lead.late_calls += late
        lead.closed = code in CLOSING
        lead.dnc = lead.dnc or CLOSING.get(code, False)
        lead.callback_at, lead.callback_agent = callback_at, None
        if code == "CALLBACK":
            lead.callback_agent = agent
            lead.next_at = self.clock
        elif code in RECYCLED:
            lead.next_at = self.clock + self.recycle[code] * MIN

    @precondition(lambda self: any(self.live(lead) for lead in self.leads.values()))
    @rule(
        pick=st.integers(0, 100),
        code=st.sampled_from(CODES),
        agent=st.sampled_from([None, *AGENTS]),
        callback_in=st.sampled_from([0, 1, 5, 30, 90]),
    )
    def record_outcome(self, pick, code, agent, callback_in):
        held = [lead for lead in self.leads.values() if self.live(lead)]
        self._outcome(held[pick % len(held)], code, agent, callback_in, late=False)

    @precondition(lambda self: any(not self.live(self.leads[s.lead]) for s in self.leases.values()))
    @rule(
        pick=st.integers(0, 100),
        code=st.sampled_from(CODES),
        agent=st.sampled_from([None, *AGENTS]),
    )
    def record_late_outcome(self, pick, code, agent):
        """A dialer posts a call after its lead's lease was released or ran out: the call
        happened, so it is recorded like any other."""
        over = sorted({s.lead for s in self.leases.values() if not self.live(self.leads[s.lead])})
        self._outcome(self.leads[over[pick % len(over)]], code, agent, 30, late=True)

    @precondition(lambda self: self.leases)
    @rule(pick=st.integers(0, 100))
    def release(self, pick):
        lease_id = self.handed()[pick % len(self.handed())]
        lease = self.leases[lease_id]
        released = dial_queue.release(self.objects[lease_id])
        # A running lease is released; one closed, or past its end (closed now as expired)
        # not.
        running = lease.on_the_real_clock or self.clock < lease.ends
        assert released is (not lease.ended and running), (lease_id, lease)
        if not lease.ended:
            lease.ended, lease.reason = True, "released" if released else "expired"
            lead = self.leads[lease.lead]
            if lead.lease == lease_id:
                lead.lease = None

    @rule(minutes=st.one_of(st.integers(1, 20), st.sampled_from([30, 59, 60, 61, 180, 600])))
    def advance(self, minutes):
        self.clock += minutes * MIN
        over = [
            lease_id
            for lease_id, lease in self.leases.items()
            if not lease.ended and not lease.on_the_real_clock and lease.ends <= self.clock
        ]
        if over:
            # The real clock passed these leases' ends too (see the module's docstring).
            past = utcnow() - dt.timedelta(seconds=1)
            db.session.execute(
                sa.update(DialLease)
                .where(DialLease.id.in_(over))
                .values(expires_at=past, leased_at=past - self.lease)
            )
            # So did their leads' next callable times when on the real clock (before the
            # machine's 2030); times on the machine's clock stay.
            leads = [self.leases[lease_id].lead for lease_id in over]
            db.session.execute(
                sa.update(Lead)
                .where(Lead.id.in_(leads), Lead.next_call_at < MONDAY)
                .values(next_call_at=past)
            )

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def leads_agree_with_the_model(self):
        if not getattr(self, "leads", None):
            return
        rows = db.session.execute(
            sa.select(
                Lead.id,
                Lead.status,
                Lead.do_not_call,
                Lead.dial_attempts,
                Lead.callback_at,
                Lead.callback_agent_id,
            ).where(Lead.id.in_(self.leads))
        ).all()
        for lead_id, status, dnc, attempts, callback_at, callback_agent_id in rows:
            lead = self.leads[lead_id]
            assert (status == "closed", dnc, attempts) == (lead.closed, lead.dnc, lead.attempts)
            assert callback_at == lead.callback_at
            if callback_at is not None:  # whose callback it is
                assert callback_agent_id == self.agent_ids.get(lead.callback_agent)
            # Only calls posted after their lease was over can pass the maximum.
            assert attempts <= self.max_attempts + lead.late_calls
        open_leases = db.session.execute(
            sa.select(DialLease.lead_id, DialLease.id).where(
                DialLease.campaign_id == self.campaign_id, DialLease.ended_at.is_(None)
            )
        ).all()
        assert {lease_id for _lead, lease_id in open_leases} == {
            i for i, lease in self.leases.items() if not lease.ended
        }


def test_leases_equal_a_plain_model_of_each_lead(app, make_account, make_user):
    account_id = make_account("dialco")
    LeaseMachine.account_id = account_id
    LeaseMachine.agent_ids = {email: make_user(account_id, email) for email in AGENTS}
    with app.app_context(), account_scope(account_id):
        run_state_machine_as_test(
            LeaseMachine,
            settings=machine_settings(20, 20, on_postgresql=8),
        )
