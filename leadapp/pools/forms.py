from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from leadapp.services.pools import DAYS_MAX, DESCRIPTION_MAX, NAME_MAX


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
    # When the pool's leads may be used (seed 004; leadapp/domain/pool_schedule.py).
    day_offset = IntegerField(
        "Day offset",
        default=0,
        description="Days after the pool's start before its leads are dialled.",
        validators=[
            Optional(),
            NumberRange(0, DAYS_MAX, f"The day offset is a number of days from 0 to {DAYS_MAX}."),
        ],
    )
    day_count = IntegerField(
        "Day count",
        description="Days the leads are spread over, an equal share a day (empty: all at once).",
        validators=[
            Optional(),
            NumberRange(1, DAYS_MAX, f"The day count is a number of days from 1 to {DAYS_MAX}."),
        ],
    )
    time_from = TimeField("Call from", validators=[Optional()])
    time_until = TimeField("Call until", validators=[Optional()])

    def validate_active_until(self, field):
        if field.data and self.active_from.data and field.data < self.active_from.data:
            raise ValidationError("The pool cannot stop being active before it starts.")


class EmptyForm(FlaskForm):
    """Buttons that POST (toggle, reset) still carry the CSRF token."""


def _id_or_none(value):
    """A chosen id, or None for what is no number (the view then says what to choose)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class NewListForm(FlaskForm):
    """A list made without a file (issue 17 item 11); the choices are filled per account."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the list a name."),
            Length(max=NAME_MAX, message=f"A list name can have at most {NAME_MAX} characters."),
        ],
    )
    campaign = SelectField("Campaign", coerce=_id_or_none, validate_choice=False)
    description = TextAreaField(
        "Description",
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=f"The description can have at most {DESCRIPTION_MAX} characters.",
            )
        ],
    )
    timezone = SelectField("Time zone", validate_choice=False)
    owner = SelectField("Owner", coerce=_id_or_none, validate_choice=False)


class DeleteListForm(FlaskForm):
    """The confirmation carries the lead count the person saw."""

    leads = IntegerField(validators=[Optional()])
