"""Login, logout, and binding each request to the logged-in user's account."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from leadapp.extensions import db, login_manager
from leadapp.security import bind_account


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        from leadapp.models import User

        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

    @app.before_request
    def bind_request_to_account():
        # The account always comes from the logged-in user, never from the request.
        bind_account(db.session(), None)
        if current_user.is_authenticated:
            bind_account(db.session(), current_user.account_id)
