"""The slow hostile inputs (``make test-slow``): one number a million times, and 10,000
columns through ``flask leads import`` and through the wizard's mapping page."""

from __future__ import annotations

import threading

import psutil
import pytest

from tests.hostile.conftest import assert_serving, cli_import

COPIES = 1_000_000


def ten_thousand_columns() -> bytes:
    headers = ["Phone"] + [f"Column {i}" for i in range(1, 10_000)]
    row = ["(212) 555-0101"] + ["v"] * 9_999
    return (",".join(headers) + "\n" + ",".join(row) + "\n").encode()


class PeakRss(threading.Thread):
    """The process's largest resident size while the block runs, sampled every 20 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.start_rss = self.peak = self.process.memory_info().rss
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.start_rss) / 2**20


@pytest.mark.slow
def test_a_million_copies_of_one_number(app, wizard, runner, tmp_path):
    path = tmp_path / "one-number.csv"
    with path.open("w") as fh:
        fh.write("First Name,Phone\n")
        fh.writelines(["Ann,(212) 555-0101\n"] * COPIES)
    with PeakRss() as memory:
        result, counts = cli_import(runner, path, "million", "--scope", "campaign")
    assert result.exit_code == 0, result.output
    assert (counts["rows"], counts["valid"], counts["invalid"]) == (COPIES, COPIES, 0)
    assert counts["duplicates_in_file"] == COPIES - 1
    assert (counts["duplicates_existing"], counts["imported"]) == (0, 1)
    assert [lead.phone1 for lead in wizard.leads()] == ["+12125550101"]
    # A 19 MB file: staged in chunks, never held as a million Python objects.
    assert memory.growth_mib < 600, f"{memory.growth_mib:.0f} MiB"
    assert_serving(wizard.client)


@pytest.mark.slow
def test_ten_thousand_columns_on_the_command_line(app, wizard, runner, tmp_path):
    """Seconds go to suggesting a field for each of the 10,000 headers (difflib)."""
    path = tmp_path / "wide.csv"
    path.write_bytes(ten_thousand_columns())
    result, counts = cli_import(runner, path, "wide", "--auto-map")
    assert result.exit_code == 0, result.output
    assert counts["mapping"] == {"Phone": "phone1"}
    assert (counts["rows"], counts["imported"]) == (1, 1)
    assert [lead.phone1 for lead in wizard.leads()] == ["+12125550101"]


@pytest.mark.slow
def test_ten_thousand_columns_in_the_wizard(app, wizard):
    """The mapping page renders one select per column: 10,000 of them take seconds."""
    import_id = wizard.new()
    assert wizard.upload(import_id, ten_thousand_columns()).status_code == 302
    assert wizard.mapping(import_id).status_code == 302  # the page lists every column
    assert wizard.imp(import_id).mapping["Phone"] == "phone1"
    assert 'id="check-grid"' in wizard.duplicates(import_id).get_data(as_text=True)
    wizard.start(import_id)
    assert [lead.phone1 for lead in wizard.leads()] == ["+12125550101"]
    assert_serving(wizard.client)
