"""A lead's change log in sentences: what people, scripts and imports did to it (the audit
log) and what the Lead Deduplicator did (moved it as a duplicate, put it back on undo,
kept it as the golden record and what it inherited), each run named with a link."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from leadapp.domain.fields import STANDARD_FIELDS
from leadapp.extensions import db
from leadapp.models import (
    AuditLog,
    DedupGoldenChange,
    DedupJob,
    DedupMove,
    FieldDefinition,
    Lead,
    LeadPool,
    User,
)
from leadapp.services import dedup_words, wrap_codes

LIMIT = 50
SYSTEM = "system / API"
DEDUPLICATOR = "Lead Deduplicator"
CREATED_OUTCOME = {
    "created": "",
    "notified": "; it matches existing leads {matches}, which were left as they are",
    "deactivated": "; the existing leads it matches ({matches}) were deactivated",
    "removed": "; the existing leads it matches ({matches}) were set to removed",
}


@dataclass
class Entry:
    """One line of the log: when (UTC), who, what happened in a sentence, and a link to
    where it happened (a dedup job's report) when there is one."""

    at: dt.datetime
    who: str
    what: str
    link: tuple[str, str] | None = None  # (words, path)


def _labels() -> dict[str, str]:
    labels = {f.key: f.label for f in STANDARD_FIELDS}
    for key, label in db.session.execute(sa.select(FieldDefinition.key, FieldDefinition.label)):
        labels[key] = label
    return labels


def _value(value) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    return str(value)


def _leads(ids) -> str:
    return ", ".join(f"#{i}" for i in ids or []) or "—"


def _when(text: str | None, zone: str) -> str:
    if not text:
        return "—"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _pool_name(pool_id, pools: dict[int, str]) -> str:
    return pools.get(pool_id, f"#{pool_id}") if pool_id else "—"


def audit_sentence(entry: AuditLog, zone: str, labels, pools) -> str:
    """One audit entry about a lead, as a sentence (never a raw dict)."""
    d = entry.details or {}
    action = entry.action
    if action == "lead.created":
        outcome = CREATED_OUTCOME.get(d.get("outcome", "created"), "")
        source = d.get("source")
        return (
            f"Created in the pool {_pool_name(d.get('pool_id'), pools)}"
            + (f" (source: {source})" if source else "")
            + outcome.format(matches=_leads(d.get("matches")))
            + "."
        )
    if action == "lead.updated":
        changes = d.get("changes") or {}
        if not changes:
            return "Saved without changes."
        parts = [
            f"{labels.get(k, k)} from {_value(v[0])} to {_value(v[1])}"
            if isinstance(v, list) and len(v) == 2
            else f"{labels.get(k, k)}: {_value(v)}"
            for k, v in changes.items()
        ]
        return "Changed " + "; ".join(parts) + "."
    if action == "lead.wrap_code":
        code = d.get("wrap_code") or "no wrap code"
        effect = wrap_codes.EFFECT_TEXT.get(d.get("effect", ""), "")
        before = (d.get("before") or {}).get("wrap_code")
        text = f"Wrap code set to {code}" + (f" (was {before})" if before else "")
        if effect:
            text += f": {effect[0].lower()}{effect[1:]}"
        if d.get("callback_at"):
            text += f", callback at {_when(d['callback_at'], zone)}"
        return text + "."
    if action == "lead.interaction":
        parts = [f"{d.get('direction', 'outbound').capitalize()} call recorded"]
        if d.get("outcome"):
            parts.append(f"outcome {d['outcome']}")
        if d.get("wrap_code"):
            parts.append(f"wrap code {d['wrap_code']}")
        return ", ".join(parts) + "."
    if action == "lead.copied":
        target = _pool_name(d.get("target_pool_id"), pools)
        if d.get("copy_id"):
            return f"Copied to the pool {target} as lead #{d['copy_id']}."
        return f"Copied onto {_leads(d.get('updated'))} in the pool {target} (same customer key)."
    words = action.replace(".", " ").replace("_", " ").capitalize()
    details = "; ".join(f"{labels.get(k, k.replace('_', ' '))}: {_value(v)}" for k, v in d.items())
    return f"{words}" + (f": {details}" if details else "") + "."


def _golden_sentence(change: DedupGoldenChange) -> str:
    got = []
    if change.new_do_not_call and not change.was_do_not_call:
        got.append("do-not-call")
    if change.new_completed and not change.was_completed:
        got.append("completed")
    if change.new_status != change.was_status:
        got.append(f"status {change.new_status}")
    if change.new_callback_at and not change.was_callback_at:
        got.append("a callback")
    if change.new_call_count != change.was_call_count:
        got.append(f"{change.new_call_count - change.was_call_count} calls")
    return ", ".join(got) or "nothing"


def history(lead: Lead, zone: str) -> list[Entry]:
    """The lead's log, newest first (at most ``LIMIT`` of each source)."""
    audit = list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.object_type == "Lead", AuditLog.object_id == lead.id)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(LIMIT)
        )
    )
    moves = list(
        db.session.scalars(
            sa.select(DedupMove)
            .where(sa.or_(DedupMove.lead_id == lead.id, DedupMove.golden_lead_id == lead.id))
            .order_by(DedupMove.id.desc())
            .limit(LIMIT)
        )
    )
    golden = list(
        db.session.scalars(
            sa.select(DedupGoldenChange)
            .where(DedupGoldenChange.lead_id == lead.id)
            .order_by(DedupGoldenChange.id.desc())
            .limit(LIMIT)
        )
    )
    job_ids = {m.dedup_job_id for m in moves} | {g.dedup_job_id for g in golden}
    jobs = {
        j.id: j for j in db.session.scalars(sa.select(DedupJob).where(DedupJob.id.in_(job_ids)))
    }
    user_ids = {a.user_id for a in audit if a.user_id}
    users = {u.id: u.name for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))}
    pools = dict(db.session.execute(sa.select(LeadPool.id, LeadPool.name)).all())
    labels = _labels()
    out = [
        Entry(a.at, users.get(a.user_id, SYSTEM), audit_sentence(a, zone, labels, pools))
        for a in audit
    ]

    def job_link(job_id: int) -> tuple[str, str]:
        job = jobs.get(job_id)
        name = job.name if job else f"#{job_id}"
        return (f"Dedup job {name}: report", f"/dedup/{job_id}/report")

    def job_name(job_id: int) -> str:
        job = jobs.get(job_id)
        return f"“{job.name}”" if job else f"#{job_id}"

    kept: dict[int, list[DedupMove]] = {}
    for m in moves:
        if m.lead_id != lead.id:
            kept.setdefault(m.dedup_job_id, []).append(m)
            continue
        name = job_name(m.dedup_job_id)
        joiner = " or " if "|" in (m.matched_on or "") else " and "
        keys = (m.matched_on or "").replace("|", "+").split("+")
        on = joiner.join(dedup_words.key_words(k.strip()) for k in keys if k.strip())
        what = (
            f"Moved from the pool {_pool_name(m.from_pool_id, pools)} to Inactive by the "
            f"dedup job {name}: a duplicate of lead #{m.golden_lead_id}"
            + (f" (same {on})" if on else "")
            + (f"; {m.reason}" if m.reason else "")
            + "."
        )
        out.append(Entry(m.moved_at, DEDUPLICATOR, what, job_link(m.dedup_job_id)))
        if m.undone_at:
            back = (
                f"Put back in the pool {_pool_name(m.from_pool_id, pools)}: the dedup job "
                f"{name} was undone."
            )
            out.append(Entry(m.undone_at, DEDUPLICATOR, back, job_link(m.dedup_job_id)))
    for job_id, copies in kept.items():
        what = (
            f"Kept as the golden record by the dedup job {job_name(job_id)}; its "
            f"{'duplicate' if len(copies) == 1 else 'duplicates'} "
            f"{_leads(sorted(c.lead_id for c in copies))} moved to Inactive."
        )
        at = max(c.moved_at for c in copies)
        out.append(Entry(at, DEDUPLICATOR, what, job_link(job_id)))
    for g in golden:
        job = jobs.get(g.dedup_job_id)
        at = (job.completed_at or job.updated_at) if job else lead.updated_at
        what = (
            f"Inherited from its duplicates by the dedup job {job_name(g.dedup_job_id)}: "
            f"{_golden_sentence(g)}."
        )
        out.append(Entry(at, DEDUPLICATOR, what, job_link(g.dedup_job_id)))
    out.sort(key=lambda e: e.at or dt.datetime.min, reverse=True)
    return out[:LIMIT]
