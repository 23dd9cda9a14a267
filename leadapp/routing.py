"""Numbers in URLs. Every ``<int:...>`` in LeadApp's routes names a database id (or a row
number), and those are INTEGER columns (32-bit on PostgreSQL): a larger number names
nothing. ``?page=`` is bounded too."""

from __future__ import annotations

from flask import request
from werkzeug.routing import IntegerConverter

from leadapp.models.base import ID_MAX

# No list has this many pages; the offset it gives still fits a 64-bit integer.
PAGE_MAX = 10**9


def page_arg() -> int:
    """The page asked for by ``?page=``: 1 when missing or not a number, at most PAGE_MAX
    (a page past the end shows no rows, never a database error)."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), PAGE_MAX)


class IdConverter(IntegerConverter):
    """``<int:...>``: digits up to ID_MAX (2**31 - 1); a larger number answers 404 like any
    id that names no object, instead of reaching the database and failing there."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Register the converters; before the blueprints, whose rules use them."""
    app.url_map.converters["int"] = IdConverter
