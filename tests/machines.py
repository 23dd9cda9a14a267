"""Settings of the model-based tests (Hypothesis state machines): the database under test
runs each step, so the examples are few and long, never time-limited, and none is stored."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def machine_settings(examples: int, steps: int, *, on_postgresql: int | None = None) -> settings:
    """``examples`` random sequences of up to ``steps`` steps. ``on_postgresql``: fewer in
    CI's PostgreSQL pass, for a machine whose rules do not depend on the database (the
    SQLite pass has run all of them)."""
    if on_postgresql is not None and os.environ.get("TEST_DATABASE_URL"):
        examples = on_postgresql
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
