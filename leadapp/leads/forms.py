"""Forms of the leads pages: the service validates lead data; these carry it (and CSRF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from leadapp.domain.timezones import valid_zones


def zone_choices(blank: str = "Detect (from the phone number, else the campaign's)"):
    return [("", blank)] + [(z, z) for z in sorted(valid_zones()) if "/" in z]


class LeadFieldsForm(FlaskForm):
    """The standard fields of a lead; custom fields are added per account
    (``with_custom``)."""

    timezone = SelectField("Time zone", validate_choice=False)
    first_name = StringField("First name", validators=[Optional(), Length(max=120)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=120)])
    email = StringField("Email", validators=[Optional(), Length(max=254)])
    phone1 = StringField("Phone 1 (dialled)")
    phone2 = StringField("Phone 2")
    phone3 = StringField("Phone 3")
    phone4 = StringField("Phone 4")
    phone5 = StringField("Phone 5")
    customer_key = StringField("Customer key", validators=[Optional(), Length(max=120)])
    state = StringField("State / region", validators=[Optional(), Length(max=64)])
    postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)])
    country = StringField("Country (2 letters)", validators=[Optional(), Length(max=2)])


class NewLeadForm(LeadFieldsForm):
    pool = SelectField("Lead pool", coerce=int, validators=[DataRequired("Choose a pool.")])


STANDARD_FORM_FIELDS = (
    "timezone",
    "first_name",
    "last_name",
    "email",
    "phone1",
    "phone2",
    "phone3",
    "phone4",
    "phone5",
    "customer_key",
    "state",
    "postal_code",
    "country",
)


def with_custom(base: type[FlaskForm], definitions) -> type[FlaskForm]:
    """``base`` plus one text field ``cf_<key>`` per custom field definition."""
    attrs = {
        f"cf_{d.key}": StringField(
            d.label + (" *" if d.required else ""),
            validators=[Optional(), Length(max=d.max_length or 5000)],
        )
        for d in definitions
    }
    return type(base.__name__, (base,), attrs) if attrs else base


class WrapCodeForm(FlaskForm):
    wrap_code = StringField("Wrap code", validators=[Optional(), Length(max=60)])
    callback_at = DateTimeLocalField(
        "Callback at (account time)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )


class CopyForm(FlaskForm):
    pool = SelectField("Copy to pool", coerce=int)
    as_update = BooleanField("Update the lead with the same customer key there, if any")


class DncAddForm(FlaskForm):
    phone = StringField("Phone number", validators=[DataRequired("Type the phone number.")])
    note = StringField("Note", validators=[Optional(), Length(max=255)])


class DncUploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file first.")])
    note = StringField("Note", validators=[Optional(), Length(max=255)])
