"""What one lead adds to its pool's counters, and the deltas of a change."""

from leadapp.domain.pool_counters import NEW_LEAD, adds, deltas


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
