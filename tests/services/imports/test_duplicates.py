"""The import engine's duplicate search against existing leads (``existing_matches``): one
query per chunk of keys, the keys sent as one parameter on PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services.imports import duplicates as import_duplicates
from tests.services.imports.staging_helpers import add


@pytest.fixture
def pools(app, make_account):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        spring, autumn = LeadPool(name="Spring"), LeadPool(name="Autumn")
        db.session.add_all([spring, autumn])
        db.session.flush()
        yield spring, autumn


def test_existing_leads_are_found_by_key_in_the_pools_searched_only(pools):
    spring, autumn = pools
    in_spring = add(spring, phone1="+14155550101")
    add(autumn, phone1="+14155550102")  # same account, a pool not searched
    keys = pd.Series(["+14155550101", "+14155550102", "+14155550199", None])
    found = import_duplicates.existing_matches(
        keys, ["phone1"], [spring.id], False, exclude_import=0
    )
    assert found[["_key", "lead_id"]].to_dict("records") == [
        {"_key": "+14155550101", "lead_id": in_spring.id}
    ]


def test_many_keys_in_several_chunks_are_all_found(pools):
    spring, _ = pools
    phones = [f"+1415555{i:04d}" for i in range(0, 9000, 3)]
    db.session.add_all([Lead(pool_id=spring.id, phone1=p) for p in phones])
    db.session.flush()
    wanted = pd.Series([f"+1415555{i:04d}" for i in range(9000)])  # over one chunk
    found = import_duplicates.existing_matches(wanted, ["phone1"], [spring.id], False, 0)
    assert sorted(found["_key"]) == sorted(phones)


def test_a_key_holding_the_key_separator_is_still_matched(pools):
    """Customer keys come from other systems: one holding the separator character cannot
    travel in the joined parameter, and must still be found."""
    spring, _ = pools
    odd = add(spring, phone1="+14155550103", customer_key="CRM\x1f42")
    plain = add(spring, phone1="+14155550104", customer_key="CRM-43")
    keys = pd.Series(["CRM\x1f42", "CRM-43", "CRM-44"])
    found = import_duplicates.existing_matches(keys, ["customer_key"], [spring.id], False, 0)
    assert sorted(found["lead_id"]) == sorted([odd.id, plain.id])


@pytest.mark.parametrize(
    ("key", "index"),
    [("email", "ix_leads_account_email"), ("customer_key", "ix_leads_account_customer_key")],
)
def test_the_search_by_email_or_customer_key_uses_its_partial_index(pools, key, index):
    """Those indexes hold only the leads that have the key (migration 0010); a search the
    database cannot prove to want present keys only would scan the pools instead."""
    import sqlalchemy as sa

    spring, _ = pools
    for i in range(50):
        add(spring, email_key=f"lead{i}@example.com", customer_key=f"CRM-{i}")
    searched = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "AS lead_id" in statement:
            searched.append((statement, parameters))

    engine = db.session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        wanted = pd.Series(["lead3@example.com", "CRM-3"])
        found = import_duplicates.existing_matches(wanted, [key], [spring.id], False, 0)
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    assert len(found) == 1
    (statement, parameters), *_ = searched
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        # Statistics of this test's rows (ANALYZE counts the transaction's own inserts), not
        # those other tests' committed rows left: the choice among usable indexes follows them.
        conn.exec_driver_sql("ANALYZE leads")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a few rows: force a choice
        plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
    else:
        # Force the index: SQLite refuses ("no query solution") when the partial index
        # cannot serve the query; its own choice among usable ones depends on statistics
        # other tests leave (ANALYZE), not on this rule.
        assert "FROM leads" in statement
        forced = statement.replace("FROM leads", f"FROM leads INDEXED BY {index}", 1)
        explained = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {forced}", parameters)
        plan = [row[-1] for row in explained]
    assert any(index in line for line in plan), plan
