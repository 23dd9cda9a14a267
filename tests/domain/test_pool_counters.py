"""What one lead adds to its pool's counters, and the deltas of a change."""

from leadapp.domain.pool_counters import (
    NEW_LEAD,
    adds,
    breakdown_deltas,
    breakdown_keys,
    deltas,
    parse_attempts_key,
)


def lead(pool_id=1, **changes):
    return {**NEW_LEAD, "pool_id": pool_id, "phone1": "+14155550100", **changes}


def test_a_lead_is_ready_below_the_maximum_attempts_only():
    assert adds(lead(dial_attempts=4), 5)["ready"] == 1
    assert adds(lead(dial_attempts=5), 5)["ready"] == 0
    for not_ready in ({"do_not_call": True}, {"completed": True}, {"phone1": None}):
        assert adds(lead(**not_ready), 5) == {
            "total": 1, "open": 1, "ready": 0, "closed": 0, "used": 0,
        }  # fmt: skip
    assert adds(lead(status="closed", call_count=2), 5) == {
        "total": 1, "open": 0, "ready": 0, "closed": 1, "used": 1,
    }  # fmt: skip


def test_deltas_of_new_changed_moved_and_deleted_leads():
    limits = {1: 2}  # pool 2 has no campaign: the default maximum (5)
    changes = [
        (None, lead()),  # new in pool 1
        (lead(dial_attempts=1), lead(dial_attempts=2, call_count=1)),  # reaches pool 1's max
        (lead(dial_attempts=3), lead(pool_id=2, dial_attempts=3)),  # moved: ready in pool 2
        (lead(pool_id=2, status="closed"), None),  # deleted
        (lead(call_count=1), lead(call_count=1)),  # nothing counted changed
    ]
    assert deltas(changes, limits) == {
        1: {"total": 0, "open": 0, "ready": 0, "closed": 0, "used": 1},
        2: {"total": 0, "open": 1, "ready": 1, "closed": -1, "used": 0},
    }
    assert deltas([(lead(), lead(first_name="Ada"))], limits) == {}


def test_breakdown_keys_and_their_deltas():
    ny = {"timezone": "America/New_York", "zone_key": "America/New_York|US|NY"}
    assert breakdown_keys(lead(**ny), 5) == {
        "status": "open", "timezone": "America/New_York", "ready_zone": "America/New_York|US|NY",
        "ready_attempts": "0:America/New_York|US|NY",
    }  # fmt: skip
    # Unknown values count under ''; a closed or completed lead is reopenable, not ready.
    assert breakdown_keys(lead(status="closed"), 5) == {
        "status": "closed", "timezone": "", "reopenable": "",
    }  # fmt: skip
    assert "ready_zone" not in breakdown_keys(lead(dial_attempts=2, **ny), 2)
    # Ready leads by their attempts too: a campaign allowing fewer adds up the keys below.
    assert breakdown_keys(lead(dial_attempts=1), 2)["ready_attempts"] == "1:"
    assert parse_attempts_key("1:") == (1, "")
    assert parse_attempts_key("12:America/New_York|US|NY") == (12, "America/New_York|US|NY")
    changes = [
        (None, lead(**ny)),  # new
        (lead(**ny), lead(timezone="America/Chicago", zone_key="America/Chicago|US|TX")),
        (lead(pool_id=2), None),  # deleted
        (lead(**ny), lead(**ny, call_count=1)),  # nothing a breakdown reads changed
    ]
    # New York: one in (the new lead), one out (the rezoned one).
    assert breakdown_deltas(changes, {}) == {
        (1, "status", "open"): 1,
        (1, "timezone", "America/Chicago"): 1,
        (1, "ready_zone", "America/Chicago|US|TX"): 1,
        (1, "ready_attempts", "0:America/Chicago|US|TX"): 1,
        (2, "status", "open"): -1,
        (2, "timezone", ""): -1,
        (2, "ready_zone", ""): -1,
        (2, "ready_attempts", "0:"): -1,
    }
