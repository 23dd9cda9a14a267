"""A short day in a contact centre (bench/day.py, 30 s, a 20,000-row big import): the app as
`make run` starts it, supervisors, a dialer on the API, three imports, ten do-not-call
uploads and a dedup test run and run at once — and afterwards no acknowledged write is
missing from the database, every job ended completed and no response was a 5xx."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

DATABASES = [
    pytest.param(None, id="sqlite"),
    pytest.param(os.environ.get("TEST_DATABASE_URL"), id="postgresql"),
]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("database_url", DATABASES)
def test_a_day_loses_no_write_leaves_no_job_behind_and_answers_no_5xx(database_url, request):
    if request.node.callspec.id == "postgresql" and not database_url:
        pytest.skip("TEST_DATABASE_URL is not set: the PostgreSQL day needs it")
    command = [
        sys.executable, str(ROOT / "bench" / "day.py"),
        "--seconds", "30", "--big-rows", "20000", "--small-rows", "1000", "--leads", "4000",
        "--wait", "300",
    ]  # fmt: skip
    if database_url:
        command += ["--database-url", database_url, "--schema", f"leadapp_day_{os.getpid()}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=840, check=False)
    report = done.stdout[-6000:] + done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("{"), report
    day = json.loads(lines[-1])

    assert day["5xx"] == 0, report
    assert day["lost"] == 0 and day["refused"] == 0, report
    assert day["jobs_not_completed"] == 0 and day["dedup"] == "completed", report
    # The day really happened: every kind of write was made and found.
    for kind in ("outcome", "lead_edit", "wrap_code", "dnc_upload", "import"):
        writes = day["writes"][kind]
        assert writes["acknowledged"] > 0 and writes["found"] == writes["acknowledged"], report
    assert len(day["imports"]) == 3 and all(i["leads"] for i in day["imports"]), report
    assert day["jobs"]["import"] == {"completed": 3}, report
    assert day["jobs"]["dnc_upload"] == {"completed": 10}, report
    assert day["passed"] and done.returncode == 0, report
