"""Finding leads: the Leads page's quick and advanced search, its result count and its
keyset paging (page 2,000 costs what page 1 costs: ``id < cursor`` on the primary key,
never an OFFSET that reads and drops every lead before the page)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from leadapp.domain import phones as phone_domain
from leadapp.domain import search_terms
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.extensions import db
from leadapp.models import Account, Campaign, Interaction, Lead, PoolAssignment
from leadapp.models.base import ID_MAX, is_id
from leadapp.models.lead import LEAD_STATUSES

FILTER_KEYS = (
    "q",
    "pool",
    "campaign",
    "status",
    "completed",
    "wrap_code",
    "agent",
    "interaction",
    "last_from",
    "last_to",
)
ID_DIGITS = 10  # ids are INTEGER: at most 10 digits


def as_id(text: str | None) -> int | None:
    """The id written in ``text`` ("123" or "#123"), or None when it names no object."""
    text = (text or "").strip().lstrip("#")
    number = int(text) if text.isascii() and text.isdigit() else None
    return number if is_id(number) else None  # past an INTEGER column: no object


# ---------------------------------------------------------------------------------------
# Quick search


def phone_regions(f: dict[str, str], account: Account) -> list[str]:
    """The regions a phone typed in national format is read in: the chosen campaign's; else
    the campaigns the chosen pool feeds; else every campaign's of the account — and the
    account's default region last ("07958 022654" is a GB mobile in a GB campaign, "0420
    063 844" an AU one in an AU campaign)."""
    query = sa.select(Campaign.default_region).distinct()
    if (campaign_id := as_id(f.get("campaign"))) is not None:
        query = query.where(Campaign.id == campaign_id)
    elif (pool_id := as_id(f.get("pool"))) is not None:
        fed = sa.select(PoolAssignment.campaign_id).where(PoolAssignment.pool_id == pool_id)
        query = query.where(Campaign.id.in_(fed))
    regions = sorted(r for r in db.session.scalars(query) if r)
    return [*regions, *([account.default_region] if account.default_region not in regions else [])]


def id_prefix_ranges(digits: str, max_id: int) -> list[tuple[int, int]]:
    """The id ranges of the ids that start with ``digits``, up to ``max_id``: "12" is 12,
    120-129, 1200-1299, ... — each a range on the primary key, not a scan of the text."""
    if not digits.isdigit() or digits.startswith("0") or len(digits) >= ID_DIGITS:
        return []
    prefix, ranges, scale = int(digits), [], 1
    while prefix * scale <= min(max_id, ID_MAX):
        ranges.append((prefix * scale, min((prefix + 1) * scale - 1, ID_MAX)))
        scale *= 10
    return ranges


def _starts_with(column, prefix: str, postgresql: bool):
    """``column`` lower-cased starts with ``prefix`` (lower-cased by the database): one
    range of the name's index (models/lead.py), compared code point by code point."""
    folded = sa.func.lower(column)
    high = search_terms.upper_bound(prefix)
    if postgresql:  # the operators of the index's text_pattern_ops
        at_least = folded.op("~>=~", is_comparison=True)(prefix)
        below = folded.op("~<~", is_comparison=True)(high) if high is not None else None
    else:
        at_least, below = folded >= prefix, (folded < high) if high is not None else None
    return sa.and_(at_least, below) if below is not None else at_least


def _name_search(q: str):
    """Leads whose first or last name (or both, "john smi") starts with ``q``."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    # Lower-cased by the database itself, as the names in the index are ("É" is "é" on
    # PostgreSQL, left as it is by SQLite's ASCII-only lower()).
    folded = db.session.scalar(sa.select(sa.func.lower(q))) or ""
    return [
        sa.and_(
            *(
                _starts_with(column, prefix, postgresql)
                for column, prefix in ((Lead.first_name, first), (Lead.last_name, last))
                if prefix is not None
            )
        )
        for first, last in search_terms.name_prefixes(folded)
    ]


def quick_search(q: str, regions: list[str]):
    """A SQL condition on ``Lead`` for the quick search ``q``, each part served by an
    index: a lead id or the start of one ("1234" finds lead 1234 and 12345); the customer
    key; a phone in any format — international, or national for one of ``regions`` —
    (equality on the stored E.164 numbers), or the start of one of at least
    ``MIN_PHONE_PREFIX_DIGITS`` digits; a whole email (any case); else the start of a first
    or last name ("smi", "john smi"). A name is no longer found by a part in its middle."""
    q = q.strip()
    conditions = [Lead.customer_key == q]
    digits_only = q.lstrip("#")
    if digits_only.isascii() and digits_only.isdigit():
        max_id = db.session.scalar(sa.select(sa.func.max(Lead.id))) or 0
        conditions.extend(
            Lead.id.between(low, high) for low, high in id_prefix_ranges(digits_only, max_id)
        )
    if "@" in q:
        # An email: the whole of it, as stored lower-cased and trimmed (leads.email_key).
        conditions.append(Lead.email_key == q.lower())
        return sa.or_(*conditions)
    numbers, prefixes = set(), set()
    if sum(ch.isdigit() for ch in q) >= 3:
        for region in regions:
            e164, _ext, _reason = phone_domain.normalise_phone(q, region)
            if e164:
                numbers.add(e164)
            elif prefix := search_terms.phone_prefix(q, region):
                prefixes.add(prefix)
    phones = [getattr(Lead, p) for p in PHONE_FIELDS]
    if numbers:
        # A phone: equality on the stored E.164 values, never a scan of the names.
        conditions.extend(phone.in_(sorted(numbers)) for phone in phones)
    elif prefixes:
        # The start of a number: one range per phone column and region.
        for prefix in sorted(prefixes):
            high = search_terms.upper_bound(prefix)
            conditions.extend(sa.and_(phone >= prefix, phone < high) for phone in phones)
    elif any(ch.isalpha() for ch in q):
        conditions.extend(_name_search(q))
    return sa.or_(*conditions)


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()) if (text or "").strip() else None
    except ValueError:
        return None


def search_query(f: dict[str, str], account: Account):
    """The leads matching the filters ``f`` (see ``FILTER_KEYS`` and ``cf_<key>``);
    dates are days in the account's zone."""
    zone = ZoneInfo(account.timezone)

    def day_start_utc(day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    query = sa.select(Lead)
    if f.get("q"):
        query = query.where(quick_search(f["q"], phone_regions(f, account)))
    if (pool_id := as_id(f.get("pool"))) is not None:
        query = query.where(Lead.pool_id == pool_id)
    if (campaign_id := as_id(f.get("campaign"))) is not None:
        assigned = sa.select(PoolAssignment.pool_id).where(
            PoolAssignment.campaign_id == campaign_id
        )
        query = query.where(Lead.pool_id.in_(assigned))
    if f.get("status") in LEAD_STATUSES:
        query = query.where(Lead.status == f["status"])
    if f.get("completed") in ("yes", "no"):
        query = query.where(Lead.completed.is_(f["completed"] == "yes"))
    if f.get("wrap_code"):
        query = query.where(sa.func.lower(Lead.wrap_code) == f["wrap_code"].lower())
    if (agent_id := as_id(f.get("agent"))) is not None:
        called_by = sa.select(Interaction.lead_id).where(Interaction.agent_id == agent_id)
        query = query.where(Lead.id.in_(called_by))
    if f.get("interaction"):
        interaction_id = as_id(f["interaction"])
        having = sa.select(Interaction.lead_id).where(Interaction.id == (interaction_id or -1))
        query = query.where(Lead.id.in_(having))
    if day := _parse_date(f.get("last_from")):
        query = query.where(Lead.last_called_at >= day_start_utc(day))
    if day := _parse_date(f.get("last_to")):
        query = query.where(Lead.last_called_at < day_start_utc(day + dt.timedelta(days=1)))
    for key, value in f.items():
        if key.startswith("cf_") and value:
            query = query.where(Lead.custom[key[3:]].as_string().icontains(value, autoescape=True))
    return query


COUNT_SHOWN = 1_000  # past it the page says "1,000+ leads": counting on costs per lead


def count_statement(query):
    """The statement of ``result_count`` (bench/scale.py and the tests read its plan)."""
    ids = query.with_only_columns(Lead.id).order_by(None).limit(COUNT_SHOWN + 1).subquery()
    return sa.select(sa.func.count()).select_from(ids)


def result_count(query) -> int:
    """How many leads ``query`` (a ``search_query``) finds, counted up to one past
    ``COUNT_SHOWN``: a count of every match would read them all (a million for a search
    of a whole account), where the page only needs to say "more than 1,000"."""
    return db.session.scalar(count_statement(query)) or 0


# ---------------------------------------------------------------------------------------
# Keyset paging


@dataclass
class Page:
    """One page of leads, newest first, and the cursors of its neighbours."""

    leads: list[Lead]
    has_next: bool
    has_previous: bool

    @property
    def after(self) -> int | None:
        """The cursor of the next page: the last id shown."""
        return self.leads[-1].id if self.leads and self.has_next else None

    @property
    def before(self) -> int | None:
        """The cursor of the previous page: the first id shown."""
        return self.leads[0].id if self.leads and self.has_previous else None


def keyset_page(query, size: int, after: int | None = None, before: int | None = None) -> Page:
    """The page of ``query`` (newest first) after the cursor ``after`` (ids below it) or
    before the cursor ``before`` (ids above it), else the first page. Each is one index
    range on the primary key, whatever the page's number."""
    if before is not None:
        rows = db.session.scalars(
            query.where(Lead.id > before).order_by(Lead.id.asc()).limit(size + 1)
        ).all()
        more_before = len(rows) > size
        leads = list(reversed(rows[:size]))
        return Page(leads, has_next=True, has_previous=more_before)
    if after is not None:
        query = query.where(Lead.id < after)
    rows = db.session.scalars(query.order_by(Lead.id.desc()).limit(size + 1)).all()
    return Page(list(rows[:size]), has_next=len(rows) > size, has_previous=after is not None)
