"""Lists managed as lists (issue 17 items 11-12, seed 003): creating a list without a
file, and deleting one with its leads.

Services flush, never commit: the view (or task, or CLI command) commits once."""

from __future__ import annotations

import sqlalchemy as sa

from leadapp.domain.names import clean_name
from leadapp.domain.timezones import is_valid_zone
from leadapp.extensions import db
from leadapp.models import Campaign, Import, Lead, LeadPool, PoolAssignment, User
from leadapp.services import audit
from leadapp.services.pools import DESCRIPTION_MAX, NAME_MAX, PoolError


def create_pool(
    user: User,
    name: str,
    campaign: Campaign,
    *,
    description: str = "",
    timezone: str | None = None,
    owner: User | None = None,
) -> LeadPool:
    """A new, empty list feeding ``campaign`` (to dial, like an imported one), with its
    description, own time zone and owner; leads come later by hand, by the API or by an
    import into it. Refused (``PoolError``) with a sentence: no name, a name another list
    has, a zone that does not exist, a campaign or owner of another account."""
    name = clean_name(name)  # as it will be stored
    description = (description or "").strip()
    if not name:
        raise PoolError("Give the list a name.")
    if len(name) > NAME_MAX:
        raise PoolError(f"A list name can have at most {NAME_MAX} characters.")
    if len(description) > DESCRIPTION_MAX:
        raise PoolError(f"The description can have at most {DESCRIPTION_MAX} characters.")
    if campaign is None or campaign.account_id != user.account_id:
        raise PoolError("Choose one of your campaigns for the list.")
    if owner is not None and owner.account_id != user.account_id:
        raise PoolError("Choose the list's owner among your account's users.")
    zone = (timezone or "").strip() or None
    if zone and not is_valid_zone(zone):
        raise PoolError(f"{zone} is not a time zone; choose one from the list.")
    taken = db.session.scalar(
        sa.select(LeadPool.id).where(sa.func.lower(LeadPool.name) == name.lower())
    )
    if taken:
        raise PoolError(f"Another list is already called {name}; choose another name.")
    pool = LeadPool(
        account_id=user.account_id,
        name=name,
        description=description,
        timezone=zone,
        owner_id=(owner or user).id,
        created_by_id=user.id,
        modified_by_id=user.id,
    )
    db.session.add(pool)
    db.session.flush()
    db.session.add(
        PoolAssignment(account_id=user.account_id, pool_id=pool.id, campaign_id=campaign.id)
    )
    audit.record(user.account_id, user.id, "pool.created", pool, campaign=campaign.name)
    db.session.flush()
    return pool


def lead_count(pool: LeadPool) -> int:
    """Its leads, counted now (not the stored counter): what deleting it would delete."""
    return db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == pool.id)) or 0


def why_not_deletable(pool: LeadPool) -> str | None:
    """The sentence refusing to delete ``pool``, or None when it may go: never the system
    Inactive pool, never a list a campaign dials (seed 003), never while an import is
    writing into it."""
    if pool.is_system:
        return (
            f"{pool.name} is the system pool: the Lead Deduplicator moves duplicates there "
            "and its history depends on it, so it cannot be deleted."
        )
    dialled_by = db.session.scalars(
        sa.select(Campaign.name)
        .join(PoolAssignment, PoolAssignment.campaign_id == Campaign.id)
        .where(PoolAssignment.pool_id == pool.id, PoolAssignment.to_dial.is_(True))
        .order_by(Campaign.name)
    ).all()
    if dialled_by:
        names = ", ".join(dialled_by)
        which = "campaign" if len(dialled_by) == 1 else "campaigns"
        return (
            f"{pool.name} is to dial in the {which} {names}: take it off dialling there "
            "(the campaign's page, Pools) before deleting it."
        )
    writing = db.session.scalar(
        sa.select(Import.id).where(
            Import.pool_id == pool.id, Import.status.in_(("queued", "running"))
        )
    )
    if writing:
        return (
            f"Import #{writing} is writing leads into {pool.name}; wait until it has "
            "finished, then delete the list."
        )
    return None


def delete_pool(pool: LeadPool, user: User, confirmed_leads: int | None) -> int:
    """Delete the list with its leads and their call history (one DELETE; the database
    cascades to leads, calls and assignments); returns how many leads went. Refused
    (``PoolError``) for the reasons of ``why_not_deletable``, and when the count the
    person confirmed is no longer the list's count (leads arrived or left meanwhile)."""
    reason = why_not_deletable(pool)
    if reason:
        raise PoolError(reason)
    leads = lead_count(pool)
    if confirmed_leads != leads:
        raise PoolError(
            f"{pool.name} now has {leads:,} lead{'s' if leads != 1 else ''}, not the "
            f"{confirmed_leads or 0:,} you confirmed; look at the count and confirm again."
        )
    audit.record(
        user.account_id, user.id, "pool.deleted", pool,
        name=pool.name, leads=leads, source_file=pool.source_file_name,
    )  # fmt: skip
    db.session.execute(
        sa.delete(LeadPool)
        .where(LeadPool.id == pool.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expunge(pool)
    db.session.flush()
    return leads
