"""Forms of the campaign pages. The rules (and their sentences) live in the service; the
forms only carry the values and the CSRF token."""

from __future__ import annotations

import phonenumbers
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)

from leadapp.models.pool import DIALER_STRATEGIES
from leadapp.services.campaigns import PURPOSES


def region_choices() -> list[tuple[str, str]]:
    return [
        (r, f"{r} (+{phonenumbers.country_code_for_region(r)})")
        for r in sorted(phonenumbers.SUPPORTED_REGIONS)
    ]


class ProjectForm(FlaskForm):
    name = StringField("Name")


class CampaignForm(FlaskForm):
    name = StringField("Name")
    project_id = SelectField("Project", coerce=int, validate_choice=False)
    api_code = StringField("API code")
    purpose = SelectField("Purpose", validate_choice=False)
    timezone = StringField("Time zone")
    region = SelectField("Phone region", validate_choice=False)
    window_start = StringField("Calling window from", default="08:00")
    window_end = StringField("to", default="21:00")
    weighting = BooleanField("Share dialing among to-dial pools by weight", default=True)
    active = BooleanField("Active", default=True)

    def __init__(self, *args, projects=(), purpose=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.project_id.choices = [(p.id, p.name) for p in projects]
        purposes = list(PURPOSES)
        if purpose and purpose not in purposes:
            purposes.append(purpose)  # a purpose set elsewhere (CLI) stays selectable
        self.purpose.choices = [(p, p.capitalize()) for p in purposes]
        self.region.choices = region_choices()


class EmptyForm(FlaskForm):
    """Buttons that POST still carry the CSRF token."""


class PickerForm(FlaskForm):
    """The two-list picker: ``assigned`` is the whole (pending) assigned list;
    ``selected_available`` and ``selected_assigned`` are the pools selected in the left and
    right lists. (Not "add"/"remove": a form control named "remove" hides the form element's
    own remove(), which htmx calls when it swaps the form.)"""

    assigned = SelectMultipleField(coerce=int, validate_choice=False)
    selected_available = SelectMultipleField(coerce=int, validate_choice=False)
    selected_assigned = SelectMultipleField(coerce=int, validate_choice=False)
    confirmed = HiddenField()


class AssignmentRowForm(Form):
    assignment_id = IntegerField()
    to_dial = BooleanField("To dial")
    strategy = SelectField(
        "Dialer strategy", choices=[(s, s.capitalize()) for s in DIALER_STRATEGIES]
    )
    weight = StringField("Weight")


class AssignmentSettingsForm(FlaskForm):
    rows = FieldList(FormField(AssignmentRowForm))
