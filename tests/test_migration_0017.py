"""Migration 0017: what was saved before with several match keys matched on all of them,
and keeps doing so (dedup jobs, imports' and campaigns' duplicate rules); new jobs default
to "any of"."""

import json

import pytest
import sqlalchemy as sa

from tests.test_migrations import _seed_at_0005, empty_database, flask_db  # noqa: F401


def _engine(url: str):
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


@pytest.mark.database
def test_saved_rules_with_several_keys_keep_matching_on_all_of_them(empty_database, tmp_path):  # noqa: F811
    flask_db(empty_database, tmp_path, "upgrade", "0005")
    _seed_at_0005(empty_database)
    flask_db(empty_database, tmp_path, "upgrade", "0016")
    engine = _engine(empty_database)
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run("INSERT INTO dedup_jobs (id, account_id, name, description, scope, targets, "
            "match_keys, keep_rule, retain_inbound, emails, status, created_at, updated_at) "
            "VALUES (2, 1, 'Both', '', 'account', '[]', '[\"phone1\", \"email\"]', "
            "'latest-created', FALSE, '[]', 'draft', '2026-01-01', '2026-01-01')")  # fmt: skip
        run("INSERT INTO projects (id, account_id, name, created_at, updated_at) "
            "VALUES (1, 1, 'P', '2026-01-01', '2026-01-01')")  # fmt: skip
        run("INSERT INTO campaigns (id, account_id, project_id, name, api_code, purpose, "
            "timezone, default_region, window_start, window_end, active, weighting, "
            "api_duplicate_options, created_at, updated_at) VALUES "
            "(1, 1, 1, 'Two', 'two', 'sales', 'UTC', 'US', '08:00:00', '21:00:00', TRUE, TRUE, "
            "'{\"match\": [\"phone1\", \"email\"], \"action\": \"discard-new\"}', "
            "'2026-01-01', '2026-01-01'), "
            "(2, 1, 1, 'One', 'one', 'sales', 'UTC', 'US', '08:00:00', '21:00:00', TRUE, TRUE, "
            "'{\"match\": [\"email\"]}', '2026-01-01', '2026-01-01')")  # fmt: skip
    engine.dispose()
    flask_db(empty_database, tmp_path, "upgrade", "0017")
    engine = _engine(empty_database)
    with engine.begin() as conn:
        modes = dict(conn.exec_driver_sql("SELECT id, match_mode FROM dedup_jobs").all())
        rules = {
            i: v if isinstance(v, dict) else json.loads(v)
            for i, v in conn.exec_driver_sql("SELECT id, api_duplicate_options FROM campaigns")
        }
        conn.exec_driver_sql(
            "INSERT INTO dedup_jobs (id, account_id, name, description, scope, targets, "
            "match_keys, keep_rule, retain_inbound, emails, status, created_at, updated_at) "
            "VALUES (3, 1, 'New', '', 'account', '[]', '[\"phone1\"]', 'latest-created', "
            "FALSE, '[]', 'draft', '2026-01-01', '2026-01-01')"
        )
        new = conn.exec_driver_sql("SELECT match_mode FROM dedup_jobs WHERE id = 3").scalar()
    engine.dispose()
    assert modes == {1: "all", 2: "all"}
    assert rules[1] == {"match": ["phone1", "email"], "action": "discard-new", "match_mode": "all"}
    assert rules[2] == {"match": ["email"]}  # one key: the same either way
    assert new == "any"
    flask_db(empty_database, tmp_path, "downgrade", "0016")
