"""Configuration comes from the environment passed in (never os.environ in these tests)."""

import pytest

from config import load_config

BASE = {"SECRET_KEY": "k"}


def test_defaults_use_sqlite_and_the_sink_in_the_instance_folder(tmp_path):
    cfg = load_config(None, str(tmp_path), dict(BASE))
    assert cfg["LEADAPP_ENV"] == "development"
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'leadapp.db'}"
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["timeout"] == 30
    assert cfg["REDIS_URL"] == ""
    assert cfg["REDISLITE_PATH"] == str(tmp_path / "redis.db")
    assert cfg["OUTBOX_DIR"] == str(tmp_path / "outbox")
    assert cfg["MAX_CONTENT_LENGTH"] == 200 * 1024 * 1024
    assert cfg["DISPLAY_TIMEZONE"] == "America/Los_Angeles"
    assert cfg["OUTBOX_PAGE"] is True


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/leads", "postgresql+psycopg://u:p@db:5432/leads"),
        (
            "postgresql://u:p@db/leads?sslmode=require",
            "postgresql+psycopg://u:p@db/leads?sslmode=require",
        ),
        ("postgresql+psycopg://u@db/leads", "postgresql+psycopg://u@db/leads"),
        ("sqlite:////var/lib/leadapp.db", "sqlite:////var/lib/leadapp.db"),
    ],
)
def test_database_url(tmp_path, given, expected):
    cfg = load_config("development", str(tmp_path), {**BASE, "DATABASE_URL": given})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == expected
    if expected.startswith("postgresql"):
        # The SQLite lock timeout is not a psycopg connect argument.
        assert "connect_args" not in cfg["SQLALCHEMY_ENGINE_OPTIONS"]


def test_secret_key_is_generated_once_and_kept(tmp_path):
    instance = tmp_path / "instance"
    first = load_config("development", str(instance), {})["SECRET_KEY"]
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first
    assert len(first) >= 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_config("development", str(instance), {})["SECRET_KEY"] == first
    # Another instance folder gets its own key; an explicit SECRET_KEY wins.
    assert load_config("development", str(tmp_path / "other"), {})["SECRET_KEY"] != first
    assert load_config("development", str(instance), {"SECRET_KEY": "set"})["SECRET_KEY"] == "set"


def test_production_without_secret_key_is_refused(tmp_path):
    with pytest.raises(RuntimeError) as info:
        load_config("production", str(tmp_path), {"DATABASE_URL": "postgresql://db/leads"})
    assert str(info.value) == "Set SECRET_KEY in the environment before starting in production."
    assert not (tmp_path / "secret_key").exists()


def test_production_settings(tmp_path):
    cfg = load_config(None, str(tmp_path), {**BASE, "LEADAPP_ENV": "production"})
    assert cfg["LEADAPP_ENV"] == "production"
    assert cfg["OUTBOX_PAGE"] is False and cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SECRET_KEY"] == "k"


def test_mail_server_unset_means_the_local_sink(tmp_path):
    cfg = load_config("development", str(tmp_path), dict(BASE))
    assert cfg["MAIL_SINK"] is True
    assert (cfg["MAIL_SERVER"], cfg["MAIL_PORT"]) == ("127.0.0.1", 8025)
    assert cfg["MAIL_USE_TLS"] is False and cfg["MAIL_USE_SSL"] is False
    cfg = load_config("development", str(tmp_path), {**BASE, "MAIL_PORT": "2525"})
    assert (cfg["MAIL_SINK"], cfg["MAIL_PORT"]) == (True, 2525)


def test_mail_server_set_means_real_smtp(tmp_path):
    env = {
        **BASE,
        "MAIL_SERVER": "smtp.example.com",
        "MAIL_PORT": "587",
        "MAIL_USE_TLS": "true",
        "MAIL_USERNAME": "leadapp",
        "MAIL_PASSWORD": "pw",
        "MAIL_DEFAULT_SENDER": "Leads <leads@example.com>",
    }
    cfg = load_config("production", str(tmp_path), env)
    assert cfg["MAIL_SINK"] is False
    assert (cfg["MAIL_SERVER"], cfg["MAIL_PORT"]) == ("smtp.example.com", 587)
    assert cfg["MAIL_USE_TLS"] is True and cfg["MAIL_USE_SSL"] is False
    assert (cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"]) == ("leadapp", "pw")
    assert cfg["MAIL_DEFAULT_SENDER"] == "Leads <leads@example.com>"
    assert (
        load_config("production", str(tmp_path), {**BASE, "MAIL_SERVER": "mx"})["MAIL_PORT"] == 25
    )


def test_max_upload_mb_and_other_overrides(tmp_path):
    env = {
        **BASE,
        "MAX_UPLOAD_MB": "5",
        "REDIS_URL": "redis://cache:6379/2",
        "DISPLAY_TIMEZONE": "Europe/Berlin",
        "OUTBOX_DIR": str(tmp_path / "mail"),
    }
    cfg = load_config("development", str(tmp_path), env)
    assert cfg["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    assert cfg["REDIS_URL"] == "redis://cache:6379/2"
    assert cfg["DISPLAY_TIMEZONE"] == "Europe/Berlin"
    assert cfg["OUTBOX_DIR"] == str(tmp_path / "mail")


def test_unknown_environment_name_is_refused(tmp_path):
    with pytest.raises(RuntimeError) as info:
        load_config(None, str(tmp_path), {**BASE, "LEADAPP_ENV": "staging"})
    assert str(info.value) == (
        "LEADAPP_ENV must be one of development, testing, production, not 'staging'."
    )


def test_testing_keeps_csrf_on(tmp_path):
    cfg = load_config("testing", str(tmp_path), dict(BASE))
    assert cfg["TESTING"] is True and cfg["WTF_CSRF_ENABLED"] is True


def test_the_environment_given_is_the_only_one_read(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://from-os-environ/x")
    cfg = load_config("development", str(tmp_path), dict(BASE))
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_sqlite_jobs_write_smaller_batches_unless_told(tmp_path):
    sqlite = load_config("development", str(tmp_path), dict(BASE))
    assert sqlite["IMPORT_BATCH_ROWS"] == sqlite["DEDUP_BATCH_LEADS"] == 5_000
    told = load_config("development", str(tmp_path), {**BASE, "IMPORT_BATCH_ROWS": "800"})
    assert told["IMPORT_BATCH_ROWS"] == 800 and told["DEDUP_BATCH_LEADS"] == 5_000
    pg = load_config("development", str(tmp_path), {**BASE, "DATABASE_URL": "postgresql://db/x"})
    assert pg["IMPORT_BATCH_ROWS"] == pg["DEDUP_BATCH_LEADS"] == 20_000


def test_the_dedup_scope_limit_is_read_from_the_environment(tmp_path):
    assert load_config("development", str(tmp_path), dict(BASE))["DEDUP_SCOPE_LIMIT"] is None
    told = load_config("development", str(tmp_path), {**BASE, "DEDUP_SCOPE_LIMIT": "5000000"})
    assert told["DEDUP_SCOPE_LIMIT"] == 5_000_000
