"""Forms of the API token settings page (the API itself takes JSON, not forms)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from leadapp.services.api_tokens import NAME_MAX


class NewTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[
            DataRequired("Give the token a name, e.g. the script or CRM that will use it."),
            Length(max=NAME_MAX),
        ],
        description="The script or CRM that will use it, e.g. “Website form”.",
    )


class RevokeForm(FlaskForm):
    """The revoke buttons POST with the CSRF token and nothing else."""
