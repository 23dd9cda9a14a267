"""SQLite as a real default: while another writer holds the lock (an import's batch), a
request, an API call and a command that read before they write wait for it and succeed; and
none of them holds the lock while it reads, checks a password or renders its answer."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from leadapp import write_lock
from leadapp.extensions import db
from leadapp.models import Import, Lead, SavedView, User
from tests.conftest import ROOT, csrf_from, login, process_env

pytestmark = pytest.mark.usefixtures("committed")


def sqlite_path(app_environ) -> str:
    url = app_environ["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's single writer lock; PostgreSQL takes row locks instead")
    return url[len("sqlite:///") :]


def flask(app_environ, *args, **env):
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env={**process_env(app_environ), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def api_token(app, email: str) -> str:
    from leadapp.security import account_scope
    from leadapp.services.api_tokens import create_token

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        with account_scope(user.account_id):
            _token, plaintext = create_token(user, "dialer")
            db.session.commit()
    return plaintext


class Batch(threading.Thread):
    """Another process's write transaction (like an import's batch): takes the lock at
    once, holds it ``seconds``, commits a change."""

    def __init__(self, path: str, seconds: float):
        super().__init__(daemon=True)
        self.path, self.seconds = path, seconds
        self.locked = threading.Event()

    def run(self):
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE accounts SET name = name")
        self.locked.set()
        time.sleep(self.seconds)
        conn.execute("COMMIT")
        conn.close()


def while_a_batch_writes(path: str, act, seconds: float = 1.5):
    """Run ``act`` once another writer holds the lock; the writer commits while ``act``
    waits (so a transaction that read first holds a stale snapshot when it writes)."""
    batch = Batch(path, seconds)
    batch.start()
    assert batch.locked.wait(10)
    try:
        return act()
    finally:
        batch.join(30)


def test_a_saved_view_waits_for_the_writer_instead_of_failing(
    app, app_environ, client, make_account
):
    path = sqlite_path(app_environ)
    make_account("acme")
    assert login(client, "admin@acme.test").status_code == 302
    token = csrf_from(client, "/pools")
    saved = while_a_batch_writes(
        path,
        lambda: client.post(
            "/pools/views",
            data={"name": "Mine", "csrf_token": token},
            headers={"HX-Request": "true"},
        ),
    )
    assert saved.status_code < 400, saved.text
    with app.app_context():
        assert db.session.scalar(
            sa.select(SavedView.name).execution_options(all_accounts=True)
        ) == ("Mine")


def test_an_api_read_that_writes_waits_for_the_lock(app, app_environ, client, make_account):
    path = sqlite_path(app_environ)
    make_account("acme")
    plaintext = api_token(app, "admin@acme.test")
    # Authenticating reads the token, then writes its "last used": that write waits.
    answer = while_a_batch_writes(
        path, lambda: client.get("/api/v1/", headers={"Authorization": f"Bearer {plaintext}"})
    )
    assert answer.status_code == 200, answer.text
    with app.app_context():
        from leadapp.models import ApiToken

        used = db.session.scalar(
            sa.select(ApiToken.last_used_at).execution_options(all_accounts=True)
        )
        assert used is not None


def test_a_command_waits_for_the_writer_instead_of_failing(app, app_environ, make_account):
    path = sqlite_path(app_environ)
    make_account("acme")

    def create():
        cmd = flask(
            app_environ, "campaigns", "create", "--account", "acme", "--name", "Winter", "--json"
        )
        out, err = cmd.communicate(timeout=120)
        return cmd.returncode, out, err

    code, out, err = while_a_batch_writes(path, create, seconds=4.0)
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["name"] == "Winter"


def test_the_api_says_busy_in_a_sentence_when_the_wait_runs_out(app_environ, make_account):
    from leadapp import create_app

    path = sqlite_path(app_environ)
    make_account("acme")
    impatient = create_app("testing", environ={**app_environ, "SQLITE_TIMEOUT_SECONDS": "0.1"})
    plaintext = api_token(impatient, "admin@acme.test")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        busy = impatient.test_client().get(
            "/api/v1/", headers={"Authorization": f"Bearer {plaintext}"}
        )
    finally:
        holder.rollback()
        holder.close()
    assert busy.status_code == 503
    assert busy.json["error"].startswith("The database is busy or unreachable right now.")


def test_writes_from_pages_and_commands_succeed_while_an_import_writes(
    app, app_environ, client, make_account, tmp_path
):
    """The reported day: one account imports while a second user saves and a command
    writes. Every write succeeds, and so does the import (run in its own process, in
    small batches so that it commits often)."""
    from leadapp.domain.leadgen import generate

    make_account("acme")
    make_account("beta")
    setup = flask(app_environ, "campaigns", "create", "--account", "acme", "--name", "Spring")
    assert setup.wait(120) == 0, setup.stderr.read()
    rows = 6_000  # 24 batches: many commits for the writes to slip between
    truth = generate(rows, tmp_path / "leads.csv", seed=7)
    importing = flask(
        app_environ,
        "leads", "import", str(tmp_path / "leads.csv"), "--account", "acme",
        "--campaign", "Spring", "--pool", "Big", "--auto-map", "--json",
        IMPORT_BATCH_ROWS="250",
    )  # fmt: skip
    assert login(client, "admin@beta.test").status_code == 302
    token = csrf_from(client, "/pools")
    plaintext = api_token(app, "admin@beta.test")
    answers, commands = [], []
    deadline = time.monotonic() + 300
    while importing.poll() is None and time.monotonic() < deadline:
        with app.app_context():
            started = db.session.scalar(
                sa.select(sa.func.count(Lead.id)).execution_options(all_accounts=True)
            )
        if not started:
            time.sleep(0.05)
            continue
        n = len(answers)
        answers.append(
            client.post(
                "/pools/views",
                data={"name": f"View {n}", "csrf_token": token},
                headers={"HX-Request": "true"},
            )
        )
        answers.append(client.get("/api/v1/", headers={"Authorization": f"Bearer {plaintext}"}))
        if len(commands) < 3 and n % 4 == 0:  # a command now and then, not waited for
            commands.append(
                flask(app_environ, "campaigns", "create", "--account", "beta", "--name", f"C{n}")
            )
        time.sleep(0.1)  # a user's pace, not a loop that takes a core from the import
    out, err = importing.communicate(timeout=300)
    assert importing.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["valid"] == truth["rows_with_valid_phone"]
    assert len(answers) >= 4, "the writes did not overlap the import"
    assert [a.status_code for a in answers if a.status_code >= 400] == []
    codes = [cmd.wait(120) for cmd in commands]
    assert codes == [0, 0, 0], [cmd.stderr.read() for cmd in commands]
    with app.app_context():
        views = db.session.scalar(
            sa.select(sa.func.count(SavedView.id)).execution_options(all_accounts=True)
        )
        assert views == len(answers) // 2
        status = db.session.scalar(sa.select(Import.status).execution_options(all_accounts=True))
        assert status == "completed"


def test_reading_and_writing_choose_how_a_transaction_begins(app):
    """Requests, jobs and commands alike take the lock at their first write; ``writing()``
    takes it when the transaction begins, ``reading()`` undoes that."""
    with app.test_request_context("/pools/views", method="POST"):
        assert not write_lock.wants_write_lock()
    with app.app_context():
        assert not write_lock.wants_write_lock()
        with write_lock.writing():
            assert write_lock.wants_write_lock()
            with write_lock.reading():
                assert not write_lock.wants_write_lock()


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        ("SELECT 1", False),
        ("\n  select * from leads", False),
        ("PRAGMA foreign_keys", False),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),
        ("WITH x AS (SELECT 1) UPDATE leads SET status = 'x'", True),
        ("INSERT INTO leads DEFAULT VALUES", True),
        ("UPDATE leads SET status = 'x'", True),
        ("DELETE FROM leads", True),
        ("SAVEPOINT sa_savepoint_1", True),
    ],
)
def test_what_counts_as_a_write(statement, writes):
    assert write_lock.is_write(statement) is writes


def lock_is_free(path: str) -> bool:
    """Whether another writer could take SQLite's write lock at this instant."""
    probe = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    else:
        probe.execute("ROLLBACK")
        return True
    finally:
        probe.close()


def test_a_login_does_not_hold_the_write_lock_while_it_checks_the_password(
    app_environ, client, make_account, monkeypatch
):
    """The password hash takes a fifth of a second of CPU (more on a busy server): a login
    that held the lock through it kept every other writer waiting that long."""
    path = sqlite_path(app_environ)
    make_account("acme")
    free_while_checking = []
    check = User.check_password

    def observed(user, password):
        free_while_checking.append(lock_is_free(path))
        return check(user, password)

    monkeypatch.setattr(User, "check_password", observed)
    assert login(client, "admin@acme.test").status_code == 302
    assert free_while_checking == [True]


def test_a_committed_save_is_not_answered_busy_when_another_writer_follows_at_once(
    app_environ, make_account
):
    """Once a saved view is committed the page reads it again to answer; if another writer
    took the lock at that moment and kept it past the wait, the answer said "busy, nothing
    was saved" (503) about a view that was saved. Reading needs no lock."""
    from sqlalchemy.orm import Session

    from leadapp import create_app

    path = sqlite_path(app_environ)
    make_account("acme")
    impatient = create_app("testing", environ={**app_environ, "SQLITE_TIMEOUT_SECONDS": "0.3"})
    client = impatient.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    token = csrf_from(client, "/pools")
    followers: list[Batch] = []

    def another_writer_follows(_session):
        if not followers:
            followers.append(Batch(path, 1.5))
            followers[0].start()
            assert followers[0].locked.wait(10)

    sa.event.listen(Session, "after_commit", another_writer_follows)
    try:
        saved = client.post("/pools/views", data={"name": "Mine", "csrf_token": token})
    finally:
        sa.event.remove(Session, "after_commit", another_writer_follows)
        for follower in followers:
            follower.join(30)
    assert followers, "the save never committed"
    assert saved.status_code == 302, saved.text
    with impatient.app_context():
        names = db.session.scalars(sa.select(SavedView.name).execution_options(all_accounts=True))
        assert list(names) == ["Mine"]


def test_a_command_creating_what_another_writer_is_creating_uses_it_not_fails(
    app, app_environ, make_account
):
    """Two `campaigns create` at once in an account without projects both create its
    Default project: on PostgreSQL the second met the unique name and exited 1 (CI)."""
    from leadapp.models import Account, Project

    account_id = make_account("beta")
    with app.app_context():
        other = db.engine.connect()
        held = other.begin()
        other.execute(sa.insert(Project.__table__).values(account_id=account_id, name="Default"))
        command = flask(app_environ, "campaigns", "create", "--account", "beta", "--name", "C1")
        time.sleep(2)  # the command reaches the insert (PostgreSQL) or the lock (SQLite)
        held.commit()
        other.close()
    assert command.wait(120) == 0, command.stderr.read()
    with app.app_context():
        projects = db.session.scalars(
            sa.select(Project.name).where(Project.account_id == account_id)
        ).all()
        assert projects == ["Default"]
        assert db.session.get(Account, account_id) is not None
