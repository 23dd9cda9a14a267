"""Admin pages: the account's users, and (in development) the local outbox."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from leadapp.extensions import db
from leadapp.models import User
from leadapp.security import admin_required, get_or_404
from leadapp.services import accounts, audit, outbox, password_links, user_sessions
from leadapp.services import mail as mail_service
from leadapp.services.mail import queue_email
from leadapp.services.results_emails import public_url
from leadapp.tasks import QueueUnavailable
from leadapp.templating import local_time

from .forms import EmptyForm, NewUserForm, RoleForm

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


def _users_page(form: NewUserForm, status: int = 200):
    users = db.session.scalars(sa.select(User).order_by(User.name)).all()
    return (
        render_template(
            "admin/users.html", users=users, form=form, role_form=RoleForm(), action=EmptyForm()
        ),
        status,
    )


@bp.route("/")
@admin_required
def index():
    return redirect(url_for("admin.users"))


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                current_user.account,
                form.email.data,
                form.name.data,
                form.password.data,
                form.role.data,
            )
        except accounts.AccountError as exc:
            form.email.errors.append(str(exc))
            return _users_page(form, 422)
        audit.record(current_user.account_id, current_user.id, "user.create", user, role=user.role)
        db.session.commit()
        flash(f"{user.name} can now log in as {user.email}.", "success")
        _send_welcome(user)
        return redirect(url_for("admin.users"))
    return _users_page(form, 422 if form.errors else 200)


def _send_welcome(user: User) -> None:
    # After the commit: a user who does not exist yet must never get mail.
    try:
        queue_email(
            user.email,
            "welcome",
            name=user.name,
            email=user.email,
            role=user.role,
            account_name=current_user.account.name,
            inviter=current_user.name,
            login_url=url_for("auth.login", _external=True),
        )
    except QueueUnavailable as exc:
        flash(f"The welcome email was not sent: {exc}", "warning")


def _change(user_id: int, change, message):
    user = get_or_404(User, user_id)
    try:
        change(user)
    except accounts.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("admin.users"))
    db.session.commit()
    flash(message(user), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@admin_required
def set_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)

    def change(user):
        before = user.role
        accounts.set_role(user, form.role.data, current_user)
        if user.role != before:  # what the user may do changed: every session ends
            user_sessions.end_all(user)
        audit.record(current_user.account_id, current_user.id, "user.role", user, role=user.role)

    return _change(user_id, change, lambda u: f"{u.name} is now {u.role}.")


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@admin_required
def toggle_active(user_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)

    def change(user):
        accounts.set_active(user, not user.active, current_user)
        if not user.active:
            user_sessions.end_all(user)
        audit.record(
            current_user.account_id, current_user.id, "user.active", user, active=user.active
        )

    return _change(
        user_id, change, lambda u: f"{u.name} is now {'active' if u.active else 'inactive'}."
    )


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@admin_required
def reset_password(user_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = get_or_404(User, user_id)
    if not user.active:
        flash(f"{user.name} is deactivated; activate them before resetting the password.", "danger")
        return redirect(url_for("admin.users"))
    link, secret = password_links.reset(user, current_user)
    db.session.commit()
    # The password is never shown (nor flashed into the session cookie): the user sets it
    # with a one-time link sent by email, after the commit.
    try:
        queue_email(
            user.email,
            "set_password",
            name=user.name,
            email=user.email,
            admin=current_user.name,
            account_name=current_user.account.name,
            link=public_url(url_for("auth.set_password", secret=secret)),
            expires=local_time(link.expires_at),
            login_url=public_url(url_for("auth.login")),
        )
    except QueueUnavailable as exc:
        flash(
            f"{user.name}'s password was reset and their sessions ended, but the email with "
            f"the link was not sent: {exc} Reset again to send a new link.",
            "warning",
        )
        return redirect(url_for("admin.users"))
    flash(
        f"{user.name}'s password was reset and every session of theirs ended; a link to set "
        f"a new one is on its way to {user.email}.",
        "success",
    )
    return redirect(url_for("admin.users"))


# The sink holds every account's mail: an admin sees only messages recorded as their
# account's when they were written, whoever they were addressed to.


@bp.route("/outbox")
@admin_required
def outbox_index():
    if not current_app.config["OUTBOX_PAGE"]:
        abort(404)
    messages = outbox.list_messages(
        current_app.config["OUTBOX_DIR"], mail_service.account_message_ids
    )
    return render_template("admin/outbox.html", messages=messages)


@bp.route("/outbox/<name>")
@admin_required
def outbox_message(name: str):
    if not current_app.config["OUTBOX_PAGE"]:
        abort(404)
    message = outbox.read_message(current_app.config["OUTBOX_DIR"], name)
    if message is None or not message["message_id"]:
        abort(404)
    if message["message_id"] not in mail_service.account_message_ids([message["message_id"]]):
        abort(404)
    return render_template("admin/outbox_message.html", message=message)


# The wrap codes and lead fields pages register their routes on this blueprint.
from leadapp.admin import custom_fields as _custom_fields  # noqa: E402, F401
from leadapp.admin import wrap_codes as _wrap_codes  # noqa: E402, F401
