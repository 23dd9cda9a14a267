"""A Lead Deduplicator job's settings (scope, match keys, keep rule) and the error every
refusal of the deduplicator raises."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from leadapp.domain.duplicates import MATCH_MODES
from leadapp.extensions import db
from leadapp.models import DedupJob, FieldDefinition
from leadapp.models.dedup import DEDUP_SCOPES, KEEP_RULES

# Match keys a job can use; "phones" = any of the five phone fields (E.164).
MATCH_KEYS = ("phone1", "phones", "email", "customer_key")
RULE_WORDS = {
    "latest-created": "the most recently created lead is kept",
    "latest-called": "the most recently called lead is kept",
    "inbound": "the inbound lead is kept",
}


class DedupError(ValueError):
    """A dedup job cannot be tested, run or undone; the message says why and what to do."""


@dataclasses.dataclass
class DedupSettings:
    scope: str = "account"
    targets: list = dataclasses.field(default_factory=list)
    match_keys: list[str] = dataclasses.field(default_factory=lambda: ["phone1"])
    # Several keys: a duplicate when "any" one of them is equal (the default) or "all".
    match_mode: str = "any"
    keep_rule: str = "latest-created"
    retain_inbound: bool = False

    @classmethod
    def of(cls, job: DedupJob) -> DedupSettings:
        return cls(
            scope=job.scope,
            targets=list(job.targets or []),
            match_keys=list(job.match_keys or ["phone1"]),
            match_mode=job.match_mode or "any",
            keep_rule=job.keep_rule,
            retain_inbound=bool(job.retain_inbound),
        ).check()

    def check(self) -> DedupSettings:
        """Refuse settings that cannot describe a run, in one sentence each."""
        if self.scope not in DEDUP_SCOPES:
            raise DedupError(f"The scope must be one of: {', '.join(DEDUP_SCOPES)}.")
        if self.scope != "account" and not self.targets:
            raise DedupError(f"Choose at least one {self.scope} for the lead scope.")
        if self.keep_rule not in KEEP_RULES:
            raise DedupError(f"The keep rule must be one of: {', '.join(KEEP_RULES)}.")
        keys = [k.strip() for k in self.match_keys if k and k.strip()]
        if not keys:
            raise DedupError("Choose at least one match key (phone, email or customer key).")
        for key in keys:
            if key not in MATCH_KEYS and not key.startswith("custom:"):
                raise DedupError(
                    f"'{key}' is not a match key: use phone1, phones, email, customer_key "
                    "or custom:<field>."
                )
        if self.match_mode not in MATCH_MODES:
            raise DedupError("Several match keys match on any of them or on all of them.")
        if len(set(keys)) != len(keys):
            raise DedupError("Each match key can be chosen once.")
        if "phones" in keys and len(keys) > 1 and self.match_mode == "all":
            raise DedupError(
                "Any phone cannot be combined with other keys when all of them must be equal; "
                "match on any of them instead."
            )
        custom = [k.split(":", 1)[1] for k in keys if k.startswith("custom:")]
        if custom:
            known = set(
                db.session.scalars(
                    sa.select(FieldDefinition.key).where(FieldDefinition.key.in_(custom))
                )
            )
            missing = [c for c in custom if c not in known]
            if missing:
                raise DedupError(
                    f"There is no custom field {', '.join(missing)} to match on; add it under "
                    "Admin → Lead fields or choose another match key."
                )
        self.match_keys = keys
        return self

    @property
    def several(self) -> bool:
        """More than one key: the mode matters."""
        return len(self.match_keys) > 1

    def describe(self) -> str:
        inbound = "; inbound leads are always kept" if self.retain_inbound else ""
        words = match_words(self.match_keys, self.match_mode)
        return f"{words}; {RULE_WORDS[self.keep_rule]}{inbound}"


KEY_WORDS = {
    "phone1": "Phone 1",
    "phones": "Any phone",
    "email": "Email",
    "customer_key": "Customer key",
}


def key_words(key: str) -> str:
    """A match key as a supervisor reads it (a custom field by its label)."""
    if key in KEY_WORDS:
        return KEY_WORDS[key]
    if key.startswith("custom:"):
        label = db.session.scalar(
            sa.select(FieldDefinition.label).where(FieldDefinition.key == key.split(":", 1)[1])
        )
        return label or key.split(":", 1)[1]
    return key


def match_words(keys: list[str], mode: str = "any") -> str:
    """``a lead is a duplicate when any of: Phone 1, Email`` (one key: ``when its Email is
    equal``)."""
    names = [key_words(k) for k in keys]
    if len(names) == 1:
        return f"a lead is a duplicate when its {names[0]} is equal"
    return f"a lead is a duplicate when {mode} of: {', '.join(names)}"
