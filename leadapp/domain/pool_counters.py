"""What one lead adds to its pool's counters (pure: no database).

A pool's counters are sums over its leads of what each lead adds: the lead itself (total),
open, closed, called at least once (used), and "ready to dial apart from the time" — open,
not completed, not on the do-not-call list, with a phone, and below the maximum attempts
of the campaigns that dial the pool. A change to a lead moves its pool's counters by what
the lead adds after the change minus what it added before (the lead's pool may change
too: then one pool loses and the other gains)."""

from __future__ import annotations

from collections.abc import Mapping

# The lead's columns the counters read; a change to any other column moves no counter.
COUNTED = (
    "pool_id", "status", "completed", "do_not_call", "phone1", "dial_attempts", "call_count",
    "timezone", "zone_key",
)  # fmt: skip
# What a new lead has when the column was not given (the model's defaults).
NEW_LEAD = {
    "status": "open",
    "completed": False,
    "do_not_call": False,
    "phone1": None,
    "dial_attempts": 0,
    "call_count": 0,
    "timezone": None,
    "zone_key": None,
}
COUNTERS = ("total", "open", "ready", "closed", "used")
# The breakdowns kept beside the counters (``models.PoolBreakdown``): per kind, the key a
# lead counts under, or None where it does not count.
BREAKDOWNS = ("status", "timezone", "ready_zone", "ready_attempts", "reopenable")
# Without a campaign that dials the pool: a new campaign's maximum attempts.
DEFAULT_MAX_ATTEMPTS = 5


def is_ready(lead: Mapping, max_attempts: int) -> bool:
    """Ready to dial apart from the time of day and the pool's schedule: open, not
    completed, not do-not-call, with a phone, fewer attempts than the campaign allows."""
    return (
        lead["status"] == "open"
        and not lead["completed"]
        and not lead["do_not_call"]
        and lead["phone1"] is not None
        and (lead["dial_attempts"] or 0) < max_attempts
    )


def adds(lead: Mapping, max_attempts: int) -> dict[str, int]:
    """What ``lead`` (its ``COUNTED`` columns) adds to its pool's counters."""
    return {
        "total": 1,
        "open": int(lead["status"] == "open"),
        "ready": int(is_ready(lead, max_attempts)),
        "closed": int(lead["status"] == "closed"),
        "used": int((lead["call_count"] or 0) > 0),
    }


def attempts_key(attempts: int, zone_key: str | None) -> str:
    """The "ready_attempts" key of a ready lead: its attempts, then its zone key."""
    return f"{attempts}:{zone_key or ''}"


def parse_attempts_key(key: str) -> tuple[int, str]:
    """(attempts, zone key, '' for none) of a "ready_attempts" key."""
    attempts, _, zone = key.partition(":")
    return int(attempts), zone


def breakdown_keys(lead: Mapping, max_attempts: int) -> dict[str, str]:
    """Per breakdown, the key ``lead`` counts under ('' for an unknown value): its status,
    its time zone, its zone key when ready, its attempts and zone key when ready (a
    campaign allowing fewer attempts than the pool's limit adds up the keys below its own:
    the campaign page), and '' in "reopenable" when it is completed or closed (what
    "Reset" would reopen). A breakdown the lead is not in is left out."""
    keys = {"status": lead["status"], "timezone": lead["timezone"] or ""}
    if is_ready(lead, max_attempts):
        keys["ready_zone"] = lead["zone_key"] or ""
        keys["ready_attempts"] = attempts_key(lead["dial_attempts"] or 0, lead["zone_key"])
    if lead["completed"] or lead["status"] == "closed":
        keys["reopenable"] = ""
    return keys


Change = tuple[Mapping | None, Mapping | None]


def _signed(changes: list[Change], limits: Mapping[int, int]):
    """(-1, the lead before, its pool's limit) and (+1, the lead after, its pool's limit)
    of each change, skipping the side that does not exist."""
    for sign, index in ((-1, 0), (1, 1)):
        for change in changes:
            lead = change[index]
            if lead is not None:
                yield sign, lead, limits.get(lead["pool_id"], DEFAULT_MAX_ATTEMPTS)


def breakdown_deltas(
    changes: list[Change], limits: Mapping[int, int]
) -> dict[tuple[int, str, str], int]:
    """Per (pool, breakdown, key), how many leads it gains (or loses, negative) for
    ``changes`` (as in ``deltas``). Keys that do not move are left out."""
    out: dict[tuple[int, str, str], int] = {}
    for sign, lead, limit in _signed(changes, limits):
        for kind, key in breakdown_keys(lead, limit).items():
            where = (lead["pool_id"], kind, key)
            out[where] = out.get(where, 0) + sign
    return {k: moved for k, moved in out.items() if moved}


def deltas(changes: list[Change], limits: Mapping[int, int]) -> dict[int, dict[str, int]]:
    """Per pool, how much each counter moves for ``changes`` — (before, after) pairs of a
    lead's columns, None for a lead that did not exist before (new) or after (deleted).
    ``limits``: each pool's maximum attempts. Pools whose counters do not move are left
    out."""
    out: dict[int, dict[str, int]] = {}
    for sign, lead, limit in _signed(changes, limits):
        moved = out.setdefault(lead["pool_id"], dict.fromkeys(COUNTERS, 0))
        for key, value in adds(lead, limit).items():
            moved[key] += sign * value
    return {pool: moved for pool, moved in out.items() if any(moved.values())}
