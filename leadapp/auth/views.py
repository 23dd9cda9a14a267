from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from leadapp.extensions import db, limiter
from leadapp.models.base import utcnow
from leadapp.services import accounts

from .forms import LoginForm

bp = Blueprint("auth", __name__, template_folder="templates")

WRONG_LOGIN = "That email and password do not match an account. Check both and try again."


def _safe_next(target: str | None) -> str:
    # Only local paths: a crafted ?next= must not send the user to another site.
    if target and urlsplit(target).netloc == "" and target.startswith("/") and "//" not in target:
        return target
    return url_for("pools.index")


def _login_key() -> str:
    # Per address and email: one attacker cannot lock everyone out, and one account is
    # not guessed at from many tabs.
    email = (request.form.get("email") or "").strip().lower()
    return f"{request.remote_addr}|{email}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    key_func=_login_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 401,  # only failed logins count
    error_message="Too many failed logins. Wait a few minutes, then try again.",
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("pools.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(WRONG_LOGIN, "danger")
        elif not user.active:
            flash("This user is deactivated. Ask an administrator of your account.", "danger")
        else:
            login_user(user, remember=form.remember.data)
            user.last_login_at = utcnow()
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
