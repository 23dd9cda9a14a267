"""The project's lead generator: same file and truth for the same arguments."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from leadapp.domain import leadgen
from tests.domain.helpers import FIXTURES, REPO, SHARED


def test_header_and_shape(tmp_path):
    path = tmp_path / "l.csv"
    truth = leadgen.generate(500, path, seed=9)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == leadgen.HEADER
    assert len(rows) == 501
    assert all(len(r) == 11 for r in rows)
    assert truth["rows"] == 500
    assert truth["rows_with_valid_phone"] + truth["invalid_phone_rows"] == 500
    assert truth["unique_valid_phones"] + truth["duplicate_rows"] == truth["rows_with_valid_phone"]
    assert {r[3] for r in rows[1:]} & set(leadgen.INVALID)


def test_same_arguments_same_file(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert leadgen.generate(300, a, seed=4, region="MIX", quirks=True) == leadgen.generate(
        300, b, seed=4, region="MIX", quirks=True
    )
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes().startswith(b"\xef\xbb\xbf")  # quirks: BOM
    c = tmp_path / "c.csv"
    leadgen.generate(300, c, seed=5, region="MIX", quirks=True)
    assert a.read_bytes() != c.read_bytes()


def test_fixtures_are_reproducible(tmp_path):
    specs = {"us_1500": ("US", 11, True), "au_1200": ("AU", 12, False),
             "uk_800": ("UK", 13, False), "mix_1500": ("MIX", 14, True)}  # fmt: skip
    for name, (region, seed, quirks) in specs.items():
        out = tmp_path / f"{name}.csv"
        rows = int(name.split("_")[1])
        truth = leadgen.generate(rows, out, seed=seed, region=region, quirks=quirks)
        assert out.read_bytes() == (FIXTURES / f"leads_{name}.csv").read_bytes()
        assert truth == json.loads((FIXTURES / f"leads_{name}.truth.json").read_text())


def test_regions_and_quirks(tmp_path):
    for region, prefix in [("AU", "+61"), ("UK", "+44"), ("GB", "+44")]:
        path = tmp_path / f"{region}.csv"
        leadgen.generate(200, path, seed=1, region=region)
        phones = [r["Phone"] for r in csv.DictReader(path.open(encoding="utf-8"))]
        assert any(p.startswith(prefix) for p in phones)
    q = tmp_path / "q.csv"
    leadgen.generate(3000, q, seed=1, quirks=True)
    text = q.read_text(encoding="utf-8-sig")
    assert '"said: ""call back"",\nafter 5pm"' in text
    assert "=HYPERLINK(" in text and "x" * 5000 in text
    with pytest.raises(ValueError, match="Unknown generator region"):
        leadgen.generate(1, tmp_path / "x.csv", region="FR")
    assert leadgen.phone_region("UK") == "GB" and leadgen.phone_region("MIX") == "US"


def test_cli_writes_file_and_truth(tmp_path):
    out, truth = tmp_path / "cli.csv", tmp_path / "cli.json"
    subprocess.run(
        [sys.executable, "-m", "leadapp.domain.leadgen", "250", str(out), "--seed", "3",
         "--region", "AU", "--truth", str(truth)],
        check=True, cwd=REPO,
    )  # fmt: skip
    data = json.loads(truth.read_text())
    assert data == leadgen.generate(250, tmp_path / "again.csv", seed=3, region="AU")
    assert out.read_bytes() == (tmp_path / "again.csv").read_bytes()


def test_same_output_as_the_shared_reference_generator(tmp_path):
    reference = SHARED / "bench" / "gen_leads.py"
    if not reference.is_file():
        pytest.skip(f"no reference generator at {reference.resolve()}")
    for region, quirks in [("US", False), ("UK", True), ("MIX", True)]:
        ref_csv, ref_json = tmp_path / "ref.csv", tmp_path / "ref.json"
        args = [sys.executable, str(reference), "1500", str(ref_csv), "--seed", "8",
                "--region", region, "--truth", str(ref_json)]  # fmt: skip
        subprocess.run(args + (["--quirks"] if quirks else []), check=True)
        ours = tmp_path / "ours.csv"
        truth = leadgen.generate(1500, ours, seed=8, region=region, quirks=quirks)
        assert ours.read_bytes() == ref_csv.read_bytes(), region
        assert truth == json.loads(ref_json.read_text()), region
