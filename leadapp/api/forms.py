"""Forms of the API token settings page (the API itself takes JSON, not forms)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from leadapp.models.compliance import LEGACY_SCOPES, TOKEN_SCOPES
from leadapp.services.api_tokens import NAME_MAX

EXPIRY_LABELS = {"": "Until revoked", "30": "30 days", "90": "90 days", "365": "1 year"}


class NewTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[
            DataRequired("Give the token a name, e.g. the script or CRM that will use it."),
            Length(max=NAME_MAX),
        ],
        description="The script or CRM that will use it, e.g. “Website form”.",
    )
    scopes = SelectMultipleField(
        "It may",
        choices=list(TOKEN_SCOPES.items()),
        default=LEGACY_SCOPES.split(),
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validate_choice=False,  # the service refuses unknown scopes with a sentence
    )
    expires = SelectField(
        "Works for", choices=list(EXPIRY_LABELS.items()), default="", validate_choice=False
    )

    def expires_in_days(self) -> int | None:
        """The chosen lifetime in days (None: until revoked); -1 for anything else."""
        value = (self.expires.data or "").strip()
        if not value:
            return None
        return int(value) if value.isdigit() and len(value) < 6 else -1


class RevokeForm(FlaskForm):
    """The revoke buttons POST with the CSRF token and nothing else."""
