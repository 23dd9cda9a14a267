"""API tokens: only the hash is stored, revoked tokens and inactive users are refused,
``last_used_at`` is written at most once a minute, create and revoke are audited."""

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import ApiToken, AuditLog, User
from leadapp.services import api_tokens


@pytest.fixture
def users(app, make_account, make_user):
    acme = make_account("acme")
    other = make_account("other")
    return {
        "admin": db_user(app, "admin@acme.test"),
        "sup": make_user(acme, "sup@acme.test"),
        "sup2": make_user(acme, "sup2@acme.test"),
        "other": make_user(other, "sup@other.test"),
        "acme": acme,
    }


def db_user(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def test_create_stores_only_the_hash_and_a_visible_prefix(app, users):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        token, plaintext = api_tokens.create_token(user, "  Website form ")
        db.session.commit()
        assert plaintext.startswith("la_") and len(plaintext) >= 40
        assert token.name == "Website form"
        assert token.prefix == plaintext[:11] and len(token.prefix) == 11
        assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert token.account_id == users["acme"] and token.user_id == user.id
        row = db.session.execute(sa.select(ApiToken.__table__)).mappings().one()
        assert plaintext not in {str(v) for v in row.values()}
        assert plaintext[11:] not in "".join(str(v) for v in row.values())


def test_tokens_are_unique(app, users):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        plains = {api_tokens.create_token(user, f"t{i}")[1] for i in range(20)}
        assert len(plains) == 20


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_create_refuses_a_bad_name(app, users, name):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        with pytest.raises(api_tokens.ApiTokenError):
            api_tokens.create_token(user, name)


def test_authenticate_finds_the_owner(app, users):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        token, plaintext = api_tokens.create_token(user, "crm")
        db.session.commit()
        assert api_tokens.authenticate(plaintext).id == user.id
        assert token.last_used_at is not None


@pytest.mark.parametrize(
    "garbage", [None, "", "la_nope", "x" * 5000, "la_\udcff", "\x00", "Bearer la_x"]
)
def test_authenticate_refuses_garbage(app, users, garbage):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        api_tokens.create_token(user, "crm")
        assert api_tokens.authenticate(garbage) is None


def test_authenticate_refuses_a_prefix_only_or_altered_token(app, users):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        token, plaintext = api_tokens.create_token(user, "crm")
        assert api_tokens.authenticate(token.prefix) is None
        assert api_tokens.authenticate(plaintext[:-1]) is None
        assert api_tokens.authenticate(plaintext + "x") is None
        assert api_tokens.authenticate(token.token_hash) is None  # the stored hash is no key


def test_revoked_token_is_refused_and_audited(app, users):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        token, plaintext = api_tokens.create_token(user, "crm")
        api_tokens.revoke(token, user)
        db.session.commit()
        assert token.revoked_at is not None and not token.active
        assert api_tokens.authenticate(plaintext) is None
        actions = db.session.scalars(
            sa.select(AuditLog.action).where(AuditLog.object_type == "ApiToken")
        ).all()
        assert sorted(actions) == ["api_token.create", "api_token.revoke"]
        # Revoking again changes nothing and writes no second entry.
        revoked_at = token.revoked_at
        api_tokens.revoke(token, user)
        assert token.revoked_at == revoked_at
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "api_token.revoke")
            )
            == 1
        )


def test_inactive_user_is_refused(app, users):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        _token, plaintext = api_tokens.create_token(user, "crm")
        user.active = False
        db.session.commit()
        assert api_tokens.authenticate(plaintext) is None
        with pytest.raises(api_tokens.ApiTokenError):
            api_tokens.create_token(user, "another")


def test_last_used_is_written_at_most_once_a_minute(app, users):
    with app.app_context():
        user = db.session.get(User, users["sup"])
        token, plaintext = api_tokens.create_token(user, "crm")
        api_tokens.authenticate(plaintext)
        first = token.last_used_at
        api_tokens.authenticate(plaintext)
        assert token.last_used_at == first
        token.last_used_at = first - dt.timedelta(seconds=61)
        api_tokens.authenticate(plaintext)
        assert token.last_used_at > first - dt.timedelta(seconds=61)


def test_who_may_revoke(app, users):
    with app.app_context():
        sup = db.session.get(User, users["sup"])
        sup2 = db.session.get(User, users["sup2"])
        admin = db.session.get(User, users["admin"])
        other = db.session.get(User, users["other"])
        token, _ = api_tokens.create_token(sup, "crm")
        for stranger in (sup2, other):
            assert not api_tokens.can_manage(token, stranger)
            with pytest.raises(api_tokens.ApiTokenError):
                api_tokens.revoke(token, stranger)
        assert token.active
        api_tokens.revoke(token, admin)
        assert not token.active
        entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "api_token.revoke"))
        assert entry.user_id == admin.id and entry.details["owner_id"] == sup.id


def test_tokens_for_lists_own_or_all_for_admins(app, users):
    with app.app_context():
        sup = db.session.get(User, users["sup"])
        admin = db.session.get(User, users["admin"])
        other = db.session.get(User, users["other"])
        mine, _ = api_tokens.create_token(sup, "mine")
        admins, _ = api_tokens.create_token(admin, "admin's")
        api_tokens.create_token(other, "other account")
        assert api_tokens.tokens_for(sup) == [mine]
        assert api_tokens.tokens_for(sup, everyone=True) == [mine]
        assert {t.name for t in api_tokens.tokens_for(admin, everyone=True)} == {
            "mine",
            "admin's",
        }
        assert api_tokens.tokens_for(admin) == [admins]
