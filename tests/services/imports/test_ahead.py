"""The write stage's builder thread: results in order, a bounded number ahead, an error
raised where its result would have come, and no thread left behind."""

from __future__ import annotations

import threading
import time

import pytest

from leadapp.services.imports.ahead import built_ahead


def _builders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "import-builder"]


def test_results_come_in_order_and_the_thread_ends_with_them():
    assert list(built_ahead(range(50), lambda n: n * n)) == [n * n for n in range(50)]
    assert not _builders()


def test_the_builder_waits_when_the_writer_is_behind():
    """Memory stays at a few batches: with depth 1 the builder is at most two items ahead
    of the one being written (one waiting in the queue, one in its hands)."""
    built = []
    results = built_ahead(range(20), lambda n: built.append(n) or n, depth=1)
    assert next(results) == 0
    time.sleep(0.3)  # ample time to run ahead if it were not bounded
    assert len(built) <= 3
    results.close()
    assert not _builders()


def test_an_error_in_the_builder_is_raised_to_the_writer_after_the_results_before_it():
    def build(n):
        if n == 3:
            raise RuntimeError("row 3 could not be laid out")
        return n

    got = []
    with pytest.raises(RuntimeError, match="row 3 could not be laid out"):
        for value in built_ahead(range(10), build):
            got.append(value)
    assert got == [0, 1, 2]
    assert not _builders()


def test_the_writers_own_error_stops_the_builder():
    built = []
    with pytest.raises(KeyError):
        for value in built_ahead(range(1000), lambda n: built.append(n) or n):
            if value == 2:
                raise KeyError("the writer failed")
    assert not _builders()
    assert len(built) <= 5
