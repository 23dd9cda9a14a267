from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import NumberRange, Optional

from leadapp.domain.csv_io import DELIMITERS, MIXED
from leadapp.domain.labels import ACTION_LABELS

ENCODINGS = [
    ("", "Detect"),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 with BOM"),
    ("utf-16", "UTF-16"),
    ("cp1252", "Windows-1252"),
    (MIXED, "UTF-8, some lines Windows-1252"),
    ("latin-1", "Latin-1"),
]
DELIMITER_CHOICES = [("", "Detect")] + [
    (d, {"\t": "Tab", ",": "Comma (,)", ";": "Semicolon (;)", "|": "Pipe (|)"}[d])
    for d in DELIMITERS
]


class SettingsForm(FlaskForm):
    campaign = SelectField("Campaign", coerce=int)
    owner = SelectField("Lead owner", coerce=int)
    target = RadioField(
        "Import into",
        choices=[("new", "A new lead pool"), ("existing", "An existing lead pool")],
        default="new",
    )
    pool_name = StringField("Pool name", description="Leave empty to use the file name.")
    existing_pool = SelectField("Existing pool", coerce=int, validate_choice=False)
    description = TextAreaField("Description", validators=[Optional()])
    priority = IntegerField("Priority", default=5, validators=[Optional(), NumberRange(1, 10)])
    active_from = DateField("Active from", validators=[Optional()])
    active_until = DateField("Active until", validators=[Optional()])
    day_offset = IntegerField("Day offset", default=0, validators=[Optional(), NumberRange(0, 365)])
    day_count = IntegerField("Day count", validators=[Optional(), NumberRange(1, 365)])
    time_from = TimeField("Time from", validators=[Optional()])
    time_until = TimeField("Time until", validators=[Optional()])


class FileForm(FlaskForm):
    file = FileField("Lead file (CSV)", validators=[FileRequired("Choose a CSV file first.")])
    encoding = SelectField("Encoding", choices=ENCODINGS, default="")
    delimiter = SelectField("Delimiter", choices=DELIMITER_CHOICES, default="")


class FormatForm(FlaskForm):
    """Override the detected encoding, delimiter or header row of the uploaded file, or
    read the quotes of the lines where a stray quote opens as plain text."""

    encoding = SelectField("Encoding", choices=ENCODINGS)
    delimiter = SelectField("Delimiter", choices=DELIMITER_CHOICES)
    header = BooleanField("First row holds column names")
    literal_quotes = BooleanField("Read stray quotes as plain text")
    format_shown = HiddenField()  # rendered as "1": the boxes above were on the page


class DuplicatesForm(FlaskForm):
    # Choices: Phone, Email, Customer key and the account's custom fields (set by the view).
    match = SelectMultipleField(
        "Match on",
        choices=[("phone1", "Phone"), ("email", "Email"), ("customer_key", "Customer key")],
        default=["phone1"],
        validate_choice=False,
    )
    match_mode = RadioField(
        "With several match keys, a row is a duplicate when",
        choices=[("any", "any of them is equal"), ("all", "all of them are equal")],
        default="any",
        validate_choice=False,
    )
    scope = SelectField(
        "Look for duplicates in",
        default="campaign",
        choices=[
            ("none", "Nowhere (import every valid row)"),
            ("pool", "This pool"),
            ("campaign", "This campaign"),
            ("project", "This project"),
            ("account", "The whole account"),
        ],
    )
    open_only = BooleanField("Only open leads")
    include_inactive = BooleanField(
        "Include inactive leads (deactivated leads and inactive pools)",
        description="Left out, a lead deactivated earlier does not stop the new one.",
    )
    action = SelectField(
        "When a row matches an existing lead",
        default="discard-new",
        choices=[
            *((action, ACTION_LABELS[action]) for action in ACTION_LABELS),
        ],
    )
    update_mode = SelectField(
        "Updating",
        default="overwrite",
        choices=[
            ("overwrite", "Overwrite with the file's values"),
            ("fill-blanks", "Fill blank fields only"),
        ],
    )
    multiple = SelectField(
        "When several existing leads match",
        default="update-all",
        choices=[
            ("update-all", "Update all of them"),
            ("update-newest", "Update the newest"),
            ("create-new", "Create a new lead"),
        ],
    )


class StartForm(FlaskForm):
    notify_me = BooleanField("Email me the summary when the import finishes", default=True)
    notify_emails = StringField("Also email", description="Addresses separated by commas.")
