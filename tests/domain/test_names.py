"""Names cleaned where they enter (issue 16 item 6): one line, no control characters, a
length limit; shortened with an ellipsis for email subjects."""

import pytest

from leadapp.domain.names import clean_name, shorten


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("evil.csv\r\nBcc: x@evil.example", "evil.csv Bcc: x@evil.example"),
        ("  Spring\t\tlist  ", "Spring list"),
        ("a\x00b\x1bc\x7fd\x85e", "a b c d e"),
        ("exe\u202e.csv", "exe .csv"),
        ("line\u2028para\u2029end", "line para end"),
        ("Zoë 東京 ✓", "Zoë 東京 ✓"),
        (None, ""),
        (42, "42"),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_clean_name_cuts_to_the_limit():
    assert clean_name("x" * 5000, 255) == "x" * 255
    assert clean_name("ab  " + "c" * 10, 3) == "ab"


def test_shorten_marks_the_cut():
    assert shorten("short", 10) == "short"
    assert shorten("a" * 5000, 60) == "a" * 59 + "…"
    assert len(shorten("a\r\n" * 100, 60)) == 60
