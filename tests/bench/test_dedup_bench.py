"""The Lead Deduplicator benchmark still runs and still checks its counts against the truth
(a small account, two rounds): a benchmark that broke would only show when someone next
measured."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.database
def test_the_dedup_benchmark_runs_two_rounds_and_its_counts_equal_the_truth():
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: the benchmark needs PostgreSQL (CI pass 2)")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "dedup.py"),
            "--leads", "3000",
            "--unique", "2400",
            "--rounds", "2",
            "--repeat", "1",
            "--database-url", base,
            "--schema", f"leadapp_bench_smoke_{os.getpid()}",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "round 2:" in done.stdout
    assert "'duplicates': 600" in done.stdout
    assert "run: median" in done.stdout
