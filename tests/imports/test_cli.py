"""`flask leads import` reproduces the known truth of sample files through the engine."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Import, Lead, LeadPool
from tests.conftest import SHARED
from tests.imports import files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "domain"
REGION = {"us": "US", "au": "AU", "uk": "GB"}


def sample_files():
    files = [(p, "repo") for p in sorted(FIXTURES.glob("leads_*.csv")) if "_mix_" not in p.name]
    shared = SHARED / "samples"
    files += [(p, "shared") for p in sorted(shared.glob("leads_*.csv"))] if shared.is_dir() else []
    return files


def run_json(runner, *args):
    result = runner.invoke(args=["leads", "import", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def account(app, runner, make_account):
    make_account("acme")
    return "acme"


ZONE = {"AU": ["--timezone", "Australia/Sydney"]}  # the US and GB ones follow the region


def make_campaign(runner, name, region):
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", name, "--region", region,
              *ZONE.get(region, [])]
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("path,origin", sample_files(), ids=lambda v: getattr(v, "name", v))
def test_import_reproduces_the_truth_and_a_second_import_finds_every_row(
    app, runner, account, path, origin
):
    truth = json.loads(path.with_suffix(".truth.json").read_text())
    make_campaign(runner, "Spring", REGION[path.name.split("_")[1]])
    args = [str(path), "--account", "acme", "--campaign", "Spring"]
    first = run_json(
        runner, *args, "--pool", "first", "--scope", "campaign", "--action", "discard-new"
    )
    assert first["rows"] == truth["rows"]
    assert first["valid"] == truth["rows_with_valid_phone"]
    assert first["invalid"] == truth["invalid_phone_rows"]
    assert first["valid"] + first["invalid"] == first["rows"]
    assert first["duplicates_in_file"] == truth["duplicate_rows"]
    assert first["duplicates_existing"] == 0
    assert first["imported"] == truth["unique_valid_phones"]
    assert first["imported"] == first["valid"] - first["duplicates_in_file"]
    assert first["mapping"]["Phone"] == "phone1"  # auto-mapped without help

    second = run_json(
        runner, *args, "--pool", "second", "--scope", "campaign", "--action", "discard-new"
    )
    assert second["imported"] == 0
    assert second["duplicates_in_file"] + second["duplicates_existing"] == second["valid"]
    assert second["duplicates_existing"] == truth["unique_valid_phones"]

    with app.app_context():
        pools = {p.name: p for p in db.session.scalars(sa.select(LeadPool))}
        count = db.session.scalar(
            sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == pools["first"].id)
        )
        assert count == truth["unique_valid_phones"]
        assert pools["first"].total_count == count  # counters refreshed with the import
        assert pools["first"].source_file_name == path.name
        phones = db.session.scalars(sa.select(Lead.phone1).where(Lead.pool_id == pools["first"].id))
        assert all(p.startswith("+") for p in phones)


def test_scope_none_imports_every_valid_row(app, runner, account):
    path = FIXTURES / "leads_us_1500.csv"
    truth = json.loads(path.with_suffix(".truth.json").read_text())
    make_campaign(runner, "Spring", "US")
    counts = run_json(
        runner,
        str(path),
        "--account",
        "acme",
        "--campaign",
        "Spring",
        "--pool",
        "all",
        "--scope",
        "none",
    )
    assert counts["imported"] == truth["rows_with_valid_phone"]
    assert counts["duplicates_in_file"] == counts["duplicates_existing"] == 0


def test_explicit_map_without_auto_map(app, runner, account):
    path = FIXTURES / "leads_uk_800.csv"
    make_campaign(runner, "UK", "GB")
    counts = run_json(
        runner,
        str(path),
        "--account",
        "acme",
        "--campaign",
        "UK",
        "--pool",
        "uk",
        "--map",
        "Phone=phone1",
        "--map",
        "Email=email",
    )
    assert counts["mapping"] == {"Phone": "phone1", "Email": "email"}
    with app.app_context():
        lead = db.session.scalars(sa.select(Lead).where(Lead.email.is_not(None))).first()
        assert lead.first_name is None and lead.email and lead.phone1.startswith("+44")


@pytest.mark.parametrize(
    "args,sentence",
    [
        (["--campaign", "Nope"], "no campaign named 'Nope'"),
        (["--map", "Nope=phone1"], "does not have"),
        (["--map", "Email=email", "--map", "Phone=-"], "phone field"),
        (["--scope", "galaxy"], "Invalid value"),
        (["--template", "missing"], "no mapping template"),
    ],
)
def test_refusals_are_one_sentence_and_write_nothing(app, runner, account, args, sentence):
    make_campaign(runner, "Spring", "US")
    base = [str(FIXTURES / "leads_us_1500.csv"), "--account", "acme", "--pool", "p"]
    if "--campaign" not in args:
        base += ["--campaign", "Spring"]
    result = runner.invoke(args=["leads", "import", *base, *args])
    assert result.exit_code != 0
    assert sentence in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0
        assert (
            db.session.scalar(sa.select(sa.func.count(LeadPool.id)).where(LeadPool.name == "p"))
            == 0
        )


@pytest.mark.parametrize(
    "content,sentence",
    [
        (b"", "The file is empty"),
        (b"Phone,Email\n", "no leads under it"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG image"),
        (b"PK\x03\x04" + b"\x00" * 64, "xlsx"),
    ],
)
def test_bad_files_are_refused(app, runner, account, tmp_path, content, sentence):
    make_campaign(runner, "Spring", "US")
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    result = runner.invoke(
        args=[
            "leads",
            "import",
            str(path),
            "--account",
            "acme",
            "--campaign",
            "Spring",
            "--pool",
            "p",
        ]
    )
    assert result.exit_code != 0
    assert sentence in result.output
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count(LeadPool.id)).where(LeadPool.name == "p"))
            == 0
        )


def test_other_accounts_campaign_is_not_found(app, runner, make_account):
    make_account("acme")
    make_account("other")
    result = runner.invoke(args=["campaigns", "create", "--account", "other", "--name", "Theirs"])
    assert result.exit_code == 0
    result = runner.invoke(
        args=[
            "leads",
            "import",
            str(FIXTURES / "leads_us_1500.csv"),
            "--account",
            "acme",
            "--campaign",
            "Theirs",
            "--pool",
            "p",
        ]
    )
    assert result.exit_code != 0 and "no campaign named 'Theirs'" in result.output


@pytest.mark.parametrize(
    "action,expect_status,imported",
    [
        ("deactivate-existing", "inactive", True),
        ("remove-existing", "removed", True),
        ("notify", "open", True),
        ("move-existing", "open", False),
        ("update-existing", "open", False),
    ],
)
def test_duplicate_actions_on_existing_leads(
    app, runner, account, tmp_path, action, expect_status, imported
):
    make_campaign(runner, "Spring", "US")
    first = tmp_path / "first.csv"
    first.write_text("Phone,First Name,Email\n(212) 555-0101,Ann,\n(212) 555-0102,Bob,b@x.test\n")
    second = tmp_path / "second.csv"
    second.write_text("Phone,First Name,Email\n+1 212 555 0101,Annie,ann@x.test\n")
    run_json(runner, str(first), "--account", "acme", "--campaign", "Spring", "--pool", "one")
    counts = run_json(
        runner,
        str(second),
        "--account",
        "acme",
        "--campaign",
        "Spring",
        "--pool",
        "two",
        "--action",
        action,
    )
    assert counts["duplicates_existing"] == 1
    assert counts["imported"] == (1 if imported else 0)
    with app.app_context():
        pools = {p.name: p.id for p in db.session.scalars(sa.select(LeadPool))}
        old = db.session.scalar(
            sa.select(Lead).where(
                Lead.phone1 == "+12125550101",
                Lead.import_id.in_(sa.select(Import.id).where(Import.file_name == "first.csv")),
            )
        )
        assert old.status == expect_status
        if action == "move-existing":
            assert old.pool_id == pools["two"]
        if action == "update-existing":
            assert old.first_name == "Annie" and old.email == "ann@x.test"
            assert counts["updated"] == 1


def test_a_file_with_phones_only_imports(app, runner, account, tmp_path):
    """No email column at all: the leads have no email key, nothing crashes."""
    path = tmp_path / "phones.csv"
    path.write_text("Phone\n(212) 555-0101\n212.555.0102\n(212) 555-0101\n")
    make_campaign(runner, "Spring", "US")
    counts = run_json(
        runner, str(path), "--account", "acme", "--campaign", "Spring", "--pool", "phones",
        "--auto-map", "--scope", "campaign", "--action", "discard-new",
    )  # fmt: skip
    assert (counts["valid"], counts["duplicates_in_file"], counts["imported"]) == (3, 1, 2)
    with app.app_context():
        keys = db.session.scalars(sa.select(Lead.email_key).where(Lead.phone1.is_not(None)))
        assert list(keys) == [None, None]


def test_a_second_import_matched_on_customer_key_finds_every_lead(app, runner, account, tmp_path):
    """Customer keys are the source system's ids, matched as given (trimmed): mixed-case
    keys imported once are found again by the next import, as exact ids."""
    make_campaign(runner, "Renewals", "US")
    path = tmp_path / "crm.csv"
    path.write_text(
        "Customer ID,Phone\nABC-1,415 555 0101\n Abc-2 ,415 555 0102\nabc-2,415 555 0103\n"
    )
    common = ["--account", "acme", "--campaign", "Renewals", "--auto-map"]
    common += ["--match", "customer_key", "--scope", "campaign", "--action", "discard-new"]
    first = run_json(runner, str(path), "--pool", "crm 1", *common)
    assert (first["imported"], first["duplicates_in_file"]) == (3, 0)  # Abc-2 ≠ abc-2
    second = run_json(runner, str(path), "--pool", "crm 2", *common)
    assert (second["duplicates_existing"], second["imported"]) == (3, 0)


# --------------------------------------------------------------------------------------------
# No row disappears without a word (issue 13)


def run_file(runner, tmp_path, data: bytes, *options) -> dict:
    path = tmp_path / "leads.csv"
    path.write_bytes(data)
    make_campaign(runner, "Spring", "US")
    args = [str(path), "--account", "acme", "--campaign", "Spring", "--pool", "p", "--scope"]
    return run_json(runner, *args, "none", *options)


def test_a_stray_quote_is_reported_with_its_lines_and_the_file_imported_as_read(
    runner, account, tmp_path
):
    counts = run_file(runner, tmp_path, files.stray_quote_file())
    assert counts["rows"] == 550  # as the file says: lines 52 to 1502 are one row ...
    (warning,) = counts["warnings"]  # ... but not without a word
    assert warning["line"] == 52
    assert "line 1502" in warning["message"] and "1,450" in warning["message"]
    assert counts["header"] is True


def test_a_stray_quote_read_as_plain_text_gives_every_row_back(app, runner, account, tmp_path):
    counts = run_file(runner, tmp_path, files.stray_quote_file(), "--stray-quote", "literal")
    assert counts["rows"] == counts["valid"] == counts["imported"] == 2000
    assert [w["line"] for w in counts["warnings"]] == [52]
    assert "plain text" in counts["warnings"][0]["message"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 2000
        smith = db.session.scalar(sa.select(Lead).where(Lead.phone1 == "+14152341500"))
        assert smith.last_name == "Smith, J"


def test_a_stray_quote_can_stop_the_import(app, runner, account, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(files.stray_quote_file())
    make_campaign(runner, "Spring", "US")
    args = ["leads", "import", str(path), "--account", "acme", "--campaign", "Spring"]
    result = runner.invoke(args=[*args, "--pool", "p", "--stray-quote", "stop", "--json"])
    assert result.exit_code != 0
    assert "Line 52" in result.output and "--stray-quote literal" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Import.id))) == 0


def test_a_file_without_a_header_row_keeps_its_first_lead(app, runner, account, tmp_path):
    counts = run_file(runner, tmp_path, files.headerless_file(20))
    assert counts["header"] is False
    assert counts["rows"] == counts["imported"] == 20
    assert counts["mapping"] == {
        "Column 3": "phone1",
        "Column 4": "email",
        "Column 5": "phone2",
    }
    assert counts["warnings"] == []
    with app.app_context():
        first = db.session.scalar(sa.select(Lead).where(Lead.phone1 == "+14152340000"))
        assert (first.email, first.phone2) == ("ann0@example.com", "+14152345000")


def test_header_and_no_header_override_the_detection(runner, account, tmp_path):
    counts = run_file(
        runner, tmp_path, files.headerless_file(20), "--header", "--map", "+1 415 234 0000=phone1"
    )
    assert counts["header"] is True
    assert counts["rows"] == 19
    path = tmp_path / "named.csv"
    path.write_bytes(b"Phone\n4152340001\n4152340002\n")
    args = [str(path), "--account", "acme", "--campaign", "Spring", "--pool", "q"]
    counts = run_json(runner, *args, "--no-header", "--scope", "none")
    assert counts["header"] is False
    assert counts["rows"] == 3 and counts["valid"] == 2  # "Phone" is a row now, and invalid


def test_mixed_encodings_are_read_as_written_and_the_lines_named(app, runner, account, tmp_path):
    counts = run_file(runner, tmp_path, files.mixed_encoding_file(20))
    assert counts["imported"] == 20
    assert [w["line"] for w in counts["warnings"]] == list(files.MIXED_LINES)
    assert all("Windows-1252" in w["message"] for w in counts["warnings"])
    with app.app_context():
        names = set(db.session.execute(sa.select(Lead.first_name, Lead.last_name)))
        assert names == {("Zoë", "Müller")}
