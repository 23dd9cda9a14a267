"""Accounts, users and campaigns: what is created, and the sentences for what is refused."""

import time

import pytest
import sqlalchemy as sa

from leadapp.domain.fields import STANDARD_FIELDS
from leadapp.extensions import db
from leadapp.models import Campaign, FieldDefinition, LeadPool, Project, User
from leadapp.security import account_scope
from leadapp.services.accounts import (
    AccountError,
    authenticate,
    create_account,
    create_campaign,
    create_user,
)
from tests.conftest import PASSWORD


def _new(slug="acme", email=None, **kwargs):
    return create_account("Acme Sales", slug, email or f"admin@{slug}.test", PASSWORD, **kwargs)


def test_create_account_makes_admin_inactive_pool_and_standard_fields(app_ctx):
    account = _new(region="gb", timezone="Europe/London")
    assert (account.slug, account.name, account.default_region, account.timezone) == (
        "acme",
        "Acme Sales",
        "GB",
        "Europe/London",
    )
    with account_scope(account.id):
        (admin,) = db.session.scalars(sa.select(User)).all()
        assert (admin.email, admin.role, admin.active) == ("admin@acme.test", "admin", True)
        assert admin.check_password(PASSWORD) and admin.password_hash != PASSWORD
        # The tests hash cheaply (TestingConfig); the same algorithm as production.
        assert admin.password_hash.startswith("scrypt:1024:8:1$")

        (pool,) = db.session.scalars(sa.select(LeadPool)).all()
        assert (pool.name, pool.is_system, pool.status) == ("Inactive", True, "inactive")

        fields = db.session.scalars(
            sa.select(FieldDefinition).order_by(FieldDefinition.position)
        ).all()
    assert [f.key for f in fields] == [spec.key for spec in STANDARD_FIELDS]
    assert all(f.is_standard for f in fields)
    by_key = {f.key: f for f in fields}
    for spec in STANDARD_FIELDS:
        field = by_key[spec.key]
        assert (field.label, field.type, field.max_length) == (
            spec.label,
            spec.type,
            spec.max_length,
        )


def test_slug_and_email_are_normalised(app_ctx):
    account = create_account("X", "  Acme-Sales ", " Boss@Acme.TEST ", PASSWORD)
    assert account.slug == "acme-sales"
    assert db.session.scalar(sa.select(User.email).where(User.account_id == account.id)) == (
        "boss@acme.test"
    )


@pytest.mark.parametrize(
    ("kwargs", "sentence"),
    [
        (
            {"slug": "A"},
            "The slug must be 3 to 60 lower-case letters, digits or dashes, like acme-sales.",
        ),
        (
            {"slug": "acme sales"},
            "The slug must be 3 to 60 lower-case letters, digits or dashes, like acme-sales.",
        ),
        (
            {"slug": "-acme"},
            "The slug must be 3 to 60 lower-case letters, digits or dashes, like acme-sales.",
        ),
        ({"region": "XX"}, "'XX' is not a phone region; use a two-letter code like US."),
        (
            {"timezone": "Mars/Olympus"},
            "'Mars/Olympus' is not a time zone name; use one like America/New_York.",
        ),
        ({"password": "short"}, "The password needs at least 8 characters."),
        ({"email": "nobody"}, "'nobody' is not an email address."),
    ],
)
def test_create_account_refusals(app_ctx, kwargs, sentence):
    args = {
        "name": "Acme",
        "slug": "acme",
        "admin_email": "admin@acme.test",
        "password": PASSWORD,
    }
    if "email" in kwargs:
        args["admin_email"] = kwargs.pop("email")
    args.update(kwargs)
    with pytest.raises(AccountError) as info:
        create_account(**args)
    assert str(info.value) == sentence


def test_duplicate_slug_is_refused(app_ctx):
    _new("acme")
    with pytest.raises(AccountError) as info:
        _new("ACME", email="second@acme.test")
    assert str(info.value) == "An account with the slug 'acme' already exists."


def test_duplicate_email_across_accounts_is_refused(app_ctx):
    _new("acme")
    second = _new("other")
    with pytest.raises(AccountError) as info:
        _new("third", email="ADMIN@acme.test")
    assert str(info.value) == "A user with the email admin@acme.test already exists."
    # Also from inside another account's scope: the check must see every account.
    with account_scope(second.id), pytest.raises(AccountError) as info:
        create_user(second, "admin@acme.test", "Copy", PASSWORD)
    assert str(info.value) == "A user with the email admin@acme.test already exists."


def test_create_user_refuses_an_unknown_role(app_ctx):
    account = _new()
    with pytest.raises(AccountError) as info:
        create_user(account, "x@acme.test", "X", PASSWORD, role="owner")
    assert str(info.value) == "The role must be one of: admin, supervisor."


def test_create_campaign_creates_the_project_and_derives_the_api_code(app_ctx):
    account = _new(region="GB", timezone="Europe/London")
    with account_scope(account.id):
        spring = create_campaign(account, "  Spring Sales 2025! ", project="Outbound")
        survey = create_campaign(
            account,
            "Survey",
            project="Outbound",
            purpose="survey",
            region="au",
            timezone="Australia/Sydney",
        )
        projects = db.session.scalars(sa.select(Project)).all()
    assert [p.name for p in projects] == ["Outbound"]
    assert spring.project_id == survey.project_id == projects[0].id
    assert (spring.name, spring.api_code, spring.purpose) == (
        "Spring Sales 2025!",
        "SPRING_SALES_2025",
        "sales",
    )
    # Region and zone default to the account's.
    assert (spring.default_region, spring.timezone) == ("GB", "Europe/London")
    assert (survey.default_region, survey.timezone, survey.purpose) == (
        "AU",
        "Australia/Sydney",
        "survey",
    )


def test_create_campaign_refuses_a_duplicate_name_and_bad_settings(app_ctx):
    account = _new()
    with account_scope(account.id):
        create_campaign(account, "Spring")
        with pytest.raises(AccountError) as info:
            create_campaign(account, "Spring", project="Other")
        assert str(info.value) == "The campaign 'Spring' already exists in this account."
        with pytest.raises(AccountError) as info:
            create_campaign(account, "   ")
        assert str(info.value) == "Give the campaign a name."
        with pytest.raises(AccountError) as info:
            create_campaign(account, "Autumn", timezone="Nowhere/Land")
        assert "is not a time zone name" in str(info.value)
        count = db.session.scalar(sa.select(sa.func.count(Campaign.id)))
    assert count == 1


def test_campaigns_whose_names_give_the_same_api_code_get_distinct_codes(app_ctx):
    account = _new()
    with account_scope(account.id):
        first = create_campaign(account, "Spring Sales")
        second = create_campaign(account, "spring-sales")
        third = create_campaign(account, "SPRING  SALES")
    codes = [first.api_code, second.api_code, third.api_code]
    assert codes[0] == "SPRING_SALES"
    assert len(set(codes)) == 3
    assert all(code.startswith("SPRING_SALES") for code in codes)


def test_same_campaign_name_in_two_accounts_is_fine(app_ctx):
    acme, other = _new("acme"), _new("other")
    with account_scope(acme.id):
        a = create_campaign(acme, "Spring")
    with account_scope(other.id):
        b = create_campaign(other, "Spring")
    assert a.api_code == b.api_code == "SPRING" and a.account_id != b.account_id


def test_overlong_names_are_refused_with_a_sentence(app_ctx):
    # The columns hold 120 characters; PostgreSQL would refuse a longer value with a crash.
    with pytest.raises(AccountError) as info:
        create_account("N" * 121, "acme", "admin@acme.test", PASSWORD)
    assert str(info.value) == "The account name can have at most 120 characters."
    account = _new()
    with account_scope(account.id):
        with pytest.raises(AccountError) as info:
            create_campaign(account, "C" * 121)
        assert str(info.value) == "The campaign name can have at most 120 characters."
        with pytest.raises(AccountError) as info:
            create_campaign(account, "Fine", project="P" * 121)
        assert str(info.value) == "The project name can have at most 120 characters."
        assert create_campaign(account, "C" * 120).name == "C" * 120
        with pytest.raises(AccountError) as info:
            create_user(account, "long@acme.test", "U" * 121, PASSWORD)
        assert str(info.value) == "The user's name can have at most 120 characters."
        with pytest.raises(AccountError) as info:
            create_user(account, "x" * 250 + "@acme.test", "Long", PASSWORD)
        assert str(info.value) == "The email address can have at most 254 characters."


def test_production_hashes_passwords_at_werkzeugs_full_cost():
    from config import ProductionConfig
    from leadapp.models import User

    user = User(email="a@b.test")
    user.set_password(PASSWORD, ProductionConfig.PASSWORD_HASH_METHOD)
    assert user.password_hash.startswith("scrypt:32768:8:1$")
    assert user.check_password(PASSWORD)


def test_authenticate_finds_the_user_by_email_and_password_only(app_ctx):
    _new()
    assert authenticate(" Admin@Acme.test ", PASSWORD).email == "admin@acme.test"
    assert authenticate("admin@acme.test", "not the password") is None
    assert authenticate("nobody@acme.test", PASSWORD) is None


def test_an_unknown_email_is_refused_as_slowly_as_a_wrong_password(app, app_ctx):
    """At production cost (a sixth of a second per check here) a refusal that skipped the
    check for unknown emails would answer many times faster, and tell which emails exist."""
    from config import ProductionConfig

    user = _new().users[0]
    cheap = app.config["PASSWORD_HASH_METHOD"]
    app.config["PASSWORD_HASH_METHOD"] = ProductionConfig.PASSWORD_HASH_METHOD
    try:
        user.set_password(PASSWORD, ProductionConfig.PASSWORD_HASH_METHOD)
        authenticate("nobody@acme.test", "warm up")  # the first makes the stand-in hash

        def quickest(email: str) -> float:
            times = []
            for _ in range(3):
                started = time.perf_counter()
                assert authenticate(email, "not the password") is None
                times.append(time.perf_counter() - started)
            return min(times)

        wrong_password, unknown_email = quickest("admin@acme.test"), quickest("nobody@acme.test")
    finally:
        app.config["PASSWORD_HASH_METHOD"] = cheap
    assert unknown_email > wrong_password / 2, (unknown_email, wrong_password)
