"""Finding leads (services/lead_search.py): id prefixes as key ranges, keyset pages whose
cost does not grow with the page's number, each quick search served by an index (name
prefixes, whole emails, numbers and their start), and a result count that stops past 1,000."""

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


def _with_leads(account_id: int, leads: list[dict]) -> Account:
    pool = LeadPool(account_id=account_id, name="Big")
    db.session.add(pool)
    db.session.flush()
    db.session.execute(
        sa.insert(Lead), [{"account_id": account_id, "pool_id": pool.id, **lead} for lead in leads]
    )
    db.session.flush()
    return db.session.get(Account, account_id)


def test_the_result_count_stops_one_past_the_thousand_shown(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        account = _with_leads(account_id, [{"phone1": f"+1212000{i:04d}"} for i in range(1_002)])
        assert lead_search.result_count(lead_search.search_query({}, account)) == 1_001
        ten = lead_search.search_query({"q": "212 000 001"}, account)  # +1212000001x
        assert lead_search.result_count(ten) == 10


@pytest.fixture
def people(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        pool = LeadPool(account_id=account_id, name="People")
        db.session.add(pool)
        db.session.flush()
        named = [
            ("René", "Dupont", "+12125550100", "rene@example.com", "K-1"),
            ("Renée", "Smith", "+12125550101", "Renee.Smith@Example.com", "K-2"),
            ("Renê", "Accent", None, None, None),  # "ê" is the first letter after "é"
            ("Rena", "Smithers", None, None, None),
            ("Bob_", "Percent%", None, None, None),
            ("Bobby", "Perc", None, None, None),
            ("John", "van der Berg", None, None, None),
            (None, "Mary Ann", None, None, None),
        ]
        for first, last, phone, email, key in named:
            db.session.add(
                Lead(
                    account_id=account_id,
                    pool_id=pool.id,
                    first_name=first,
                    last_name=last,
                    phone1=phone,
                    email=email,
                    email_key=email.lower() if email else None,
                    customer_key=key,
                )
            )
        db.session.flush()
        yield db.session.get(Account, account_id)


def _found(account, q: str) -> set[str]:
    leads = db.session.scalars(lead_search.search_query({"q": q}, account)).all()
    return {lead.display_name for lead in leads}


@pytest.mark.parametrize(
    "q,names",
    [
        ("smi", {"Renée Smith", "Rena Smithers"}),
        ("SMITHE", {"Rena Smithers"}),
        ("rené", {"René Dupont", "Renée Smith"}),  # not "Renê": past the range's end
        ("renê", {"Renê Accent"}),
        ("ren", {"René Dupont", "Renée Smith", "Renê Accent", "Rena Smithers"}),
        ("renée smi", {"Renée Smith"}),
        ("smith renée", {"Renée Smith"}),  # last name first
        ("john van der", {"John van der Berg"}),
        ("van der b", {"John van der Berg"}),
        ("mary ann", {"Mary Ann"}),
        ("mith", set()),  # a middle is not a start
        ("bob_", {"Bob_ Percent%"}),
        ("bo_", set()),  # "_" typed is a character, not "any one character"
        ("percent%", {"Bob_ Percent%"}),
        ("perc%", set()),  # "%" typed is a character, not "anything"
        ("perc", {"Bob_ Percent%", "Bobby Perc"}),
    ],
)
def test_a_name_is_found_by_how_it_starts(people, q, names):
    assert _found(people, q) == names


@pytest.mark.parametrize(
    "q,names",
    [
        ("renee.smith@example.com", {"Renée Smith"}),
        ("  RENEE.SMITH@EXAMPLE.COM ", {"Renée Smith"}),
        ("renee.smith@example", set()),  # the whole address only
        ("K-1", {"René Dupont"}),
        ("k-1", set()),  # a customer key is what the file said
        ("(212) 555-0101", {"Renée Smith"}),
        ("2125550100", {"René Dupont"}),
        ("+1 212.555.0100", {"René Dupont"}),
        ("212 555", {"René Dupont", "Renée Smith"}),  # six digits: the start of a number
        ("(212) 555-010", {"René Dupont", "Renée Smith"}),
        ("21255", set()),  # five digits: too few to be a number's start
    ],
)
def test_an_email_a_customer_key_and_a_number_typed_any_way_are_found(people, q, names):
    assert _found(people, q) == names


@pytest.fixture
def crowd(app_ctx, make_account):
    """20,000 leads of one account (PostgreSQL, one INSERT ... SELECT), analysed: enough
    that the planner would read the whole table for a condition no index serves."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("the plans are PostgreSQL's (CI's second pass); SQLite's differ")
    account_id = make_account("acme")
    with account_scope(account_id):
        pool = LeadPool(account_id=account_id, name="Crowd")
        db.session.add(pool)
        db.session.flush()
        db.session.execute(
            sa.text(
                "INSERT INTO leads (account_id, pool_id, first_name, last_name, email, "
                "email_key, customer_key, phone1, phone2, source, status, completed, "
                "do_not_call, dial_order, call_count, custom, created_at, updated_at) "
                "SELECT :account, :pool, "
                "CASE WHEN g % 5000 = 0 THEN 'John' ELSE 'F' || md5(g::text) END, "
                "CASE WHEN g % 5000 = 0 THEN 'Smith' ELSE 'L' || md5(g::text) END, "
                "'e' || g || '@example.com', 'e' || g || '@example.com', 'K' || g, "
                "'+1212' || lpad(g::text, 7, '0'), "
                "CASE WHEN g % 2 = 0 THEN '+1646' || lpad(g::text, 7, '0') END, "
                "'outbound', 'open', false, false, g, 0, '{}', now(), now() "
                "FROM generate_series(1, 20000) AS g"
            ),
            {"account": account_id, "pool": pool.id},
        )
        db.session.execute(sa.text("ANALYZE leads"))
        yield db.session.get(Account, account_id)


SEARCHED_BY_INDEX = [
    ("smi", "ix_leads_account_last_name"),
    ("john smi", "ix_leads_account_first_name"),
    ("E123@Example.com", "ix_leads_account_email"),
    ("K12345", "ix_leads_account_customer_key"),
    ("+12120012345", "ix_leads_account_phone1"),
    ("(646) 001-2346", "ix_leads_account_phone2"),
    ("212 001 23", "ix_leads_account_phone1"),
]


def test_each_quick_search_reads_an_index_not_the_table(crowd):
    """One setup for every kind (20,000 leads take a few seconds): for each, the first page
    and the result count are index scans, and the search finds its lead."""
    newest = db.session.scalar(sa.select(sa.func.max(Lead.id)))
    for q, index in [*SEARCHED_BY_INDEX, (str(newest)[:-1], "pk_leads")]:
        # The account's own scope, written out: a compiled statement skips the session's.
        query = lead_search.search_query({"q": q}, crowd).where(Lead.account_id == crowd.id)
        for statement in (
            query.order_by(Lead.id.desc()).limit(51),  # the first page
            lead_search.count_statement(query),  # the result count
        ):
            sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(db.session.execute(sa.text(f"EXPLAIN {sql}")).scalars())
            assert "Seq Scan" not in plan and index in plan, (q, plan)
        assert db.session.scalars(query.limit(1)).all(), q  # and it finds its lead
