"""Staging and writing in one go (``pipeline``, what ``run`` does for a file nobody checked):
the first batch is written while the file is still being staged, and everything ends as
when the file is staged, analysed and then written — the leads, the existing leads each
duplicate action changes, the counts and the downloads — also when the run is stopped
mid-file and resumed."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Import, Lead, LeadPool, PoolAssignment, User
from leadapp.security import account_scope
from leadapp.services import accounts as account_service
from leadapp.services.imports import analyse as import_analyse
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import pipeline as import_pipeline
from leadapp.services.imports import read as import_read
from leadapp.services.imports import report as import_report
from leadapp.services.imports import run as import_run
from leadapp.services.imports import stage as import_stage
from leadapp.services.imports import write as import_write

BATCH, CHUNK = 5, 7  # small, so batches and staged chunks cross each other's ends


@pytest.fixture
def small_parts(app, monkeypatch):
    """Staged chunks of CHUNK rows and batches of BATCH rows."""
    monkeypatch.setattr(import_stage, "STAGE_CHUNK", CHUNK)
    monkeypatch.setattr(import_pipeline, "PIPELINE_CHUNK", CHUNK)
    app.config["IMPORT_BATCH_ROWS"] = BATCH
    yield
    app.config["IMPORT_BATCH_ROWS"] = 20_000


def phone(n: int) -> str:
    return f"415 555 {100 + n:04d}"


def e164(n: int) -> str:
    return f"+1415555{100 + n:04d}"


def messy_file(path: Path) -> Path:
    """60 rows: every 9th repeats a row two chunks back (in-file duplicates across chunk
    and batch ends), every 11th has no valid phone, rows 3, 20 and 41 match one existing
    lead, row 30 two of them and row 50 four (more than act on)."""
    lines = ["Phone,First name,Email"]
    for i in range(60):
        if i % 11 == 10:
            lines.append(f"12,Bad{i},bad{i}@x.test")
        elif i % 9 == 8 and i > 15:
            lines.append(f"{phone(i - 15)},Again{i},again{i}@x.test")
        else:
            lines.append(f"{phone(i)},Row{i},row{i}@x.test")
    path.write_text("\n".join(lines) + "\n")
    return path


EXISTING = {3: 1, 20: 1, 41: 1, 30: 2, 50: 4}  # row -> existing leads with its phone


def world(slug: str, path: Path, **dup) -> int:
    """Account ``slug`` with the campaign Spring, an old pool in it holding the existing
    leads, and an import of ``path`` mapped and ready to run; its id."""
    account = account_service.create_account(
        slug.title(), slug, f"admin@{slug}.test", "correct horse battery", region="US"
    )
    db.session.commit()
    with account_scope(account.id):
        campaign = account_service.create_campaign(account, "Spring")
        old = LeadPool(name="Old")
        db.session.add(old)
        db.session.flush()
        db.session.add(PoolAssignment(pool_id=old.id, campaign_id=campaign.id))
        for row, count in EXISTING.items():
            for n in range(count):
                db.session.add(
                    Lead(pool_id=old.id, phone1=e164(row), first_name=f"Old{row}.{n}", dial_order=n)
                )
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        imp = import_read.create_import(account, admin, campaign, pool_name="New")
        info = import_read.attach_file(imp, path, path.name)
        import_mapping.set_mapping(
            imp,
            import_mapping.suggest(imp, info),
            info.headers,
            [],
            import_duplicates.DuplicateSettings(**({"scope": "campaign"} | dup)),
        )
        db.session.commit()
        return imp.id


def staged_then_written(import_id: int) -> dict:
    """The wizard's way: the whole file staged, analysed, then written."""
    imp = db.session.get(Import, import_id)
    import_stage.stage(imp)
    db.session.commit()
    import_analyse.analyse(imp)
    return import_write.execute(imp)


def outcome(import_id: int) -> dict:
    """Everything an import leaves, with nothing that differs between accounts (ids)."""
    imp = db.session.get(Import, import_id)
    pools = dict(db.session.execute(sa.select(LeadPool.id, LeadPool.name)).all())
    leads = db.session.execute(
        sa.select(
            Lead.first_name,
            Lead.phone1,
            Lead.email,
            Lead.status,
            Lead.pool_id,
            Lead.dial_order,
            Lead.import_id == import_id,
        ).order_by(Lead.pool_id, Lead.dial_order, Lead.first_name)
    )
    counts = {k: v for k, v in (imp.counts or {}).items() if k != "pool_id"}
    duplicates = pd.read_csv(io.BytesIO(import_report.build(imp, "duplicates").getvalue()))
    return {
        "counts": counts,
        "public": {k: v for k, v in import_report.public_counts(imp).items() if k != "pool_id"},
        "leads": [(*r[:4], pools[r[4]], *r[5:]) for r in leads],
        "invalid": import_report.build(imp, "invalid").getvalue(),
        "duplicates": duplicates.drop(columns=["matched_lead_id"]).to_csv(index=False),
        "status": (imp.status, imp.step, imp.rows_done > 0),
    }


def test_the_first_batch_is_written_before_the_file_is_staged(committed, small_parts, tmp_path):
    """The pipeline: batch 1 is committed (its checkpoint seen by another connection) while
    staging is still in the file — the staged file is complete only after the last chunk."""
    app = committed
    path = tmp_path / "long.csv"
    path.write_text("Phone\n" + "".join(f"{phone(i)}\n" for i in range(200)))
    with app.app_context():
        import_id = world("acme", path)
        with account_scope(db.session.get(Import, import_id).account_id):
            imp = db.session.get(Import, import_id)
            staged_file = Path(imp.staging_path) / "staged.parquet"
            seen = []

            def first_batch(percent, message):
                if message.startswith("Imported") and not seen:
                    with db.engine.connect() as other:
                        done = other.scalar(
                            sa.select(Import.rows_done).where(Import.id == import_id)
                        )
                    seen.append((done, staged_file.exists()))

            counts = import_run.run(imp, first_batch)
            assert seen == [(BATCH, False)]  # written while staging was mid-file
            assert staged_file.exists()  # and the staged file complete at the end
            assert counts["imported"] == 200 - len(EXISTING)


ACTIONS = import_duplicates.ACTIONS


@pytest.mark.parametrize("action", ACTIONS)
def test_the_pipeline_ends_as_staging_then_writing_for_each_duplicate_action(
    committed, small_parts, tmp_path, action
):
    app = committed
    path = messy_file(tmp_path / "messy.csv")
    with app.app_context():
        wizard = world("wizard", path, action=action)
        piped = world("piped", path, action=action)
        with account_scope(db.session.get(Import, wizard).account_id):
            staged_then_written(wizard)
            expected = outcome(wizard)
        with account_scope(db.session.get(Import, piped).account_id):
            import_run.run(db.session.get(Import, piped))
            got = outcome(piped)
    assert got == expected
    c = expected["counts"]
    assert (c["rows"], c["invalid"], c["duplicates_in_file"]) == (60, 5, 5)
    assert c["duplicates_existing"] == 5
    assert expected["status"] == ("completed", "done", True)


@pytest.mark.parametrize(
    "dup",
    [
        {"scope": "none"},
        {"match": ["phone1", "email"], "match_mode": "any", "action": "update-existing"},
        {"match": ["phone1", "email"], "match_mode": "all", "multiple": "update-newest"},
    ],
    ids=["no-search", "any-of-phone-email", "all-of-phone-email"],
)
def test_the_pipeline_ends_as_staging_then_writing_for_other_settings(
    committed, small_parts, tmp_path, dup
):
    app = committed
    path = messy_file(tmp_path / "messy.csv")
    with path.open("a") as more:  # rows repeating an earlier row's email only
        more.write("".join(f"{phone(100 + i)},Mail{i},row{i * 4}@x.test\n" for i in range(8)))
    with app.app_context():
        wizard = world("wizard", path, **dup)
        piped = world("piped", path, **dup)
        with account_scope(db.session.get(Import, wizard).account_id):
            staged_then_written(wizard)
            expected = outcome(wizard)
        with account_scope(db.session.get(Import, piped).account_id):
            import_run.run(db.session.get(Import, piped))
            got = outcome(piped)
    assert got == expected


class Killed(BaseException):
    """The run stops here, as a killed worker would (nothing after it is committed)."""


@pytest.mark.parametrize("staged_since", [False, True], ids=["mid-file", "file-staged"])
def test_a_run_stopped_after_a_batch_resumes_to_the_same_end(
    committed, small_parts, tmp_path, staged_since
):
    """Stopped after batch 2, with staging mid-file (or, ``staged_since``, the staged file
    complete, as when the stop comes after the last chunk): run again, it stages the file
    again, skips the rows done and ends exactly as an uninterrupted run, no lead written
    twice and the existing leads the first batches deactivated counted once."""
    app = committed
    path = messy_file(tmp_path / "messy.csv")
    with app.app_context():
        whole = world("whole", path, action="deactivate-existing")
        stopped = world("stopped", path, action="deactivate-existing")
        with account_scope(db.session.get(Import, whole).account_id):
            import_run.run(db.session.get(Import, whole))
            expected = outcome(whole)
        with account_scope(db.session.get(Import, stopped).account_id):
            batches = []

            def kill_after_two(percent, message):
                if message.startswith("Imported"):
                    batches.append(percent)
                    if len(batches) == 2:
                        raise Killed

            with pytest.raises(Killed):
                import_run.run(db.session.get(Import, stopped), kill_after_two)
            db.session.rollback()
            imp = db.session.get(Import, stopped)
            assert imp.status == "running" and imp.rows_done == 2 * BATCH
            written = db.session.scalar(
                sa.select(sa.func.count(Lead.id)).where(Lead.import_id == stopped)
            )
            assert written == imp.counts["imported"] == 2 * BATCH
            assert imp.counts["deactivated"] == 1  # row 3's existing lead
            staged_file = Path(imp.staging_path) / "staged.parquet"
            assert not staged_file.exists()  # stopped while staging was mid-file
            if staged_since:
                import_stage.stage(imp)
                db.session.commit()
            import_run.run(imp)
            got = outcome(stopped)
    assert got == expected
    # Rows 3, 20, 41 and 30's two leads; row 50's four are too many to act on.
    assert expected["counts"]["deactivated"] == 1 + 1 + 1 + 2
