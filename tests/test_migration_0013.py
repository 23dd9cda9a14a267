"""Migration 0013: existing pools' leads get dense dial-order positions — file (id) order
for a pool never shuffled, their random order kept for a shuffled one — and each pool's
next free position is its lead count. SQLite, and PostgreSQL when configured."""

import sqlalchemy as sa

from tests.test_migrations import empty_database, flask_db  # noqa: F401 (fixture)


def _seed_at_0012(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run(
            "INSERT INTO accounts (id, name, slug, timezone, default_region, created_at, "
            "updated_at) VALUES (1, 'acme', 'acme', 'UTC', 'US', '2026-01-01', '2026-01-01')"
        )
        for pool_id, name in ((1, "Never shuffled"), (2, "Shuffled"), (3, "Empty")):
            run(
                "INSERT INTO lead_pools (id, account_id, name, description, status, is_system, "
                "priority, day_offset, total_count, open_count, ready_count, closed_count, "
                "used_count, valid_count, invalid_count, created_at, updated_at) VALUES "
                f"({pool_id}, 1, '{name}', '', 'active', FALSE, 5, 0, 0, 0, 0, 0, 0, 0, 0, "
                "'2026-01-01', '2026-01-01')"
            )
        # Random dial orders, as every import wrote them before 0013.
        orders = {1: [900, 5, 300, 42], 2: [70, 10, 999, 3, 500]}
        lead_id = 0
        for pool_id, values in orders.items():
            for value in values:
                lead_id += 1
                run(
                    "INSERT INTO leads (id, account_id, pool_id, phone1, source, status, "
                    "completed, do_not_call, dial_order, call_count, custom, created_at, "
                    f"updated_at) VALUES ({lead_id}, 1, {pool_id}, '+121255500{lead_id:02d}', "
                    f"'outbound', 'open', FALSE, FALSE, {value}, 0, '{{}}', '2026-01-01', "
                    "'2026-01-01')"
                )
        run(
            "INSERT INTO audit_log (account_id, action, object_type, object_id, details, at) "
            "VALUES (1, 'pool.shuffled', 'LeadPool', 2, '{}', '2026-01-02')"
        )
    engine.dispose()


def test_0013_numbers_each_pool_in_file_order_unless_shuffled(empty_database, tmp_path):  # noqa: F811
    flask_db(empty_database, tmp_path, "upgrade", "0012")
    _seed_at_0012(empty_database)
    flask_db(empty_database, tmp_path, "upgrade", "0013")
    engine = sa.create_engine(empty_database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        orders = conn.exec_driver_sql(
            "SELECT pool_id, id, dial_order FROM leads ORDER BY pool_id, id"
        ).all()
        next_free = dict(conn.exec_driver_sql("SELECT id, dial_order_next FROM lead_pools").all())
    engine.dispose()
    never = [o for p, _i, o in orders if p == 1]
    shuffled = [o for p, _i, o in orders if p == 2]
    assert never == [0, 1, 2, 3]  # file order: the order the rows arrived in
    assert shuffled == [2, 1, 4, 0, 3]  # the shuffle's order kept (70, 10, 999, 3, 500)
    assert next_free == {1: 4, 2: 5, 3: 0}
    flask_db(empty_database, tmp_path, "downgrade", "0012")
