"""Migration 0016: every existing lead with a zone gets its zone key (zone, country from
the lead or its zone, state as its code), one UPDATE per distinct combination; leads
without a zone keep none. SQLite, and PostgreSQL when configured."""

import sqlalchemy as sa

from tests.test_migrations import empty_database, flask_db  # noqa: F401 (fixture)

LEADS = [  # (timezone, state, country)
    ("America/Anchorage", "Alaska", "US"),
    ("America/Anchorage", "AK", None),
    ("Australia/Perth", "Western Australia", None),
    ("America/New_York", None, None),
    ("Europe/London", "somewhere", "GB"),
    (None, "NY", "US"),
]


def _seed_at_0015(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run(
            "INSERT INTO accounts (id, name, slug, timezone, default_region, created_at, "
            "updated_at) VALUES (1, 'acme', 'acme', 'UTC', 'US', '2026-01-01', '2026-01-01')"
        )
        run(
            "INSERT INTO lead_pools (id, account_id, name, description, status, is_system, "
            "priority, day_offset, total_count, open_count, ready_count, closed_count, "
            "used_count, valid_count, invalid_count, created_at, updated_at) VALUES "
            "(1, 1, 'Pool', '', 'active', FALSE, 5, 0, 0, 0, 0, 0, 0, 0, 0, "
            "'2026-01-01', '2026-01-01')"
        )
        for i, (zone, state, country) in enumerate(LEADS, start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO leads (id, account_id, pool_id, phone1, timezone, state, "
                    "country, source, status, completed, do_not_call, dial_order, "
                    "call_count, custom, created_at, updated_at) VALUES (:id, 1, 1, :phone, "
                    ":zone, :state, :country, 'outbound', 'open', FALSE, FALSE, 0, 0, '{}', "
                    "'2026-01-01', '2026-01-01')"
                ),
                {"id": i, "phone": f"+1212555{i:04d}", "zone": zone, "state": state,
                 "country": country},
            )  # fmt: skip
    engine.dispose()


def test_0016_gives_existing_leads_their_zone_keys(empty_database, tmp_path):  # noqa: F811
    flask_db(empty_database, tmp_path, "upgrade", "0015")
    _seed_at_0015(empty_database)
    flask_db(empty_database, tmp_path, "upgrade", "0016")
    engine = sa.create_engine(empty_database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        keys = conn.exec_driver_sql("SELECT zone_key FROM leads ORDER BY id").scalars().all()
    engine.dispose()
    assert keys == [
        "America/Anchorage|US|AK",
        "America/Anchorage|US|AK",
        "Australia/Perth|AU|WA",
        "America/New_York|US|",
        "Europe/London|GB|",
        None,
    ]
    flask_db(empty_database, tmp_path, "downgrade", "0015")
