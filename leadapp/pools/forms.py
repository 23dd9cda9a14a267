from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from leadapp.services.pools import DESCRIPTION_MAX, NAME_MAX


class PoolForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the pool a name."),
            Length(max=NAME_MAX, message=f"A pool name can have at most {NAME_MAX} characters."),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=f"The description can have at most {DESCRIPTION_MAX} characters.",
            )
        ],
    )
    active_from = DateField("Active from", validators=[Optional()])
    active_until = DateField("Active until", validators=[Optional()])

    def validate_active_until(self, field):
        if field.data and self.active_from.data and field.data < self.active_from.data:
            raise ValidationError("The pool cannot stop being active before it starts.")


class EmptyForm(FlaskForm):
    """Buttons that POST (toggle, reset) still carry the CSRF token."""
