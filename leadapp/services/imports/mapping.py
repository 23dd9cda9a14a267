"""The mapping step between read and stage: which column fills which lead field (suggested
from the account's earlier imports, names and values), checked with the duplicate rules;
named mapping templates."""

from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa

from leadapp.domain import csv_io
from leadapp.domain.columns import FULL_NAME, suggest_mapping
from leadapp.domain.timezones import check_rules
from leadapp.extensions import db
from leadapp.models import Import, MappingTemplate
from leadapp.services.imports.duplicates import DuplicateSettings, key_field
from leadapp.services.imports.errors import ImportError_
from leadapp.services.imports.fields import _targets, field_definitions, import_region
from leadapp.services.imports.read import sniff_staged

SUGGEST_SAMPLE_ROWS = 1000  # rows read to rank the phone columns at the mapping step


def suggest(imp: Import, info: csv_io.Sniff) -> dict[str, str | None]:
    """Mapping suggestions: the account's earlier mappings first, then names and values."""
    history: dict[str, str] = {}
    earlier = db.session.scalars(
        sa.select(Import.mapping)
        .where(Import.id != imp.id, Import.status == "completed")
        .order_by(Import.created_at.desc())
        .limit(20)
    )
    from leadapp.domain.columns import normalise_header

    # "Column 1" of one file without names says nothing about "Column 1" of another.
    for mapping in earlier if info.has_header else ():
        for header, target in (mapping or {}).items():
            if target and isinstance(target, str):
                history.setdefault(normalise_header(header), target)
    # Phone 1 goes to the column with the most valid numbers: count them on more rows
    # than the page previews.
    sample = sniff_staged(imp, preview_rows=SUGGEST_SAMPLE_ROWS) if imp.staging_path else info
    return dict(
        suggest_mapping(
            info.headers,
            sample.preview,
            field_definitions(),
            history=history,
            region=import_region(imp),
        )
    )


def check_mapping(
    imp: Import, mapping: dict, headers: list[str], timezone_rules: list | None = None
) -> None:
    """Refuse a mapping without a phone, naming a column the file lacks or an unknown field,
    or with a time-zone rule whose zone does not exist."""
    missing = [h for h, target in mapping.items() if target and h not in headers]
    if missing:
        raise ImportError_(
            f"The mapping names column(s) {', '.join(repr(m) for m in missing)} "
            "that this file does not have; pick the columns again."
        )
    targets = _targets(mapping)
    known = {f.key for f in field_definitions()}
    unknown = sorted(set(targets) - known)
    if unknown:
        raise ImportError_(f"There is no lead field {', '.join(unknown)}; add it under Admin.")
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        labels = {f.key: f.label for f in field_definitions()}
        names = " and ".join(labels.get(t, t) for t in doubled)
        full = (
            " (a full name fills the first and last name)" if FULL_NAME in mapping.values() else ""
        )
        raise ImportError_(f"Two columns are mapped to {names}{full}; keep one of them.")
    if "phone1" not in targets:
        raise ImportError_(
            "Map a column to the phone field Phone 1: it is the number that is "
            "dialled and checked for duplicates."
        )
    try:
        check_rules(timezone_rules or [])
    except ValueError as exc:
        raise ImportError_(str(exc)) from exc


def set_mapping(
    imp: Import,
    mapping: dict[str, str | list[str] | None],
    headers: list[str],
    timezone_rules: list | None = None,
    duplicates: DuplicateSettings | None = None,
) -> None:
    """Keep a checked mapping and duplicate settings; the match keys must be mapped."""
    check_mapping(imp, mapping, headers, timezone_rules)
    targets = _targets(mapping)
    duplicates = (duplicates or DuplicateSettings()).check()
    labels = {f.key: f.label for f in field_definitions()}
    for key in duplicates.match:
        name = key_field(key)
        if name not in labels and key != "phone1":
            raise ImportError_(f"There is no lead field {name} to match duplicates on.")
        if duplicates.scope != "none" and name not in targets and key != "phone1":
            raise ImportError_(
                f"Duplicates are matched on {labels[name]}, so map a column to {labels[name]}."
            )
    imp.mapping = mapping
    imp.timezone_rules = [list(r) for r in (timezone_rules or [])]
    imp.duplicate_settings = asdict(duplicates)
    imp.step = "check"
    db.session.flush()


def save_template(name: str, mapping: dict, rules: list, user_id: int | None) -> MappingTemplate:
    """Save (or update) the named mapping template of the account."""
    name = name.strip()[:120]
    if not name:
        raise ImportError_("Give the template a name.")
    template = db.session.scalar(sa.select(MappingTemplate).where(MappingTemplate.name == name))
    if template is None:
        template = MappingTemplate(name=name, created_by_id=user_id)
        db.session.add(template)
    template.mapping = {h: t for h, t in mapping.items() if t}
    template.timezone_rules = rules
    db.session.flush()
    return template
