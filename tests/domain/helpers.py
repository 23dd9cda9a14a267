"""Shared helpers for the domain tests (no conftest: these tests run with --noconftest)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import phonenumbers
import pytest

from leadapp.domain.phones import normalise_phones, reference_normalise

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
FIXTURES = REPO / "tests" / "fixtures" / "domain"


def shared_samples() -> list[Path]:
    """The sample CSVs next to the repository, or skip when they are not there."""
    folder = SHARED / "samples"
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        pytest.skip(f"no shared samples at {folder.resolve()} (the repository stands alone)")
    return files


def phonenumbers_e164(value: object, region: str) -> str | None:
    """The plain phonenumbers answer: parse, is_valid_number, format E164."""
    if not isinstance(value, str):
        return None
    try:
        num = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _none(v: object) -> object:
    return None if v is None or (isinstance(v, float) and pd.isna(v)) else v


def assert_same_as_phonenumbers(values: list, region: str) -> pd.DataFrame:
    """Every value: e164 equals phonenumbers' answer (except documented stricter refusals),
    and (e164, extension, reason) equal the one-value reference."""
    out = normalise_phones(values, region, return_path=True)
    assert len(out) == len(values)
    problems = []
    for value, e164, ext, reason in zip(
        values, out["e164"], out["extension"], out["reason"], strict=True
    ):
        got = (_none(e164), _none(ext), _none(reason))
        expected = phonenumbers_e164(value, region)
        if got[0] != expected and not (got[0] is None and got[2] == "spreadsheet_notation"):
            problems.append((value, region, expected, got))
        elif got != reference_normalise(value, region):
            problems.append((value, region, reference_normalise(value, region), got))
        elif (got[0] is None) == (got[2] is None):
            problems.append((value, region, "exactly one of e164/reason", got))
    assert not problems, f"{len(problems)} differences, first ones: {problems[:10]}"
    return out
