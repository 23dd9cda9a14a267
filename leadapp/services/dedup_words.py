"""A dedup job's settings in the words of the schedule page, for its emails and pages:
never an internal name (``phone1``, ``latest-created``)."""

from __future__ import annotations

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Campaign, DedupJob, FieldDefinition, LeadPool

KEY_WORDS = {
    "phone1": "Phone 1",
    "phones": "any phone (Phone 1 to Phone 5)",
    "email": "Email",
    "customer_key": "Customer key",
}
KEEP_WORDS = {
    "latest-created": "the most recently created lead of each group",
    "latest-called": "the most recently called lead of each group",
    "inbound": "the inbound lead of each group",
}
SCOPE_WORDS = {"campaign": "campaigns", "list": "lead pools", "purpose": "campaign purposes"}


def key_words(key: str) -> str:
    """A match key as the page names it (a custom field by its label)."""
    if key in KEY_WORDS:
        return KEY_WORDS[key]
    if key.startswith("custom:"):
        name = key[len("custom:") :]
        label = db.session.scalar(
            sa.select(FieldDefinition.label).where(FieldDefinition.key == name)
        )
        return label or name
    return key


def scope(job: DedupJob) -> str:
    """ "The whole account", or "campaigns: Spring, Summer"."""
    if job.scope == "account":
        return "the whole account"
    targets = list(job.targets or [])
    if job.scope == "purpose":
        names = [str(t) for t in targets]
    else:
        model = Campaign if job.scope == "campaign" else LeadPool
        ids = [int(t) for t in targets if str(t).isdigit()]
        found = dict(
            db.session.execute(sa.select(model.id, model.name).where(model.id.in_(ids))).all()
        )
        names = [found.get(i, f"#{i} (deleted)") for i in ids]
    return f"{SCOPE_WORDS.get(job.scope, job.scope)}: {', '.join(names) or '—'}"


def matching(job: DedupJob) -> str:
    keys = [key_words(k) for k in (job.match_keys or ["phone1"])]
    if len(keys) == 1:
        return f"leads with the same {keys[0]}"
    if getattr(job, "match_mode", "all") == "any":
        return f"leads with the same {' or the same '.join(keys)} (any of them)"
    return f"leads with the same {' and the same '.join(keys)} (all of them)"


def keeping(job: DedupJob) -> str:
    words = KEEP_WORDS.get(job.keep_rule, job.keep_rule)
    if job.retain_inbound:
        words += "; inbound leads are always kept"
    return words


def target(job: DedupJob) -> str:
    pool = db.session.get(LeadPool, job.target_pool_id) if job.target_pool_id else None
    return f"the pool {pool.name}" if pool else "the account's Inactive pool"
