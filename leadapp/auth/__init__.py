"""Login, logout, and binding each request to the logged-in user's account."""

from __future__ import annotations

from flask import Flask, g
from flask_login import current_user

from leadapp.extensions import db, login_manager
from leadapp.security import bind_account

from . import logins


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    # Flask-Login's own remember cookie is replaced by ours (leadapp.auth.logins): it
    # reads a name no browser is given, so an old ``user_id|HMAC`` cookie counts for nothing.
    app.config["REMEMBER_COOKIE_NAME"] = "flask_login_remember_unused"
    login_manager.user_loader(logins.load_user)
    login_manager.request_loader(logins.load_remembered)
    app.after_request(logins.set_remember_cookie)

    @app.before_request
    def bind_request_to_account():
        # The account always comes from the logged-in user, never from the request.
        bind_account(db.session(), None)
        if current_user.is_authenticated:
            bind_account(db.session(), current_user.account_id)
        if g.pop("session_changed", False):
            # The session's last use or its new remember secret, in a commit of its own
            # before the view runs (the view may only read, or roll back).
            db.session.commit()
