"""Several match keys at import: "any of" (the default, email OR phone) and "all of";
a custom field as a match key. Predicted (the review's counts) == what was written."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from leadapp.domain.validation import REASON_TEXT
from leadapp.extensions import db
from leadapp.models import FieldDefinition, Import, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services.imports import report as import_report
from leadapp.services.imports import stage as import_stage

EXISTING = "Phone,Email,Policy\n(415) 555-0101,ann@x.com,P-1\n(415) 555-0102,bob@x.com,P-2\n"
# Against EXISTING, matching on phone and email:
#   any of: row 1 matches by phone, row 2 by email, row 3 repeats row 1's phone, row 5
#           repeats row 4's phone -> 2 in the file, 2 existing, 1 imported;
#   all of: only row 3 equals an existing lead on both -> 0 in the file, 1 existing, 4.
NEW = (
    "Phone,Email,Policy\n"
    "(415) 555-0101,other@x.com,p-1\n"
    "(415) 555-0199,BOB@x.com,P-9\n"
    "(415) 555-0101,ann@x.com,P-3\n"
    "(415) 555-0150,new@x.com,P-4\n"
    "(415) 555-0150,fresh@x.com,P-5\n"
)


def run_json(runner, *args):
    result = runner.invoke(args=["leads", "import", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def files(app, runner, make_account, tmp_path):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        db.session.add(
            FieldDefinition(
                account_id=account_id, key="policy", label="Policy number", position=100
            )
        )
        db.session.commit()
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", "Spring", "--region", "US"]
    )
    assert result.exit_code == 0, result.output
    (tmp_path / "existing.csv").write_text(EXISTING)
    (tmp_path / "new.csv").write_text(NEW)
    base = ["--account", "acme", "--campaign", "Spring", "--map", "Phone=phone1"]
    base += ["--map", "Email=email", "--map", "Policy=policy"]
    run_json(runner, str(tmp_path / "existing.csv"), *base, "--pool", "existing")
    return str(tmp_path / "new.csv"), base


def pool_size(app, name):
    with app.app_context():
        pool = db.session.scalar(sa.select(LeadPool).where(LeadPool.name == name))
        return db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == pool.id))


@pytest.mark.parametrize(
    "mode,in_file,existing",
    [("any", 2, 2), ("all", 0, 1)],
)
def test_any_of_and_all_of_give_the_counts_predicted_and_write_them(
    app, runner, files, mode, in_file, existing
):
    path, base = files
    out = run_json(
        runner, path, *base, "--pool", f"new-{mode}", "--match", "phone1,email",
        "--match-mode", mode,
    )  # fmt: skip
    assert (out["valid"], out["duplicates_in_file"], out["duplicates_existing"]) == (
        5,
        in_file,
        existing,
    )
    # Discard-new: what the review predicted is what was written.
    assert out["imported"] == out["valid"] - in_file - existing
    assert pool_size(app, f"new-{mode}") == out["imported"]


def test_any_of_is_the_default_and_the_pool_remembers_it(app, runner, files):
    path, base = files
    out = run_json(runner, path, *base, "--pool", "new", "--match", "phone1,email")
    assert (out["duplicates_in_file"], out["duplicates_existing"]) == (2, 2)
    with app.app_context():
        pool = db.session.scalar(sa.select(LeadPool).where(LeadPool.name == "new"))
        assert pool.duplicate_check_field == "phone1|email"


def test_a_custom_field_is_a_match_key_compared_without_case(app, runner, files):
    path, base = files
    # "p-1" equals the existing "P-1"; every other policy is new.
    out = run_json(runner, path, *base, "--pool", "by-policy", "--match", "custom:policy")
    assert (out["duplicates_in_file"], out["duplicates_existing"], out["imported"]) == (0, 1, 4)
    # The field's key alone means the same.
    again = run_json(runner, path, *base, "--pool", "by-policy-2", "--match", "policy")
    assert again["duplicates_existing"] == 5  # now every policy exists (by-policy's too)


def test_a_custom_field_or_the_phone(app, runner, files):
    path, base = files
    out = run_json(
        runner, path, *base, "--pool", "either", "--match", "custom:policy,phone1",
    )  # fmt: skip
    # Row 1 by policy and phone, row 3 repeats row 1's phone, row 5 row 4's phone.
    assert (out["duplicates_in_file"], out["duplicates_existing"], out["imported"]) == (2, 1, 2)
    assert pool_size(app, "either") == 2


def test_an_unknown_custom_match_key_is_refused_in_a_sentence(app, runner, files):
    path, base = files
    result = runner.invoke(
        args=["leads", "import", path, *base, "--pool", "x", "--match", "custom:nope"]
    )
    assert result.exit_code == 1
    assert "There is no lead field nope" in result.output


def test_the_wizard_offers_custom_fields_and_any_or_all_and_the_review_says_which(
    app, admin_client, monkeypatch
):
    from tests.conftest import csrf_from
    from tests.hostile.conftest import Wizard

    wizard = Wizard(app, admin_client, monkeypatch)
    with app.app_context(), account_scope(wizard.account_id):
        db.session.add(
            FieldDefinition(account_id=wizard.account_id, key="policy", label="Policy number")
        )
        db.session.commit()
    import_id = wizard.new()
    assert wizard.upload(import_id, NEW.encode()).status_code == 302
    assert wizard.mapping(import_id, {2: "policy"}).status_code == 302
    page = admin_client.get(f"/imports/{import_id}/duplicates").get_data(as_text=True)
    assert 'value="custom:policy"' in page and 'name="match_mode"' in page
    token = csrf_from(admin_client, f"/imports/{import_id}/duplicates")
    answer = admin_client.post(
        f"/imports/{import_id}/duplicates",
        data={"csrf_token": token, "match": ["phone1", "custom:policy"], "match_mode": "any",
              "scope": "campaign", "action": "discard-new", "update_mode": "overwrite",
              "multiple": "update-all"},
    )  # fmt: skip
    assert answer.status_code == 302
    wizard.run_jobs()
    settings = wizard.imp(import_id).duplicate_settings
    assert (settings["match"], settings["match_mode"]) == (["phone1", "custom:policy"], "any")
    review = admin_client.get(f"/imports/{import_id}/review").get_data(as_text=True)
    assert "a lead is a duplicate when any of: Phone, Policy number" in review
    # Rows 3 and 5 repeat the phone of rows 1 and 4 ("p-1" and "P-3" are new policies).
    assert wizard.imp(import_id).counts["duplicates_in_file"] == 2


# --- a unique custom field --------------------------------------------------------------


def make_unique(app):
    with app.app_context():
        field = db.session.scalar(
            sa.select(FieldDefinition)
            .where(FieldDefinition.key == "policy")
            .execution_options(all_accounts=True)
        )
        field.unique = True
        db.session.commit()


def test_a_unique_custom_field_refuses_a_value_another_lead_holds(app, runner, files):
    path, base = files
    make_unique(app)
    out = run_json(runner, path, *base, "--pool", "unique", "--scope", "none")
    # "p-1" is held by an existing lead (P-1): that row is invalid; the other four are new.
    assert (out["valid"], out["invalid"], out["imported"]) == (4, 1, 4)
    with app.app_context():
        imp = db.session.scalar(
            sa.select(Import).order_by(Import.id.desc()).execution_options(all_accounts=True)
        )
        frame = import_stage.staged(imp)
        bad = frame[~frame["_valid"]]
        assert bad["_reasons"].tolist() == ["policy: already_used"]
    assert "already has this value" in REASON_TEXT["already_used"]


def test_a_unique_field_that_is_the_match_key_is_left_to_the_duplicate_rules(app, runner, files):
    path, base = files
    make_unique(app)
    out = run_json(runner, path, *base, "--pool", "by-key", "--match", "custom:policy")
    assert (out["invalid"], out["duplicates_existing"], out["imported"]) == (0, 1, 4)


def test_duplicates_csv_names_the_earlier_line_and_the_values_matched(app, runner, files):
    import csv
    import io

    path, base = files
    run_json(runner, path, *base, "--pool", "report", "--match", "phone1,email")
    with app.app_context():
        imp = db.session.scalar(
            sa.select(Import).order_by(Import.id.desc()).execution_options(all_accounts=True)
        )
        with account_scope(imp.account_id):
            text = import_report.build(imp, "duplicates").getvalue().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    by_key = {r["match_key"].lstrip("'"): r for r in rows}  # formula-safe: a leading '
    # Row 3 (line 4) repeats line 2's phone; line 6 repeats line 5's.
    assert by_key["+14155550101 or ann@x.com"]["duplicate_of"] == "line 2"
    assert by_key["+14155550150 or fresh@x.com"]["duplicate_of"] == "line 5"
    assert by_key["+14155550199 or bob@x.com"]["matched_lead_id"]  # matched by its email
    assert len(rows) == 4
