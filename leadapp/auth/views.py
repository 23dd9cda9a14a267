from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from leadapp.extensions import db, limiter
from leadapp.models.base import utcnow
from leadapp.security import safe_next
from leadapp.services import accounts, audit, password_links, user_sessions

from . import lockout, logins
from .forms import ChangePasswordForm, LoginForm, SetPasswordForm

bp = Blueprint("auth", __name__, template_folder="templates")

WRONG_LOGIN = "That email and password do not match an account. Check both and try again."


def _safe_next(target: str | None) -> str:
    # Only local paths: a crafted ?next= must not send the user to another site.
    return safe_next(target, url_for("pools.index"))


def _failed(response) -> bool:
    return response.status_code == 401  # only failed logins count


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_ADDRESS_RATE_LIMIT"],
    key_func=lockout.address_key,
    scope="login-address",
    methods=["POST"],
    deduct_when=_failed,
    error_message=lockout.ADDRESS_LOCKED,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    key_func=lockout.email_key,
    scope="login-email",
    methods=["POST"],
    deduct_when=_failed,
    error_message=lockout.EMAIL_LOCKED,
    on_breach=lockout.email_locked,
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
            logins.log_in(user, remember=form.remember.data)
            user.last_login_at = utcnow()
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logins.log_out()
    db.session.commit()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


# ---------------------------------------------------------------------------------------
# The user's own sessions


def _sessions_page(status: int = 200):
    response = make_response(
        render_template(
            "auth/sessions.html",
            sessions=user_sessions.live_sessions(current_user),
            this=logins.current_session(),
            form=FlaskForm(),
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/settings/sessions")
@login_required
def sessions():
    """Where the user is logged in (browser, address, last use), each with an End button."""
    return _sessions_page()


@bp.route("/settings/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    row = user_sessions.own_session(current_user, session_id)
    if row is None:
        abort(404)  # another user's session does not exist for this one
    this = logins.current_session()
    if this is not None and row.id == this.id:
        logins.log_out()
        db.session.commit()
        flash("You are logged out.", "info")
        return redirect(url_for("auth.login"))
    user_sessions.end(row)
    db.session.commit()
    flash("That session is ended: the browser has to log in again.", "success")
    return redirect(url_for("auth.sessions"))


@bp.route("/settings/sessions/end-all", methods=["POST"])
@login_required
def end_all_sessions():
    """Log out everywhere: every session of the user ends, this one too."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    ended = user_sessions.end_all(current_user)
    logins.log_out()
    db.session.commit()
    flash(f"You are logged out everywhere ({ended} session{'s' if ended != 1 else ''}).", "info")
    return redirect(url_for("auth.login"))


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password():
    """A user changes their own password: every other session of theirs ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("That is not your current password.")
        else:
            try:
                accounts.reset_password(current_user, form.password.data)
            except accounts.AccountError as exc:
                db.session.rollback()
                form.password.errors.append(str(exc))
            else:
                ended = user_sessions.end_all(current_user, keep=logins.current_session())
                audit.record(
                    current_user.account_id,
                    current_user.id,
                    "user.password_change",
                    current_user,
                    sessions_ended=ended,
                )
                db.session.commit()
                flash(
                    "Your password is changed; every other session of yours is logged out.",
                    "success",
                )
                return redirect(url_for("auth.sessions"))
    status = 422 if form.errors else 200
    response = make_response(render_template("auth/change_password.html", form=form), status)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------
# Setting a password with a one-time link (sent by an admin's reset)


@bp.route("/password/<secret>", methods=["GET", "POST"])
def set_password(secret: str):
    link = password_links.find(secret)
    if link is None:
        return (
            render_template(
                "auth/set_password.html",
                form=None,
                problem="This link is not valid: it was used already, it expired, or a newer "
                "one was sent. Ask an administrator of your account for a new one.",
            ),
            404,
        )
    if current_user.is_authenticated and current_user.id != link.user_id:
        # The request runs in the logged-in user's account: another user's password is
        # neither theirs to set nor in their account.
        return (
            render_template(
                "auth/set_password.html",
                form=None,
                problem="This link sets another user's password: log out, then open it again.",
            ),
            409,
        )
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            password_links.use(link, form.password.data)
        except accounts.AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
            return render_template("auth/set_password.html", form=form, link=link), 422
        if current_user.is_authenticated:
            logins.log_out()
        db.session.commit()
        flash("Your password is set. Log in with it.", "success")
        return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    response = make_response(
        render_template("auth/set_password.html", form=form, link=link), status
    )
    response.headers["Cache-Control"] = "no-store"
    return response
