"""Finding leads (services/lead_search.py): id prefixes as key ranges, and keyset pages whose
cost does not grow with the page's number."""

import time

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import lead_search


def test_an_id_prefix_is_a_few_ranges_of_the_primary_key():
    assert lead_search.id_prefix_ranges("12", 1300) == [(12, 12), (120, 129), (1200, 1299)]
    assert lead_search.id_prefix_ranges("7", 7) == [(7, 7)]
    assert lead_search.id_prefix_ranges("9", 8) == []
    assert lead_search.id_prefix_ranges("012", 10**6) == []  # no id starts with 0
    assert lead_search.id_prefix_ranges("2147483647", 2**31 - 1) == []  # a whole id: exact
    ranges = lead_search.id_prefix_ranges("2", 2**31 - 1)
    assert ranges[-1] == (2_000_000_000, 2**31 - 1)  # never past the INTEGER column


@pytest.fixture
def many(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        pool = LeadPool(account_id=account_id, name="Big")
        db.session.add(pool)
        db.session.flush()
        db.session.execute(
            sa.insert(Lead),
            [
                {"account_id": account_id, "pool_id": pool.id, "phone1": f"+1212{i:07d}"}
                for i in range(30_000)
            ],
        )
        db.session.flush()
        yield db.session.get(Account, account_id)


def _best_of(runs, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_page_600_costs_what_page_1_costs(many):
    query = lead_search.search_query({}, many)
    ids = db.session.scalars(sa.select(Lead.id).order_by(Lead.id.desc())).all()
    deep_cursor = ids[599 * 50 - 1]  # the last id of page 599: page 600 follows it
    first = lead_search.keyset_page(query, 50)
    deep = lead_search.keyset_page(query, 50, after=deep_cursor)
    assert [lead.id for lead in deep.leads] == ids[599 * 50 : 600 * 50]
    assert [lead.id for lead in first.leads] == ids[:50]
    t_first = _best_of(5, lambda: lead_search.keyset_page(query, 50))
    t_deep = _best_of(5, lambda: lead_search.keyset_page(query, 50, after=deep_cursor))
    t_offset = _best_of(
        5,
        lambda: db.session.scalars(query.order_by(Lead.id.desc()).limit(50).offset(599 * 50)).all(),
    )
    # Ratios in one run (the machine is shared): the deep keyset page is as cheap as the
    # first, where an offset reads and drops the 29,950 leads before it.
    assert t_deep < 3 * t_first + 0.005, (t_first, t_deep, t_offset)
    assert t_deep < t_offset, (t_first, t_deep, t_offset)
