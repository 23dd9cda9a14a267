"""The reviewed migration goes up and down on SQLite, and on PostgreSQL when configured."""

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT, postgres_url, reset_postgres_schema

EXPECTED = {
    "accounts",
    "users",
    "projects",
    "campaigns",
    "lead_pools",
    "pool_assignments",
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
}


def flask_db(database_url: str, instance, *args) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "LEADAPP_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "LEADAPP_INSTANCE": str(instance),
            "SECRET_KEY": "x",
            "PYTHONPATH": str(ROOT),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def tables(url: str) -> set[str]:
    from config import _database_url

    engine = sa.create_engine(_database_url(url))
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def up_and_down(url: str, instance) -> None:
    flask_db(url, instance, "upgrade")
    assert tables(url) == EXPECTED
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("leads")}
    engine.dispose()
    assert {"ix_leads_account_phone1", "ix_leads_account_email", "ix_leads_pool_status"} <= indexes
    flask_db(url, instance, "downgrade", "base")
    assert tables(url) == set()
    flask_db(url, instance, "upgrade")  # and up again: downgrade left nothing behind
    assert tables(url) == EXPECTED


def test_migrations_up_and_down_on_sqlite(tmp_path):
    up_and_down(f"sqlite:///{tmp_path / 'migr.db'}", tmp_path)


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
