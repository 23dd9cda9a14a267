"""Settings page for API tokens: list, create (plaintext shown once) and revoke.

A separate blueprint from ``api``: these are browser forms, so CSRF applies."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required

from leadapp.extensions import db
from leadapp.models import ApiToken
from leadapp.models.compliance import TOKEN_SCOPES
from leadapp.security import get_or_404
from leadapp.services import api_tokens

from .forms import NewTokenForm, RevokeForm
from .scopes import scopes_for_role

bp = Blueprint("tokens", __name__, url_prefix="/settings/api-tokens", template_folder="templates")


def _page(form: NewTokenForm, status: int = 200, created=None, plaintext: str | None = None):
    mine = api_tokens.tokens_for(current_user)
    others = []
    if current_user.is_admin:
        others = [t for t in api_tokens.tokens_for(current_user, everyone=True) if t not in mine]
    response = make_response(
        render_template(
            "api/tokens.html",
            form=form,
            revoke_form=RevokeForm(),
            mine=mine,
            scope_labels=TOKEN_SCOPES,
            allowed_scopes=scopes_for_role(current_user.role),
            others=others,
            created=created,
            plaintext=plaintext,
        ),
        status,
    )
    # The page may hold a plaintext token: never keep it in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = NewTokenForm()
    if not form.validate_on_submit():
        return _page(form, 422 if form.errors else 200)
    try:
        token, plaintext = api_tokens.create_token(
            current_user, form.name.data, form.scopes.data or [], form.expires_in_days()
        )
    except api_tokens.ApiTokenError as exc:
        db.session.rollback()
        form.name.errors.append(str(exc))
        return _page(form, 422)
    db.session.commit()
    # Shown in this answer only (never flashed: the session cookie is not encrypted).
    return _page(NewTokenForm(formdata=None), 201, created=token, plaintext=plaintext)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    if not RevokeForm().validate_on_submit():
        abort(400)
    token = get_or_404(ApiToken, token_id)
    if not api_tokens.can_manage(token, current_user):
        abort(404)  # another user's token does not exist for a supervisor
    was_active = token.active
    api_tokens.revoke(token, current_user)
    db.session.commit()
    if was_active:
        flash(f"The token “{token.name}” ({token.prefix}…) is revoked.", "success")
    else:
        flash(f"The token “{token.name}” was already revoked.", "info")
    return redirect(url_for("tokens.index"))
