from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from leadapp.models import ROLES

ROLE_CHOICES = [(r, r.capitalize()) for r in ROLES]


class NewUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired()])
    role = SelectField("Role", choices=ROLE_CHOICES, default="supervisor")
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8)])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class EmptyForm(FlaskForm):
    """Buttons that POST (activate, reset password) still carry the CSRF token."""
