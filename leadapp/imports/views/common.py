"""What every step of the wizard shares: the steps, the draft guard, the page layout."""

from __future__ import annotations

from pathlib import Path

from flask import abort, flash, redirect, render_template, request, url_for

from leadapp.domain.csv_io import CsvError
from leadapp.extensions import db
from leadapp.models import Import
from leadapp.security import get_or_404
from leadapp.services.imports import read as import_read

from . import bp

STEPS = (
    ("settings", "Settings"),
    ("file", "File"),
    ("mapping", "Mapping"),
    ("duplicates", "Duplicates"),
    ("check", "Check data"),
    ("review", "Review"),
    ("import", "Import"),
)
STEP_ENDPOINT = {
    "settings": "imports.new",
    "file": "imports.file",
    "mapping": "imports.mapping",
    "duplicates": "imports.duplicates",
    "check": "imports.check",
    "review": "imports.review",
    "import": "imports.show",
    "done": "imports.show",
}


def _draft(import_id: int) -> Import:
    """An import still being prepared; a running or finished one goes to its own page."""
    imp = get_or_404(Import, import_id)
    if imp.status not in ("draft", "failed") or imp.step in ("import", "done"):
        abort(409)
    return imp


def _step_url(imp: Import) -> str:
    endpoint = STEP_ENDPOINT[imp.step]
    return url_for(endpoint) if endpoint == "imports.new" else url_for(endpoint, import_id=imp.id)


def _reached(imp: Import, step: str) -> None:
    """Remember the furthest step shown, so "Continue" comes back to it."""
    order = [key for key, _ in STEPS]
    if imp.step in order and order.index(step) > order.index(imp.step):
        imp.step = step
        db.session.commit()


def _wizard(template: str, imp: Import | None, step: str, **context):
    return render_template(template, imp=imp, steps=STEPS, step=step, **context)


@bp.app_errorhandler(409)
def not_a_draft(_exc):
    message = "This import has already started; its page shows where it is."
    if request.htmx:
        return message, 409, {"Content-Type": "text/plain; charset=utf-8"}
    flash(message, "info")
    import_id = (request.view_args or {}).get("import_id")
    return redirect(url_for("imports.show", import_id=import_id) if import_id else "/imports")


def _sniff_or_none(imp: Import):
    """The staged file read as chosen at the file step (None before a file is there)."""
    if not imp.staging_path:
        return None
    try:
        return import_read.sniff_staged(imp)
    except CsvError:
        return None


def _staged_ready(imp: Import) -> bool:
    return bool(imp.staging_path) and (Path(imp.staging_path) / "staged.parquet").exists()
