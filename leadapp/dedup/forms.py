"""Forms of the schedule page: general + settings (locked after a test run) and scheduling."""

from __future__ import annotations

import datetime as dt
import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from leadapp.services.accounts import EMAIL_RE

SCOPE_CHOICES = [
    ("account", "The whole account"),
    ("campaign", "Campaign(s)"),
    ("list", "Pool(s)"),
    ("purpose", "Campaign purpose(s)"),
]
MATCH_CHOICES = [
    ("phone1", "Phone 1"),
    ("phones", "Any phone (Phone 1 to Phone 5)"),
    ("email", "Email"),
    ("customer_key", "Customer key"),
]
KEEP_CHOICES = [
    ("latest-created", "Latest created"),
    ("latest-called", "Latest called"),
    ("inbound", "Inbound lead source"),
]
OFF_HOURS = dt.time(2, 0)
# Fields of the General and Settings sections: locked once a test run has happened.
LOCKED_FIELDS = (
    "name",
    "description",
    "scope",
    "campaigns",
    "pools",
    "purposes",
    "match_keys",
    "match_mode",
    "keep_rule",
    "retain_inbound",
)


def match_choices() -> list[tuple[str, str]]:
    """The match keys offered: the standard ones and the account's custom fields."""
    from leadapp.services.custom_fields import custom_fields

    return MATCH_CHOICES + [(f"custom:{f.key}", f.label) for f in custom_fields()]


def split_emails(text: str | None) -> list[str]:
    """Addresses separated by commas, semicolons or lines; duplicates dropped, order kept."""
    seen: list[str] = []
    for part in re.split(r"[,;\s]+", text or ""):
        part = part.strip()
        if part and part.lower() not in [s.lower() for s in seen]:
            seen.append(part)
    return seen


class JobForm(FlaskForm):
    """General and Settings."""

    name = StringField(
        "Name",
        validators=[DataRequired("Give the job a name."), Length(max=120)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    description = TextAreaField("Description", validators=[Optional()])
    scope = RadioField("Lead scope", choices=SCOPE_CHOICES, default="account")
    campaigns = SelectMultipleField("Campaigns", coerce=int, choices=[])
    pools = SelectMultipleField("Pools", coerce=int, choices=[])
    purposes = SelectMultipleField("Campaign purposes", choices=[])
    # Choices: MATCH_CHOICES and the account's custom fields (set by the view).
    match_keys = SelectMultipleField("Match on", choices=MATCH_CHOICES, default=["phone1"])
    match_mode = RadioField(
        "With several match keys, a lead is a duplicate when",
        choices=[("any", "any of them is equal"), ("all", "all of them are equal")],
        default="any",
    )
    keep_rule = RadioField(
        "When duplicates are found, keep", choices=KEEP_CHOICES, default="latest-created"
    )
    retain_inbound = BooleanField("Retain inbound leads (in addition to the rule)")

    def targets(self) -> list:
        return {
            "account": [],
            "campaign": list(self.campaigns.data or []),
            "list": list(self.pools.data or []),
            "purpose": list(self.purposes.data or []),
        }[self.scope.data]


class ScheduleForm(FlaskForm):
    """Scheduling, and the acknowledgement above Apply Changes."""

    run_date = DateField("Date", validators=[Optional()])
    run_time = TimeField("Time of day", default=OFF_HOURS, validators=[Optional()])
    emails = TextAreaField(
        "Email confirmations",
        description="One or more addresses, separated by commas or lines.",
    )
    acknowledge = BooleanField(
        "I acknowledge these numbers are based on current lead records and will change "
        "based on data at time of scheduled job execution."
    )

    def validate_emails(self, field):
        bad = [e for e in split_emails(field.data) if not EMAIL_RE.match(e)]
        if bad:
            verb = "is not an email address" if len(bad) == 1 else "are not email addresses"
            raise ValidationError(f"{', '.join(bad)} {verb}.")
