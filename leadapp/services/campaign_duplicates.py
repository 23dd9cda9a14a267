"""A campaign's duplicate rules for leads created through the API.

Business rules: a lead a script or CRM sends to a campaign is checked for duplicates as an
upload is (``imports.DuplicateSettings``): match keys (phone, email, customer key, custom
fields; several keys match on any of them unless "all of them" is chosen), the scope
searched, whether only open leads and whether inactive pools count, the action when it
matches, how an update treats the existing lead's values (the conflict policy: overwrite
or fill blanks only) and what happens when several existing leads match (update all,
update the newest, or create a new lead; more than 3 matches only notify). A campaign
that never set them uses the import's defaults: match Phone 1 in this campaign and
discard the new lead. Set on the campaign's page and with ``flask campaigns create/edit``;
``GET /api/v1/campaigns/<code>`` shows them.
"""

from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Campaign, FieldDefinition
from leadapp.services import audit
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import errors as import_errors

__all__ = ["RULE_KEYS", "RulesError", "api_rules", "describe", "set_api_rules"]

RULE_KEYS = tuple(import_duplicates.DuplicateSettings.__dataclass_fields__)
ACTION_WORDS = import_duplicates.ACTION_WORDS
MULTIPLE_WORDS = {
    "update-all": "when several existing leads match, all of them",
    "update-newest": "when several existing leads match, only the newest",
    "create-new": "when several existing leads match, a new lead is created instead",
}
UPDATE_WORDS = {
    "overwrite": "an update overwrites the existing values",
    "fill-blanks": "an update fills blank fields only",
}


class RulesError(ValueError):
    """Duplicate rules the engine cannot follow; one sentence an admin can act on."""


def api_rules(campaign: Campaign) -> dict:
    """The rules the API follows for ``campaign``: what was set, over the defaults.
    (Rules saved before several keys had a mode matched on all of them.)"""
    stored = dict(campaign.api_duplicate_options or {})
    if "keys" in stored and "match" not in stored:
        stored["match"] = stored.pop("keys")
    if isinstance(stored.get("match"), str):
        stored["match"] = [m.strip() for m in stored["match"].split(",") if m.strip()]
    if len(stored.get("match") or []) > 1:
        stored.setdefault("match_mode", "all")
    rules = asdict(import_duplicates.DuplicateSettings())
    rules.update({k: v for k, v in stored.items() if k in RULE_KEYS})
    return rules


def checked(rules: dict) -> dict:
    """``rules`` (every key optional) as the engine's complete settings, or a refusal."""
    unknown = sorted(set(rules) - set(RULE_KEYS))
    if unknown:
        raise RulesError(
            f"Unknown duplicate rule(s) {', '.join(unknown)}; use {', '.join(RULE_KEYS)}."
        )
    values = dict(rules)
    match = values.get("match")
    if isinstance(match, str):
        match = match.split(",")
    if match is not None:
        values["match"] = import_duplicates.match_keys_named(match)
    for flag in ("open_only", "include_inactive"):
        if flag in values:
            values[flag] = bool(values[flag])
    try:
        settings = import_duplicates.DuplicateSettings(**values).check()
    except (import_errors.ImportError_, TypeError) as exc:
        raise RulesError(str(exc)) from None
    custom = {f.key for f in db.session.scalars(sa.select(FieldDefinition))}
    for key in settings.match:
        if import_duplicates.is_custom_key(key) and import_duplicates.key_field(key) not in custom:
            raise RulesError(
                f"There is no custom field {import_duplicates.key_field(key)}; add it under "
                "Admin → Lead fields or match on another key."
            )
    return asdict(settings)


def set_api_rules(campaign: Campaign, rules: dict, *, user_id: int | None) -> dict:
    """Change the campaign's API duplicate rules (only the keys given; the others keep
    their current value). Returns the changes ``{rule: [before, after]}``, audited."""
    before = api_rules(campaign)
    after = checked({**before, **rules})
    changes = {k: [before[k], after[k]] for k in RULE_KEYS if before[k] != after[k]}
    if changes or campaign.api_duplicate_options != after:
        campaign.api_duplicate_options = after
        db.session.flush()
    if changes:
        audit.record(
            campaign.account_id, user_id, "campaign.api_duplicates", campaign, changes=changes
        )
    return changes


def describe(rules: dict) -> list[str]:
    """The rules in words, e.g. ``A lead is a duplicate when any of: Phone, Email``."""
    words = import_duplicates.match_words(rules["match"], rules.get("match_mode", "any"))
    if rules["scope"] == "none":
        return ["No duplicate search: every valid lead is created."]
    extra = []
    if rules.get("open_only"):
        extra.append("open leads only")
    if rules.get("include_inactive"):
        extra.append("inactive pools included")
    lines = [
        words[0].upper() + words[1:] + ".",
        "Duplicates are looked for "
        + import_duplicates.SCOPE_WORDS[rules["scope"]]
        + (f" ({', '.join(extra)})" if extra else "")
        + ".",
        "When a lead matches: " + ACTION_WORDS[rules["action"]] + ".",
    ]
    if rules["action"] == "update-existing":
        lines.append(UPDATE_WORDS[rules["update_mode"]].capitalize() + ".")
    if rules["action"] in (
        "update-existing",
        "move-existing",
        "deactivate-existing",
        "remove-existing",
    ):
        lines.append(MULTIPLE_WORDS[rules["multiple"]].capitalize() + "; more than 3 only notify.")
    return lines
