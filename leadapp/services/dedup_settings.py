"""A Lead Deduplicator job's settings (scope, match keys, keep rule) and the error every
refusal of the deduplicator raises."""

from __future__ import annotations

import dataclasses

from leadapp.models import DedupJob
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
    keep_rule: str = "latest-created"
    retain_inbound: bool = False

    @classmethod
    def of(cls, job: DedupJob) -> DedupSettings:
        return cls(
            scope=job.scope,
            targets=list(job.targets or []),
            match_keys=list(job.match_keys or ["phone1"]),
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
        if "phones" in keys and len(keys) > 1:
            raise DedupError("Matching on any phone cannot be combined with other keys.")
        self.match_keys = keys
        return self

    def describe(self) -> str:
        keys = " + ".join(self.match_keys)
        inbound = "; inbound leads are always kept" if self.retain_inbound else ""
        return f"matched on {keys}; {RULE_WORDS[self.keep_rule]}{inbound}"
