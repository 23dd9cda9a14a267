"""The upload wizard: settings → file → mapping → duplicates → check data → review → import.

Every step is a page of its own (reloadable, resumable from ``Import.step``); the check-data
grid, cell edits and the progress bar are htmx partials of those pages. One module per
part of the wizard: ``listing`` (the Imports list, drafts, resume), ``setup`` (settings and
file), ``mapping``, ``checking`` (duplicates and check data), ``running`` (review, the
import's page and its downloads), ``saved_mappings`` (the mapping templates' page)."""

from flask import Blueprint

bp = Blueprint("imports", "leadapp.imports", template_folder="templates")

from . import (  # noqa: E402,F401 (routes)
    checking,
    common,
    listing,
    mapping,
    running,
    saved_mappings,
    setup,
)
