"""The write stage: each batch with its checkpoint (a batch another process wrote first is
rolled back), what the wizard's settings give the new pool, dial order, and the reads done
before SQLite's write lock is taken."""

from __future__ import annotations

import pytest

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import errors as import_errors
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import read as import_read
from leadapp.services.imports import run as import_run
from leadapp.services.imports import write as import_write
from tests.services.imports.staging_helpers import add


def test_a_batch_another_process_wrote_first_is_rolled_back_and_this_run_stops(
    committed, make_account, tmp_path
):
    """Two processes writing one import (two resumes, a job delivered twice): the
    checkpoint moves by compare-and-set, so the slower one's batch is rolled back whole and
    it stops, leaving the import to the other — no lead is written twice."""
    import sqlalchemy as sa

    from leadapp.models import Import

    app = committed  # another connection must see this run's commits
    account_id = make_account("acme")
    path = tmp_path / "spring.csv"
    path.write_text("Phone\n" + "".join(f"415 555 {i:04d}\n" for i in range(100, 130)))
    with app.app_context(), account_scope(account_id):
        app.config["IMPORT_BATCH_ROWS"] = 10
        try:
            imp = _spring_import(app, account_id, path)
            import_id = imp.id

            fired = []

            def other_process_writes_the_next_batch(percent, message):
                # After our first batch (its progress): the other process takes the second.
                if message.startswith("Imported") and not fired:
                    fired.append(percent)
                    with db.engine.begin() as other:
                        other.execute(
                            sa.update(Import).where(Import.id == import_id).values(rows_done=20)
                        )

            with pytest.raises(import_errors.ImportTakenOver, match="Another process"):
                import_run.run(imp, other_process_writes_the_next_batch)
            written = db.session.scalar(
                sa.select(sa.func.count(Lead.id)).where(Lead.import_id == import_id)
            )
            assert written == 10  # our first batch only: the second was rolled back
            assert db.session.get(Import, import_id).rows_done == 20  # the other's checkpoint
        finally:
            app.config["IMPORT_BATCH_ROWS"] = 20_000


# ---------------------------------------------------------------------------------------
# What the wizard's settings give the new pool (issue 17, items 13 and 14)


def _file_of(count: int) -> bytes:
    """``count`` leads whose numbers run backwards, so no order but the file's is theirs."""
    lines = ["First Name,Last Name,Phone,Email"]
    lines += [f"Ann{i},Lee{i},+1 415 234 {9999 - i:04d},ann{i}@example.com" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def _new_with_advanced_settings(wizard, **advanced) -> int:
    import re

    from tests.conftest import csrf_from

    token = csrf_from(wizard.client, "/imports/new")
    response = wizard.client.post(
        "/imports/new",
        data={
            "csrf_token": token,
            "campaign": wizard.campaign_id,
            "owner": wizard.user_id,
            "target": "new",
            "pool_name": "Spread list",
            "existing_pool": 0,
            "priority": 7,
            **advanced,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/imports/(\d+)/file", response.headers["Location"]).group(1))


@pytest.fixture
def wizard(app, admin_client, monkeypatch):
    from tests.hostile.conftest import Wizard

    return Wizard(app, admin_client, monkeypatch)


def _import(wizard, import_id, data: bytes, **dup):
    assert wizard.upload(import_id, data).status_code == 302
    assert wizard.mapping(import_id).status_code == 302
    wizard.duplicates(import_id, **dup)
    assert wizard.start(import_id).status_code == 302
    assert not wizard.errors, wizard.errors
    return wizard.imp(import_id)


def test_the_wizards_day_offset_day_count_and_time_range_reach_the_pool(app, wizard):
    import datetime as dt

    import_id = _new_with_advanced_settings(
        wizard,
        active_from="2026-12-10",
        active_until="2026-12-31",
        day_offset=3,
        day_count=4,
        time_from="09:00",
        time_until="17:30",
    )
    imp = _import(wizard, import_id, _file_of(12), scope="none")
    with app.app_context(), account_scope(wizard.account_id):
        pool = db.session.get(LeadPool, imp.pool_id)
        assert (pool.day_offset, pool.day_count) == (3, 4)
        assert (pool.time_from, pool.time_until) == (dt.time(9, 0), dt.time(17, 30))
        assert (pool.active_from, pool.active_until) == (
            dt.date(2026, 12, 10),
            dt.date(2026, 12, 31),
        )
        assert pool.priority == 7


def test_a_new_pool_dials_in_file_order_and_a_second_file_after_the_first(app, wizard):
    import sqlalchemy as sa

    imp = _import(wizard, _new_with_advanced_settings(wizard), _file_of(30), scope="none")
    second = wizard.new()
    with app.app_context(), account_scope(wizard.account_id):
        # The second file goes into the same pool.
        target = db.session.get(type(imp), second)
        target.pool_id = imp.pool_id
        target.settings = {**target.settings, "existing_pool": True, "pool_name": "Spread list"}
        db.session.commit()
    more = "\n".join(
        ["First Name,Last Name,Phone,Email"]
        + [f"Bob{i},Ray{i},+1 415 235 {9999 - i:04d},bob{i}@example.com" for i in range(5)]
    )
    _import(wizard, second, (more + "\n").encode(), scope="none")
    with app.app_context(), account_scope(wizard.account_id):
        names = db.session.scalars(
            sa.select(Lead.first_name).where(Lead.pool_id == imp.pool_id).order_by(Lead.dial_order)
        ).all()
        orders = db.session.scalars(
            sa.select(Lead.dial_order).where(Lead.pool_id == imp.pool_id).order_by(Lead.dial_order)
        ).all()
        assert names == [f"Ann{i}" for i in range(30)] + [f"Bob{i}" for i in range(5)]
        assert orders == list(range(35))
        assert db.session.get(LeadPool, imp.pool_id).dial_order_next == 35


def test_an_import_reads_its_rows_and_searches_duplicates_without_the_write_lock(
    committed, app_environ, make_account, tmp_path, monkeypatch
):
    """SQLite has one writer at a time: an import that took the write lock before reading
    its staged rows, searching the existing leads or recounting the pools at its end
    (seconds for 300,000 rows) kept every other save waiting that long (bench/day.py: 8 s
    and 16 s). The first batch still finds the duplicate and writes the rest."""
    import sqlalchemy as sa

    from leadapp.models import Account, PoolAssignment, User
    from leadapp.services import accounts as account_service
    from tests.test_write_lock import lock_is_free, sqlite_path

    app = committed
    database = sqlite_path(app_environ)
    account_id = make_account("acme")
    path = tmp_path / "spring.csv"
    path.write_text("Phone\n" + "".join(f"415 555 {i:04d}\n" for i in range(100, 130)))
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        campaign = account_service.create_campaign(account, "Spring")
        old = LeadPool(name="Old")
        db.session.add(old)
        db.session.flush()
        db.session.add(PoolAssignment(pool_id=old.id, campaign_id=campaign.id))
        add(old, phone1="+14155550105")  # line 6 of the file: a duplicate, discarded
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        imp = import_read.create_import(account, admin, campaign, pool_name="Spring")
        info = import_read.attach_file(imp, path, path.name)
        import_mapping.set_mapping(imp, import_mapping.suggest(imp, info), info.headers, [])
        db.session.commit()
        import_id = imp.id

        free_while = {
            "reading the staged rows": [],
            "searching duplicates": [],
            "recounting the pools": [],
        }

        def observed(what, real):
            def run(*args, **kwargs):
                free_while[what].append(lock_is_free(database))
                return real(*args, **kwargs)

            return run

        monkeypatch.setattr(
            import_write,
            "staged",
            observed("reading the staged rows", import_write.staged),
        )
        monkeypatch.setattr(
            import_write,
            "_matches_per_batch",
            observed("searching duplicates", import_write._matches_per_batch),
        )
        monkeypatch.setattr(
            import_write.pool_service,
            "refresh_counts",
            observed("recounting the pools", import_write.pool_service.refresh_counts),
        )
        counts = import_run.run(imp)
        assert counts["imported"] == 29 and counts["discarded"] == 1
        assert free_while["searching duplicates"] == [True]
        assert free_while["recounting the pools"] == [True]
        assert free_while["reading the staged rows"]
        assert all(free_while["reading the staged rows"]), free_while
        imported = db.session.scalar(
            sa.select(sa.func.count(Lead.id)).where(Lead.import_id == import_id)
        )
        assert imported == 29


# ---------------------------------------------------------------------------------------
# The pipeline: the next batches are built in a thread while the database writes (issue 19)


def _spring_import(app, account_id, path, **dup):
    """An import of ``path`` mapped and ready to run, in batches of 10 rows."""
    import sqlalchemy as sa

    from leadapp.models import Account, User
    from leadapp.services import accounts as account_service

    account = db.session.get(Account, account_id)
    campaign = account_service.create_campaign(account, "Spring")
    admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
    imp = import_read.create_import(account, admin, campaign, pool_name="Spring")
    info = import_read.attach_file(imp, path, path.name)
    import_mapping.set_mapping(
        imp,
        import_mapping.suggest(imp, info),
        info.headers,
        [],
        import_duplicates.DuplicateSettings(**(dup or {"scope": "none"})),
    )
    db.session.commit()
    return imp


def _leads_of(import_id) -> list[tuple[str, int]]:
    import sqlalchemy as sa

    return [
        tuple(r)
        for r in db.session.execute(
            sa.select(Lead.phone1, Lead.dial_order)
            .where(Lead.import_id == import_id)
            .order_by(Lead.dial_order)
        )
    ]


def test_an_error_building_a_batch_fails_the_import_after_the_batches_before_it(
    committed, make_account, tmp_path, monkeypatch
):
    """The builder thread's error is the import's: raised where its batch would have been
    written, with the batches before it committed with their checkpoint and nothing of
    its own. Resuming writes the rest once: the leads of an uninterrupted run."""
    from leadapp.models import Import
    from leadapp.services.imports import lead_writer

    app = committed
    account_id = make_account("acme")
    path = tmp_path / "spring.csv"
    path.write_text("Phone\n" + "".join(f"415 555 {i:04d}\n" for i in range(100, 130)))
    real = lead_writer.build_frame
    calls = []

    def failing_second_batch(target, rows, now=None):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("the second batch could not be laid out")
        return real(target, rows, now)

    with app.app_context(), account_scope(account_id):
        app.config["IMPORT_BATCH_ROWS"] = 10
        try:
            imp = _spring_import(app, account_id, path)
            import_id = imp.id
            monkeypatch.setattr(lead_writer, "build_frame", failing_second_batch)
            with pytest.raises(RuntimeError, match="second batch could not be laid out"):
                import_run.run(imp)
            db.session.rollback()
            assert len(_leads_of(import_id)) == 10  # the first batch, and nothing after
            assert db.session.get(Import, import_id).rows_done == 10

            monkeypatch.setattr(lead_writer, "build_frame", real)
            counts = import_run.run(db.session.get(Import, import_id))
            assert counts["imported"] == 30
            leads = _leads_of(import_id)
            assert [phone for phone, _ in leads] == [f"+1415555{i:04d}" for i in range(100, 130)]
            assert [order for _, order in leads] == list(range(30))
        finally:
            app.config["IMPORT_BATCH_ROWS"] = 20_000


def test_a_batch_built_for_positions_another_writer_took_is_built_again(
    committed, make_account, tmp_path
):
    """The builder lays out a batch for the dial positions it expects (the pool's next
    ones, batch after batch); a lead added to the pool meanwhile takes one, and the
    batches built ahead are built again for the positions they really get: file order,
    no position twice, every lead once."""
    import sqlalchemy as sa

    app = committed
    account_id = make_account("acme")
    path = tmp_path / "spring.csv"
    path.write_text("Phone\n" + "".join(f"415 555 {i:04d}\n" for i in range(100, 130)))
    with app.app_context(), account_scope(account_id):
        app.config["IMPORT_BATCH_ROWS"] = 10
        try:
            imp = _spring_import(app, account_id, path)
            import_id = imp.id
            taken = []

            def someone_takes_a_position(percent, message):
                if message.startswith("Imported") and not taken:
                    with db.engine.begin() as other:
                        taken.append(
                            other.execute(
                                sa.update(LeadPool)
                                .where(LeadPool.id == imp.pool_id)
                                .values(dial_order_next=LeadPool.dial_order_next + 1)
                                .returning(LeadPool.dial_order_next)
                            ).scalar_one()
                        )

            counts = import_run.run(imp, someone_takes_a_position)
            assert counts["imported"] == 30 and taken == [11]
            leads = _leads_of(import_id)
            assert [phone for phone, _ in leads] == [f"+1415555{i:04d}" for i in range(100, 130)]
            assert [order for _, order in leads] == [*range(10), *range(11, 31)]
        finally:
            app.config["IMPORT_BATCH_ROWS"] = 20_000
