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


def test_a_full_database_disk_during_flask_leads_import_is_one_sentence(
    app_environ, small_disk, tmp_path
):
    """`flask leads import`: the disk under the database full ends in one sentence on
    standard error, exit status 1, no traceback and no lead written."""
    if not app_environ["DATABASE_URL"].startswith("sqlite:///"):
        pytest.skip("a SQLite file on a small disk; PostgreSQL's disk is not the test's")
    from leadapp.commands import DATABASE_FULL
    from leadapp.models import Lead
    from leadapp.services import accounts as account_service

    small_disk.grow("8m")
    path = small_disk.path / "leadapp.db"
    app = create_app("testing", environ={**app_environ, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        account = create_account("Acme", "acme", "admin@acme.test", PASSWORD)
        account_service.create_campaign(account, "Spring")
        db.session.commit()
        db.engine.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    leads = tmp_path / "spring.csv"  # on the ordinary disk: only the database's is full
    leads.write_text(
        "Phone,Notes\n" + "".join(f"415 555 {i:04d},{'n' * 200}\n" for i in range(3000))
    )
    fill(small_disk)
    result = app.test_cli_runner().invoke(
        args=[
            "leads", "import", str(leads), "--account", "acme", "--campaign", "Spring",
            "--pool", "Spring", "--auto-map", "--scope", "none",
        ]
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert DATABASE_FULL in result.output
    assert "Traceback" not in result.output
    small_disk.grow("16m")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0
        db.engine.dispose()
