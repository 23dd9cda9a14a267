"""The reviewed migration goes up and down on SQLite, and on PostgreSQL when configured."""

import os

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT, postgres_url, reset_postgres_schema
from tests.processes import flask_command

EXPECTED = {
    "accounts",
    "users",
    "projects",
    "campaigns",
    "lead_pools",
    "pool_assignments",
    "pool_breakdowns",
    "saved_views",
    "leads",
    "interactions",
    "field_definitions",
    "mapping_templates",
    "imports",
    "dedup_jobs",
    "dedup_moves",
    "audit_log",
    "background_jobs",
    "do_not_call_numbers",
    "api_tokens",
    "dedup_golden_changes",
    "email_deliveries",
    "wrap_codes",
    "user_sessions",
    "password_links",
    "outbox_messages",
    "dial_settings",
    "dial_leases",
}


def flask_db(database_url: str, instance, *args, check: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "LEADAPP_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "LEADAPP_INSTANCE": str(instance),
            "SECRET_KEY": "x",
            "PYTHONPATH": str(ROOT),
        }
    )
    result = flask_command(["db", *args], env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def tables(url: str) -> set[str]:
    from config import _database_url

    engine = sa.create_engine(_database_url(url))
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def partial(indexes) -> set[str]:
    """The names of the reflected ``indexes`` that hold only the rows matching a WHERE."""
    return {
        i["name"]
        for i in indexes
        if any(k.endswith("_where") and v is not None for k, v in i["dialect_options"].items())
    }


def partial_in_models(table: str) -> set[str]:
    from leadapp import models  # noqa: F401 (the tables)
    from leadapp.extensions import db

    return {
        index.name
        for index in db.metadata.tables[table].indexes
        if index.dialect_options["postgresql"]["where"] is not None
    }


def up_and_down(url: str, instance) -> None:
    flask_db(url, instance, "upgrade")
    assert tables(url) == EXPECTED
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        migrated = {
            table: {i["name"]: i for i in sa.inspect(conn).get_indexes(table)}
            for table in ("leads", "dedup_moves")
        }
    engine.dispose()
    assert {"ix_leads_account_phone1", "ix_leads_account_email", "ix_leads_pool_status"} <= set(
        migrated["leads"]
    )
    # Autogenerate does not compare an index's WHERE: the partial ones are checked here.
    assert partial(migrated["leads"].values()) == partial_in_models("leads")
    assert migrated["dedup_moves"]["ix_dedup_moves_job"]["column_names"] == ["dedup_job_id", "id"]
    flask_db(url, instance, "downgrade", "base")
    assert tables(url) == set()
    flask_db(url, instance, "upgrade")  # and up again: downgrade left nothing behind
    assert tables(url) == EXPECTED


def test_migrations_up_and_down_on_sqlite(tmp_path):
    up_and_down(f"sqlite:///{tmp_path / 'migr.db'}", tmp_path)


@pytest.mark.database
def test_migrations_up_and_down_on_postgresql(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (CI's second pass sets it)")
    schema = f"leadapp_migrations_{os.getpid()}"
    reset_postgres_schema(base, schema)
    try:
        up_and_down(postgres_url(base, schema), tmp_path)
    finally:
        engine = sa.create_engine(postgres_url(base, "public"))
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()


def test_models_and_migration_agree(app):
    """Autogenerate finds nothing to add: every model change has its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from leadapp.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def _seed_at_0005(url: str, lead_account: int = 1) -> None:
    """Two accounts; account 1 with the Inactive pool and a list, three leads (the third
    moved to Inactive by a completed dedup run). ``lead_account`` 2 puts the second lead
    in account 2 although its pool is account 1's — the data 0006 must refuse."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        for account_id, slug in ((1, "acme"), (2, "globex")):
            run(
                "INSERT INTO accounts (id, name, slug, timezone, default_region, created_at, "
                f"updated_at) VALUES ({account_id}, '{slug}', '{slug}', 'UTC', 'US', "
                "'2026-01-01', '2026-01-01')"
            )
        for pool_id, name in ((1, "Inactive"), (2, "Spring list")):
            run(
                "INSERT INTO lead_pools (id, account_id, name, description, status, is_system, "
                "priority, day_offset, day_count, total_count, open_count, ready_count, "
                "closed_count, used_count, valid_count, invalid_count, created_at, updated_at) "
                f"VALUES ({pool_id}, 1, '{name}', '', 'active', {str(pool_id == 1).upper()}, "
                "0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '2026-01-01', '2026-01-01')"
            )
        for lead_id in range(1, 4):
            account_id = lead_account if lead_id == 2 else 1
            run(
                "INSERT INTO leads (id, account_id, pool_id, phone1, source, status, completed, "
                "do_not_call, dial_order, call_count, custom, created_at, updated_at) VALUES "
                f"({lead_id}, {account_id}, {1 if lead_id == 3 else 2}, '+1212555000{lead_id}', "
                "'outbound', 'open', FALSE, FALSE, 0, 0, '{}', '2026-01-01', '2026-01-01')"
            )
        run("INSERT INTO dedup_jobs (id, account_id, name, description, scope, targets, "
            "match_keys, keep_rule, retain_inbound, emails, status, created_at, updated_at) "
            "VALUES (1, 1, 'Run', '', 'account', '[]', '[\"phone1\"]', 'latest-created', "
            "FALSE, '[]', 'completed', '2026-01-01', '2026-01-01')")  # fmt: skip
        run("INSERT INTO dedup_moves (account_id, dedup_job_id, lead_id, golden_lead_id, "
            "from_pool_id, from_status, matched_on, reason, moved_at) "
            "VALUES (1, 1, 3, 1, 2, 'open', 'phone1', 'latest created', '2026-01-01')")  # fmt: skip
    engine.dispose()


def _facts(url: str) -> tuple[dict, str, set]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        counts = {
            table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in ("accounts", "lead_pools", "leads", "dedup_jobs", "dedup_moves")
        }
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
        fks = {fk["name"] for fk in sa.inspect(conn).get_foreign_keys("leads")}
    engine.dispose()
    return counts, version, fks


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (CI's second pass sets it)")
    schema = f"leadapp_upgrade_{os.getpid()}"
    reset_postgres_schema(base, schema)
    yield postgres_url(base, schema)
    engine = sa.create_engine(postgres_url(base, "public"))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()


@pytest.mark.database
def test_upgrading_keeps_every_row_of_the_tables_it_rebuilds(empty_database, tmp_path):
    """SQLite rebuilds a table to change its constraints (drop, then rename): with foreign
    keys on, dropping ``lead_pools`` cascaded into its leads. 0006 rebuilds leads, lead
    pools and the dedup tables; every row must still be there, under the new keys."""
    flask_db(empty_database, tmp_path, "upgrade", "0005")
    _seed_at_0005(empty_database)
    flask_db(empty_database, tmp_path, "upgrade")
    counts, _, fks = _facts(empty_database)
    assert counts == {"accounts": 2, "lead_pools": 2, "leads": 3, "dedup_jobs": 1, "dedup_moves": 1}
    assert "fk_leads_account_id_lead_pools" in fks


@pytest.mark.database
def test_an_upgrade_refused_by_the_data_changes_nothing(empty_database, tmp_path):
    """A lead in another account's pool cannot take the (account, pool) key: the upgrade
    stops with a sentence and the database is left exactly at 0005."""
    flask_db(empty_database, tmp_path, "upgrade", "0005")
    _seed_at_0005(empty_database, lead_account=2)
    failed = flask_db(empty_database, tmp_path, "upgrade", check=False)
    assert failed.returncode != 0
    if empty_database.startswith("sqlite"):
        assert "nothing was changed" in failed.stderr
    counts, version, fks = _facts(empty_database)
    assert version == "0005"
    assert counts == {"accounts": 2, "lead_pools": 2, "leads": 3, "dedup_jobs": 1, "dedup_moves": 1}
    assert "fk_leads_account_id_lead_pools" not in fks
