"""The account's mapping templates: saved header → field mappings with their time-zone
rules and import settings, listed, viewed, renamed and deleted on their own page."""

from __future__ import annotations

import sqlalchemy as sa

from leadapp.domain.names import clean_name
from leadapp.extensions import db
from leadapp.models import MappingTemplate
from leadapp.services import audit

NAME_LENGTH = 120


class TemplateError(ValueError):
    """A refusal, in a sentence for the supervisor."""


class TemplateExists(TemplateError):
    """Saving under a name that is taken: the supervisor is asked before it is overwritten."""

    def __init__(self, template: MappingTemplate):
        super().__init__(
            f"A template named '{template.name}' already exists. Overwrite it with this "
            "mapping, or save under another name."
        )
        self.template = template


def templates() -> list[MappingTemplate]:
    return list(db.session.scalars(sa.select(MappingTemplate).order_by(MappingTemplate.name)))


def _clean_name(name: str) -> str:
    name = clean_name(name)  # as it will be stored
    if not name:
        raise TemplateError("Give the template a name.")
    if len(name) > NAME_LENGTH:
        raise TemplateError(f"A template name has at most {NAME_LENGTH} characters.")
    return name


def _named(name: str) -> MappingTemplate | None:
    return db.session.scalar(sa.select(MappingTemplate).where(MappingTemplate.name == name))


def save(
    name: str,
    mapping: dict,
    rules: list,
    options: dict,
    user_id: int | None,
    *,
    overwrite: bool = False,
) -> MappingTemplate:
    """Save the mapping as the named template. A taken name is overwritten only when the
    supervisor said so (``TemplateExists`` otherwise)."""
    name = _clean_name(name)
    template = _named(name)
    if template is not None and not overwrite:
        raise TemplateExists(template)
    if template is None:
        template = MappingTemplate(name=name, created_by_id=user_id)
        db.session.add(template)
    template.mapping = {h: t for h, t in mapping.items() if t}
    template.timezone_rules = [list(r) for r in rules or []]
    template.options = dict(options)
    db.session.flush()
    return template


def rename(template: MappingTemplate, name: str, user_id: int | None) -> None:
    """Rename; a name another template has is refused."""
    name = _clean_name(name)
    other = _named(name)
    if other is not None and other.id != template.id:
        raise TemplateError(f"Another template is named '{name}'; choose another name.")
    old, template.name = template.name, name
    audit.record(template.account_id, user_id, "template.rename", template, old=old, new=name)
    db.session.flush()


def delete(template: MappingTemplate, user_id: int | None) -> None:
    """Delete the template; imports that used it keep their own copy of the mapping."""
    audit.record(template.account_id, user_id, "template.delete", template, name=template.name)
    db.session.delete(template)
    db.session.flush()
