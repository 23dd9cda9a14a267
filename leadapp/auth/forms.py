from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in")


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Type the new password.")])
    confirm = PasswordField(
        "The same password again",
        validators=[
            DataRequired("Type the new password a second time."),
            EqualTo("password", "The two passwords differ; type the same password twice."),
        ],
    )


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(
        "Your current password", validators=[DataRequired("Type your current password.")]
    )
