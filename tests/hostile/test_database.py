"""The database's own disk filling up (a real tmpfs under a SQLite database): the user is
told the disk is full (507), not that the database is busy; nothing half-written stays;
the app keeps serving, and once space is freed the same request works."""

from __future__ import annotations

import errno
import sqlite3

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from leadapp import create_app
from leadapp.errors import MESSAGES
from leadapp.extensions import db
from leadapp.models import SavedView
from leadapp.services.accounts import create_account
from tests.conftest import PASSWORD, csrf_from, login


def fill(disk) -> None:
    """Write a filler file until the file system refuses another byte."""
    with (disk.path / "filler").open("wb", buffering=0) as filler:
        for size in (64 * 1024, 4096, 512, 1):
            try:
                while True:
                    filler.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc


def test_a_full_disk_under_the_sqlite_database_is_a_507_sentence(app_environ, small_disk):
    if not app_environ["DATABASE_URL"].startswith("sqlite:///"):
        pytest.skip("a SQLite file on a small disk; PostgreSQL's disk is not the test's")
    small_disk.grow("8m")  # room for the schema first
    path = small_disk.path / "leadapp.db"
    app = create_app("testing", environ={**app_environ, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        create_account("Acme", "acme", "admin@acme.test", PASSWORD)
        db.session.commit()
        db.engine.dispose()
    # The write-ahead log emptied into the database file: the next write needs new space.
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    client = app.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    token = csrf_from(client, "/pools")
    fill(small_disk)

    def save_view(**headers):
        return client.post(
            "/pools/views", data={"name": "Mine", "csrf_token": token}, headers=headers
        )

    full = save_view(**{"HX-Request": "true"})
    assert full.status_code == 507
    assert full.text == MESSAGES[507]  # one sentence: the disk, and what to do
    assert "busy" not in full.text
    page = save_view()
    assert page.status_code == 507 and MESSAGES[507] in page.text
    assert client.get("/pools").status_code == 200  # reading still works
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SavedView.id))) == 0

    small_disk.grow("16m")  # the administrator frees space
    saved = save_view()
    assert saved.status_code == 302, saved.text
    with app.app_context():
        assert db.session.scalar(sa.select(SavedView.name)) == "Mine"
        db.engine.dispose()
