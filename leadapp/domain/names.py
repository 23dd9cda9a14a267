"""Names people and files give things (file names, pools, jobs, views, templates, tokens):
cleaned once, where they enter, so no page, header, download or email subject ever holds
a control character or an unbounded string."""

from __future__ import annotations

import re
import unicodedata

# Characters that are never part of a name: C0/C1 controls (CR, LF, tab, NUL, ESC ...),
# line and paragraph separators, and the bidirectional overrides that make "exe.csv"
# display as "vsc.exe".
_BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SPACES = re.compile(r"\s+")


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI


def clean_name(value, limit: int | None = None) -> str:
    """``value`` as a one-line name: control characters become spaces, runs of white space
    one space, no space at either end; cut to ``limit`` characters when given."""
    if value is None:
        return ""
    text = "".join(" " if _is_control(ch) else ch for ch in str(value))
    text = _SPACES.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip()
    return text


def shorten(value, limit: int) -> str:
    """A cleaned ``value`` of at most ``limit`` characters, ending in "…" when it was cut
    (email subjects, headers)."""
    text = clean_name(value)
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"
