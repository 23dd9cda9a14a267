"""Benchmark: column-wise normalise_phones against one phonenumbers.parse per row.

usage: python bench/normalise.py [--rows 1000000] [--region US] [--seed 1] [--file leads.csv]
                                 [--column Phone]

Makes a lead file with leadapp.domain.leadgen (in a child process, so generating it does not
count towards this process's peak memory) or takes --file, reads the phone column as text,
then times in the same run:
  * loop:   for each row, phonenumbers.parse, is_valid_number, format_number(E164)
  * column: leadapp.domain.phones.normalise_phones over the whole column
It prints rows/s for both, the speed-up, the number of rows whose E.164 answer differs, and
the process's peak memory. Exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pandas as pd  # noqa: E402
import phonenumbers  # noqa: E402
from _common import cpu_model, peak_mib  # noqa: E402

from leadapp.domain.leadgen import phone_region  # noqa: E402
from leadapp.domain.phones import normalise_phones  # noqa: E402


def loop_normalise(values: list[str], region: str) -> list[str | None]:
    """The obvious way: one parse per row."""
    out: list[str | None] = []
    for v in values:
        try:
            n = phonenumbers.parse(v, region)
        except phonenumbers.NumberParseException:
            out.append(None)
            continue
        if phonenumbers.is_valid_number(n):
            out.append(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164))
        else:
            out.append(None)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--region", default="US", help="generator region US, AU, UK or MIX")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--file", help="use this CSV instead of generating one")
    ap.add_argument("--column", default="Phone")
    a = ap.parse_args()
    region = phone_region(a.region)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(a.file) if a.file else Path(tmp) / "leads.csv"
        if not a.file:
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "leadapp.domain.leadgen", str(a.rows), str(path),
                 "--seed", str(a.seed), "--region", a.region],
                check=True, cwd=ROOT,
            )  # fmt: skip
            print(f"generated {a.rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
        col = pd.read_csv(
            path, usecols=[a.column], dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )[a.column]
    rows = len(col)
    values = col.tolist()

    t0 = time.perf_counter()
    expected = loop_normalise(values, region)
    t_loop = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = normalise_phones(col, region)
    t_col = time.perf_counter() - t0

    got = result["e164"].tolist()
    mismatches = sum(
        1 for e, g in zip(expected, got, strict=True) if e != (None if pd.isna(g) else g)
    )
    valid = sum(1 for e in expected if e is not None)

    print()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(f"python {platform.python_version()}, pandas {pd.__version__}, "
          f"phonenumbers {phonenumbers.__version__}; region {region}; rows {rows:,}; "
          f"valid {valid:,}")  # fmt: skip
    print()
    print("| method | seconds | rows/s |")
    print("|---|---:|---:|")
    print(f"| per-row phonenumbers.parse loop | {t_loop:.2f} | {rows / t_loop:,.0f} |")
    print(f"| normalise_phones (column-wise) | {t_col:.2f} | {rows / t_col:,.0f} |")
    print()
    print(f"speed-up: {t_loop / t_col:.1f}x")
    print(f"mismatches: {mismatches}")
    print(f"peak memory (max RSS of this process): {peak_mib():,.0f} MiB")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
