"""Leads: by pool and across a campaign, quick and advanced search, a column chooser,
add / edit / wrap code / copy / delete, call history; the do-not-call list.

Lead data is validated by ``services.leads`` (the import engine's rules); these views
only carry it and show what the service said. One module per part: ``search`` (the
Leads page), ``editing`` (add, edit), ``lead`` (one lead's page and actions), ``dnc``
(the do-not-call list); ``common`` holds what they share."""

from flask import Blueprint

bp = Blueprint("leads", "leadapp.leads", template_folder="templates")

from . import bulk, dnc, editing, lead, search  # noqa: E402,F401 (routes)
