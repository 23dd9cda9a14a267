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
    TextAreaField,
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
    timezone = StringField("Default time zone")
    region = SelectField("Phone region", validate_choice=False)
    zone_outside_region = BooleanField("The default time zone is outside the region: use it")
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


class ApiDuplicatesForm(FlaskForm):
    """The campaign's duplicate rules for API leads; the choices of ``match`` include the
    account's custom fields (``custom:<key>``). The service checks every value."""

    match = SelectMultipleField("Match on", validate_choice=False)
    match_mode = SelectField(
        "With several match keys",
        choices=[
            ("any", "A duplicate when any of them is equal"),
            ("all", "A duplicate only when all of them are equal"),
        ],
        validate_choice=False,
    )
    scope = SelectField(
        "Look for duplicates in",
        choices=[
            ("none", "Nowhere (create every valid lead)"),
            ("pool", "The lead's pool"),
            ("campaign", "This campaign"),
            ("project", "This project"),
            ("account", "The whole account"),
        ],
        validate_choice=False,
    )
    open_only = BooleanField("Only open leads")
    include_inactive = BooleanField("Include inactive pools")
    action = SelectField(
        "When a lead matches an existing lead",
        choices=[
            ("notify", "Notify only (create the new lead too)"),
            ("discard-new", "Discard the new lead"),
            ("deactivate-existing", "Deactivate the existing lead"),
            ("remove-existing", "Set the existing lead's status to removed"),
            ("update-existing", "Update the existing lead"),
            ("move-existing", "Move the existing lead into the lead's pool"),
        ],
        validate_choice=False,
    )
    update_mode = SelectField(
        "Updating (conflicts)",
        choices=[
            ("overwrite", "Overwrite with the new values"),
            ("fill-blanks", "Fill blank fields only"),
        ],
        validate_choice=False,
    )
    multiple = SelectField(
        "When several existing leads match",
        choices=[
            ("update-all", "Act on all of them"),
            ("update-newest", "Act on the newest"),
            ("create-new", "Create a new lead"),
        ],
        validate_choice=False,
    )


class CallingHoursForm(FlaskForm):
    """A campaign's calling hours: each weekday's hours (empty = no calls), the stricter
    state hours as text (one state a line), and public holidays off."""

    mon = StringField("Monday")
    tue = StringField("Tuesday")
    wed = StringField("Wednesday")
    thu = StringField("Thursday")
    fri = StringField("Friday")
    sat = StringField("Saturday")
    sun = StringField("Sunday")
    states = TextAreaField("Stricter hours by state")
    holidays_off = BooleanField("No calls on the lead's public holidays", default=True)
