"""An import's review predicts exactly what the engine then does with rows that match
existing leads (0, 1, 3 or 4 matches; every action; every rule for several matches), and
duplicates.csv says it per row."""

import csv
import io
import json

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Import, Lead
from leadapp.security import account_scope
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import report as import_report

ACTIONS = import_duplicates.ACTIONS
SHARED = "+14155550100"  # the number the existing leads share
FIGURES = ("imported", "updated", "moved", "deactivated", "removed", "discarded", "notified")


@pytest.fixture
def acme(app, runner, make_account):
    account_id = make_account("acme")
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", "Spring", "--region", "US"]
    )
    assert result.exit_code == 0, result.output
    return account_id


def _import(runner, tmp_path, name, rows, *options) -> dict:
    path = tmp_path / f"{name}.csv"
    path.write_text("First Name,Phone\n" + "".join(f"{n},{p}\n" for n, p in rows))
    result = runner.invoke(
        args=[
            "leads", "import", str(path), "--account", "acme", "--campaign", "Spring",
            "--pool", name, "--json", *options,
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def _existing(runner, tmp_path, matches: int) -> None:
    """``matches`` leads with the shared number (and one lead nobody matches)."""
    rows = [(f"Old{i}", SHARED) for i in range(matches)] + [("Other", "+14155550199")]
    _import(runner, tmp_path, "existing", rows, "--scope", "none")


def _predicted_and_done(app, acme, result) -> tuple[dict, dict]:
    with app.app_context(), account_scope(acme):
        imp = db.session.scalar(sa.select(Import).order_by(Import.id.desc()))
        predicted = {k: imp.counts["predicted"][k] for k in FIGURES}
    return predicted, {k: result[k] for k in FIGURES}


CASES = [(n, action, "update-all") for n in (0, 1, 3, 4) for action in ACTIONS] + [
    (n, action, multiple)
    for n in (1, 3)
    for action in ("update-existing", "move-existing", "deactivate-existing")
    for multiple in ("update-newest", "create-new")
]


@pytest.mark.parametrize(("matches", "action", "multiple"), CASES)
def test_the_review_predicts_what_the_import_does(
    app, runner, acme, tmp_path, matches, action, multiple
):
    _existing(runner, tmp_path, matches)
    rows = [("New", SHARED), ("Fresh", "+14155550111"), ("Again", "+14155550111")]
    result = _import(runner, tmp_path, "new", rows, "--action", action, "--multiple", multiple)
    predicted, done = _predicted_and_done(app, acme, result)
    assert predicted == done
    assert result["duplicates_existing"] == (1 if matches else 0)
    with app.app_context(), account_scope(acme):
        statuses = list(
            db.session.scalars(sa.select(Lead.status).where(Lead.first_name.like("Old%")))
        )
        new = db.session.scalar(sa.select(sa.func.count()).where(Lead.first_name == "New"))
    if matches > 3:  # only reported: a new lead (unless discarded), the old ones untouched
        assert statuses == ["open"] * matches
        assert new == (0 if action == "discard-new" else 1)
        assert done["updated"] == done["moved"] == done["deactivated"] == done["removed"] == 0
        assert done["notified"] == (0 if action == "discard-new" else 1)


def test_move_is_counted_as_moved_and_status_changes_as_what_they_are(app, runner, acme, tmp_path):
    _existing(runner, tmp_path, 2)
    moved = _import(runner, tmp_path, "moved", [("New", SHARED)], "--action", "move-existing")
    assert (moved["moved"], moved["updated"], moved["imported"]) == (2, 0, 0)
    gone = _import(runner, tmp_path, "gone", [("Newer", SHARED)], "--action", "deactivate-existing")
    assert (gone["deactivated"], gone["imported"], gone["updated"]) == (2, 1, 0)
    told = _import(runner, tmp_path, "told", [("Newest", SHARED)], "--action", "notify")
    assert (told["notified"], told["imported"]) == (1, 1)


def test_duplicates_csv_says_what_was_done_with_a_row_matching_four(app, runner, acme, tmp_path):
    _existing(runner, tmp_path, 4)
    rows = [("New", SHARED)]
    _import(runner, tmp_path, "new", rows, "--action", "update-existing")
    with app.app_context(), account_scope(acme):
        imp = db.session.scalar(sa.select(Import).order_by(Import.id.desc()))
        data = import_report.build(imp, "duplicates").getvalue().decode("utf-8-sig")
    (row,) = list(csv.DictReader(io.StringIO(data)))
    assert row["what_was_done"].startswith("imported as a new lead; it matches more than 3")
    assert "update" not in row["what_was_done"]
