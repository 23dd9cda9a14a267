"""The command line of DESIGN.md §7: JSON on the last line, sentences on stderr, exit codes.

Commands commit; inside the test's rolled-back transaction those commits are savepoints."""

import json

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Campaign, FieldDefinition, Lead, LeadPool, PoolBreakdown, User
from leadapp.security import account_scope
from tests.conftest import login

DESIGN_POOL_KEYS = {
    "id",
    "name",
    "status",
    "total",
    "open",
    "ready_to_dial",
    "closed_pct",
    "used_pct",
    "invalid_in_upload",
    "is_system",
}


def _create_account(runner, slug="acme", *extra):
    return runner.invoke(
        args=[
            "accounts",
            "create",
            "--name",
            "Acme Sales",
            "--slug",
            slug,
            "--admin-email",
            f"admin@{slug}.test",
            "--password",
            "long enough password",
            *extra,
        ]
    )


def _invoke_plain(app, runner, args):
    """``demo`` and ``bootstrap`` are plain click commands: ``flask`` (FlaskGroup) pushes the
    app context for them, the test runner does not."""
    with app.app_context():
        return runner.invoke(args=args)


def _last_json(result):
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_accounts_create_prints_json_on_the_last_line(app, runner):
    result = _create_account(runner, "acme", "--region", "gb", "--json")
    assert result.exit_code == 0, result.output
    data = _last_json(result)
    assert data["slug"] == "acme" and isinstance(data["id"], int)
    assert result.stderr == ""
    with app.app_context():
        account = db.session.get(Account, data["id"])
        assert (account.name, account.default_region) == ("Acme Sales", "GB")
        with account_scope(account.id):
            admin = db.session.scalar(sa.select(User))
            assert admin.email == "admin@acme.test" and admin.role == "admin"
            assert admin.check_password("long enough password")
            assert db.session.scalar(sa.select(sa.func.count(FieldDefinition.id))) > 0
            assert db.session.scalar(sa.select(LeadPool.name)) == "Inactive"


def test_accounts_create_without_json_prints_a_sentence(runner):
    result = _create_account(runner, "acme")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Account acme created; admin@acme.test can log in as admin."


def test_duplicate_slug_fails_with_a_sentence_on_stderr(app, runner):
    assert _create_account(runner, "acme").exit_code == 0
    result = runner.invoke(
        args=[
            "accounts",
            "create",
            "--name",
            "Again",
            "--slug",
            "acme",
            "--admin-email",
            "other@acme.test",
            "--password",
            "long enough password",
            "--json",
        ]
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: An account with the slug 'acme' already exists."
    assert result.stdout == ""
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Account.id))) == 1


@pytest.mark.parametrize(
    ("extra", "sentence"),
    [
        (["--region", "ZZ"], "'ZZ' is not a phone region"),
        (["--timezone", "Moon/Base"], "'Moon/Base' is not a time zone name"),
    ],
)
def test_accounts_create_bad_settings_fail_and_create_nothing(app, runner, extra, sentence):
    result = _create_account(runner, "acme", *extra)
    assert result.exit_code == 1
    assert sentence in result.stderr
    with app.app_context():
        assert db.session.scalar(sa.select(Account).where(Account.slug == "acme")) is None


def test_a_refused_admin_leaves_no_half_made_account(app, runner):
    result = runner.invoke(
        args=[
            "accounts",
            "create",
            "--name",
            "Acme",
            "--slug",
            "acme",
            "--admin-email",
            "admin@acme.test",
            "--password",
            "short",
        ]
    )
    assert result.exit_code == 1
    assert "at least 8 characters" in result.stderr
    with app.app_context():
        assert db.session.scalar(sa.select(Account).where(Account.slug == "acme")) is None


def test_accounts_list(runner):
    _create_account(runner, "acme")
    _create_account(runner, "beta")
    result = runner.invoke(args=["accounts", "list"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["acme", "beta"]


def test_campaigns_create(app, runner):
    _create_account(runner, "acme")
    result = runner.invoke(
        args=[
            "campaigns",
            "create",
            "--account",
            "acme",
            "--name",
            "Spring Sales",
            "--project",
            "Outbound",
            "--purpose",
            "survey",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    data = _last_json(result)
    assert data["name"] == "Spring Sales" and data["api_code"] == "SPRING_SALES"
    with app.app_context():
        campaign = db.session.get(Campaign, data["id"])
        assert campaign.purpose == "survey" and campaign.project.name == "Outbound"


def test_campaigns_create_for_an_unknown_account_fails_with_a_sentence(runner):
    result = runner.invoke(args=["campaigns", "create", "--account", "nope", "--name", "X"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: No account has the slug 'nope'; see `flask accounts list`."
    )
    assert result.stdout == ""


def test_duplicate_campaign_fails_with_a_sentence(runner):
    _create_account(runner, "acme")
    args = ["campaigns", "create", "--account", "acme", "--name", "Spring"]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "The campaign 'Spring' already exists in this account." in result.stderr


def test_an_australian_campaign_is_asked_its_zone_and_an_outside_one_confirmed(app, runner):
    """Issue 15: `--region AU` no longer defaults to the account's Los Angeles."""
    _create_account(runner, "acme")
    base = ["campaigns", "create", "--account", "acme", "--region", "AU"]
    result = runner.invoke(args=[*base, "--name", "Sydney"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "AU has 7 time zones (Australia/Sydney, Australia/Brisbane," in result.stderr
    result = runner.invoke(args=[*base, "--name", "LA", "--timezone", "America/Los_Angeles"])
    assert result.exit_code == 1
    assert "America/Los_Angeles is not a time zone of AU" in result.stderr
    confirmed = [*base, "--name", "LA", "--timezone", "America/Los_Angeles"]
    assert runner.invoke(args=[*confirmed, "--zone-outside-region"]).exit_code == 0
    perth = [*base, "--name", "Perth", "--timezone", "Australia/Perth"]
    assert runner.invoke(args=perth).exit_code == 0
    london = ["campaigns", "create", "--account", "acme", "--region", "GB", "--name", "London"]
    assert runner.invoke(args=london).exit_code == 0
    with app.app_context():
        zones = dict(db.session.execute(sa.select(Campaign.name, Campaign.timezone)).all())
    assert zones == {
        "LA": "America/Los_Angeles", "Perth": "Australia/Perth", "London": "Europe/London",
    }  # fmt: skip


def test_pools_stats_json_has_the_design_keys(app, runner):
    data = _last_json(_create_account(runner, "acme", "--json"))
    with app.app_context(), account_scope(data["id"]):
        pool = LeadPool(name="Spring", total_count=10, open_count=6, closed_count=4)
        db.session.add(pool)
        db.session.commit()
    result = runner.invoke(args=["pools", "stats", "--account", "acme", "--json"])
    assert result.exit_code == 0, result.output
    pools = _last_json(result)["pools"]
    assert [set(row) for row in pools] == [DESIGN_POOL_KEYS] * 2
    spring = next(row for row in pools if row["name"] == "Spring")
    assert (spring["total"], spring["open"], spring["closed_pct"]) == (10, 6, 40.0)


def test_pools_recount_repairs_counters_that_are_off(app, runner):
    data = _last_json(_create_account(runner, "acme", "--json"))
    with app.app_context(), account_scope(data["id"]):
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        db.session.add_all(
            [Lead(pool_id=pool.id, phone1="+14155550100"), Lead(pool_id=pool.id, status="closed")]
        )
        db.session.flush()
        # Off, as a set-based change without a recount would leave them.
        db.session.execute(
            sa.update(LeadPool).where(LeadPool.id == pool.id).values(total_count=7, ready_count=0)
        )
        db.session.commit()
    result = runner.invoke(args=["pools", "recount", "--account", "acme", "--json"])
    assert result.exit_code == 0, result.output
    (off,) = _last_json(result)["repaired"]
    assert off["name"] == "Spring" and off["stored"]["total"] == 7
    assert off["counted"] == {"total": 2, "open": 1, "ready": 1, "closed": 1, "used": 0}
    assert off["breakdowns"] == {}
    # A breakdown off (one closed lead stored as three): found and put right too.
    with app.app_context(), account_scope(data["id"]):
        db.session.execute(
            sa.update(PoolBreakdown)
            .where(PoolBreakdown.kind == "status", PoolBreakdown.key == "closed")
            .values(leads=3)
        )
        db.session.commit()
    result = runner.invoke(args=["pools", "recount", "--account", "acme", "--json"])
    (off,) = _last_json(result)["repaired"]
    assert off["breakdowns"] == {"status:closed": [3, 1]}
    again = runner.invoke(args=["pools", "recount", "--account", "acme"])
    assert again.exit_code == 0 and "Every pool's counters were right." in again.output
    stats = _last_json(runner.invoke(args=["pools", "stats", "--account", "acme", "--json"]))
    spring = next(row for row in stats["pools"] if row["name"] == "Spring")
    # Ready to dial as the grid shows it: 0 while no campaign dials the pool.
    assert (spring["total"], spring["ready_to_dial"]) == (2, 0)


def test_pools_stats_shows_only_the_named_account(app, runner):
    _create_account(runner, "acme")
    other = _last_json(_create_account(runner, "other", "--json"))
    with app.app_context(), account_scope(other["id"]):
        db.session.add(LeadPool(name="Secret"))
        db.session.commit()
    result = runner.invoke(args=["pools", "stats", "--account", "acme", "--json"])
    assert [row["name"] for row in _last_json(result)["pools"]] == ["Inactive"]
    text = runner.invoke(args=["pools", "stats", "--account", "other"])
    assert "Secret" in text.stdout and "total=0" in text.stdout


def test_pools_stats_for_an_unknown_account_fails(runner):
    result = runner.invoke(args=["pools", "stats", "--account", "nope", "--json"])
    assert result.exit_code == 1
    assert "No account has the slug 'nope'" in result.stderr
    assert result.stdout == ""


def test_demo_creates_the_demo_account(app, runner):
    pytest.importorskip("leadapp.domain.leadgen")
    pytest.importorskip("leadapp.domain.phones")
    result = _invoke_plain(app, runner, ["demo", "--leads", "60"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.example" in result.stdout and "supervisor@demo.example" in result.stdout
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.slug == "demo"))
        assert account is not None
        with account_scope(account.id):
            roles = sorted(db.session.scalars(sa.select(User.role)))
            assert roles == ["admin", "supervisor"]
            assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == 2
            leads = db.session.scalar(sa.select(sa.func.count(Lead.id)))
            assert leads > 0
            assert (
                db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.phone1.is_(None)))
                == 0
            )
            pools = {p.name: p for p in db.session.scalars(sa.select(LeadPool))}
            assert set(pools) == {"Inactive", "Spring prospects", "Survey panel"}
            assert sum(p.total_count for p in pools.values()) == leads  # counts refreshed

    # A second run changes nothing.
    again = _invoke_plain(app, runner, ["demo", "--leads", "60"])
    assert again.exit_code == 0
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count(Account.id)).where(Account.slug == "demo")
        )
        assert count == 1


def test_demo_login_reaches_the_pool_grid(app, client, runner):
    pytest.importorskip("leadapp.domain.leadgen")
    pytest.importorskip("leadapp.domain.phones")
    assert _invoke_plain(app, runner, ["demo", "--leads", "20"]).exit_code == 0
    assert login(client, "supervisor@demo.example", "demo-password").status_code == 302
    html = client.get("/pools").get_data(as_text=True)
    assert "Spring prospects" in html and "Survey panel" in html


def test_bootstrap_runs_demo_only_on_an_empty_database(app, runner):
    _create_account(runner, "acme")
    result = _invoke_plain(app, runner, ["bootstrap"])
    assert result.exit_code == 0
    assert "already has accounts" in result.stdout
