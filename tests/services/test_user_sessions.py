"""Sessions as rows: idle ones expire, ended ones are deleted after a while, secrets are
checked against their hashes only."""

import datetime as dt

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import User
from leadapp.models.account import UserSession
from leadapp.models.base import utcnow
from leadapp.services import user_sessions


def _user(app, account_id):
    return db.session.scalar(sa.select(User).where(User.account_id == account_id))


def test_an_idle_session_expires_and_use_keeps_it_alive(app, make_account):
    account_id = make_account("idle")
    with app.app_context():
        user = _user(app, account_id)
        row, value, remember = user_sessions.start(user, remember=False)
        assert remember is None
        assert user_sessions.check(value, user.id) == row
        assert user_sessions.check(value, user.id + 1) is None  # another user's id
        assert user_sessions.check(value[:-1] + "x", user.id) is None
        for garbage in (None, "", "abc", "1:", ":x", "9" * 30 + ":x", "x" * 500):
            assert user_sessions.check(garbage, user.id) is None
        # Used a while ago: the touch moves its expiry on by IDLE_LIMIT from now.
        row.last_seen_at = utcnow() - dt.timedelta(hours=1)
        assert user_sessions.touch(row)
        assert row.expires_at - utcnow() > user_sessions.IDLE_LIMIT - dt.timedelta(minutes=1)
        assert not user_sessions.touch(row)  # at most once a minute
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        assert user_sessions.check(value, user.id) is None
        assert user_sessions.live_sessions(user) == []


def test_sessions_ended_long_ago_are_deleted_at_the_next_login(app, make_account):
    account_id = make_account("tidy")
    with app.app_context():
        user = _user(app, account_id)
        old, _, _ = user_sessions.start(user, remember=True)
        recent, _, _ = user_sessions.start(user, remember=False)
        user_sessions.end_all(user)
        old.ended_at = utcnow() - user_sessions.KEEP_ENDED - dt.timedelta(days=1)
        db.session.flush()
        new, _, _ = user_sessions.start(user, remember=False)
        ids = set(db.session.scalars(sa.select(UserSession.id)))
        assert old.id not in ids and {recent.id, new.id} <= ids
        assert user_sessions.live_sessions(user) == [new]
