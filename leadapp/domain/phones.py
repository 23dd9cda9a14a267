"""Phone numbers: normalisation to E.164 at column speed, validity, number time zones.

Business rule: a lead's phone is stored in E.164 (``+14155550123``) when, and only when, the
``phonenumbers`` package (Google's libphonenumber metadata) says it is a valid number:
``parse(value, region)``, then ``is_valid_number``, then ``format_number(..., E164)``.
Everything else is refused with a reason code (see ``REASON_TEXT``) that a supervisor can read.

How it is fast without being different: values are first de-duplicated, then the common
shapes - digits with spaces, dashes, dots, brackets, slashes, an optional leading ``+``, after
folding Unicode digits and Unicode spaces/dashes - are decided column-wise with Arrow string
kernels. The steps are the ones ``phonenumbers.parse`` takes (international prefix such as
``00``/``011``, ``+CC``, the default country code written without ``+``, national trunk
prefix, possible lengths, type patterns, the region a shared country code belongs to), and
every pattern, prefix and length comes from ``phonenumbers.PhoneMetadata`` at run time. Any
value the fast path cannot decide exactly (letters, extensions, RFC 3966 ``tel:`` URIs,
unusual symbols, fewer than three digits, non-geographic country codes, regions whose trunk
prefix needs a transform rule) is handed to ``phonenumbers.parse`` itself, once per distinct
value.

Documented, tested differences from ``phonenumbers`` (all stricter, never more lenient):

* ``spreadsheet_notation``: a value such as ``4.42E+11`` or ``4,42E11`` (a spreadsheet's
  scientific notation) is always refused, because the digits after the first few are lost;
  ``phonenumbers`` may read its digits as some other number.

Other notes:

* Extensions (``x123``, ``ext. 5``, ``;ext=5``) never enter the E.164 value; they are returned
  in the ``extension`` column.
* The region ``UK`` is accepted as an alias of ``GB``; an unknown region raises ``ValueError``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)
from phonenumbers import phonenumberutil as _pnu
from phonenumbers.timezone import UNKNOWN_TIMEZONE

__all__ = [
    "REASON_TEXT",
    "normalise_phones",
    "normalise_phone",
    "number_time_zones",
    "resolve_region",
    "reference_normalise",
]

# Parser limits of phonenumbers itself (not number rules); read from the library so a
# different version cannot drift from us.
_MAX_INPUT = getattr(_pnu, "_MAX_INPUT_STRING_LENGTH", 250)
_MAX_NSN = getattr(_pnu, "_MAX_LENGTH_FOR_NSN", 17)
_MIN_NSN = getattr(_pnu, "_MIN_LENGTH_FOR_NSN", 2)
_NON_GEO = _pnu.REGION_CODE_FOR_NON_GEO_ENTITY

REASON_TEXT: dict[str, str] = {
    "empty": "The phone number is blank (or says N/A, null or similar).",
    "not_a_number": "This text does not look like a phone number.",
    "too_short": "The phone number has too few digits (an area code may be missing).",
    "too_long": "The phone number has too many digits.",
    "invalid_for_region": (
        "The digits do not form a valid number for the country it belongs to "
        "(check the area code and the default country)."
    ),
    "invalid_country_code": "The country code after + or the international prefix does not exist.",
    "spreadsheet_notation": (
        "A spreadsheet turned this number into scientific notation (like 4.42E+11) and lost "
        "digits; export the column as text and upload again."
    ),
}

_NULL_TOKENS = frozenset(
    {"n/a", "na", "n.a.", "null", "none", "nil", "nan", "-", "--", "#n/a", "undefined", "?"}
)
_SPREADSHEET_RE = re.compile(r"^\s*[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+\s*$")
# Characters phonenumbers treats as punctuation (its _VALID_PUNCTUATION) that we fold to a
# plain space; none of them can introduce an extension.
_PUNCT_TO_SPACE = frozenset(
    "\u00a0\u00ad\u200b\u2060\u3000\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"
    "\uff0d\uff0e\uff0f\uff08\uff09"
)
_SIMPLE_RE = r"^[ ().\-/]*\+?[ ().\-/0-9]*$"
_PLUS_RE = r"^[ ().\-/]*\+"


class _Fold(dict):
    """str.translate table: Unicode decimal digits to ASCII, Unicode spaces/dashes to space."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        if ch.isdecimal():  # exactly the characters Python's re \d (and phonenumbers) accept
            out = str(unicodedata.decimal(ch))
        elif ch in _PUNCT_TO_SPACE:
            out = " "
        elif ch == "\uff0b":
            out = "+"
        else:
            out = ch
        self[cp] = out
        return out


_FOLD = _Fold()


def resolve_region(region: str | None) -> str:
    """Return the ISO 3166 region phonenumbers knows for ``region`` (``UK`` means ``GB``).

    Raises ValueError for a region phonenumbers has no metadata for.
    """
    code = (region or "").strip().upper()
    if code == "UK":
        code = "GB"
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"Unknown phone region {region!r}: use a two-letter country code.")
    return code


def _blank_or_nan(value: str) -> str:
    """Reason for a value without a usable number: blank-like text or not a number."""
    core = value.translate(_FOLD).strip(" \t\r\n\ufeff\u200c\u200d").lower()
    return "empty" if core == "" or core in _NULL_TOKENS else "not_a_number"


_ERROR_REASON = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}
_LENGTH_REASON = {
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
}


def reference_normalise(value: object, region: str) -> tuple[str | None, str | None, str | None]:
    """One value the slow, obvious way: (e164, extension, reason) via phonenumbers.parse.

    This is the definition the column-wise path must equal; it is also the fallback.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None, None, "empty"
    text = value if isinstance(value, str) else str(value)
    region = resolve_region(region)
    if _SPREADSHEET_RE.match(text.translate(_FOLD)):
        return None, None, "spreadsheet_notation"
    try:
        num = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.NOT_A_NUMBER:
            return None, None, _blank_or_nan(text)
        return None, None, _ERROR_REASON.get(exc.error_type, "not_a_number")
    ext = num.extension or None
    if phonenumbers.is_valid_number(num):
        return phonenumbers.format_number(num, PhoneNumberFormat.E164), ext, None
    why = phonenumbers.is_possible_number_with_reason(num)
    return None, ext, _LENGTH_REASON.get(why, "invalid_for_region")


def normalise_phone(value: object, region: str) -> tuple[str | None, str | None, str | None]:
    """Single-value convenience (API, forms): same answer as ``normalise_phones``."""
    return reference_normalise(value, region)


# --------------------------------------------------------------------------------------------
# Metadata, compiled once per region
# --------------------------------------------------------------------------------------------

# Order of _number_type_helper in phonenumbers (the first matching type wins).
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
_UNKNOWN = PhoneNumberType.UNKNOWN
_MAXLEN_TABLE = 300


class _Desc:
    __slots__ = ("pattern", "lengths")

    def __init__(self, desc) -> None:
        pattern = getattr(desc, "national_number_pattern", None) if desc is not None else None
        self.pattern = pattern or None
        lengths = np.zeros(_MAXLEN_TABLE, dtype=bool)
        possible = tuple(getattr(desc, "possible_length", ()) or ()) if desc else ()
        if possible:
            for n in possible:
                if 0 <= n < _MAXLEN_TABLE:
                    lengths[n] = True
        else:  # no lengths listed: only the pattern decides
            lengths[:] = True
        self.lengths = lengths


class _Meta:
    """The parts of one region's PhoneMetadata that parsing and validation use."""

    def __init__(self, meta) -> None:
        self.region = meta.id
        self.cc = meta.country_code
        self.idd = meta.international_prefix or None
        self.npfp = meta.national_prefix_for_parsing or None
        self.transform = bool(meta.national_prefix_transform_rule)
        self.leading_digits = meta.leading_digits or None
        self.same_fixed_mobile = bool(meta.same_mobile_and_fixed_line_pattern)
        self.general = _Desc(meta.general_desc)
        self.types = [(t, _Desc(getattr(meta, name))) for name, t in _TYPE_ORDER]
        self.fixed = _Desc(meta.fixed_line)
        self.mobile = _Desc(meta.mobile)
        # _test_number_length for the general description depends on the length only, so the
        # library's own function tabulates it for every length we can meet.
        self.length_verdict = np.array(
            [_pnu._test_number_length("0" * n, meta) for n in range(_MAXLEN_TABLE)],
            dtype=np.int16,
        )
        self.ok = all(_re2_ok(p) for p in self._patterns())

    def _patterns(self):
        yield self.general.pattern
        yield self.fixed.pattern
        yield self.mobile.pattern
        for _, d in self.types:
            yield d.pattern
        yield self.npfp
        yield self.idd
        yield self.leading_digits


def _re2_ok(pattern: str | None) -> bool:
    # A metadata pattern Arrow's RE2 cannot compile sends that region to the exact fallback.
    if not pattern:
        return True
    try:
        pc.match_substring_regex(pa.array(["0"]), f"^(?:{pattern})$")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


@lru_cache(maxsize=512)
def _meta_for_region(region: str) -> _Meta | None:
    meta = PhoneMetadata.metadata_for_region(region, None)
    return _Meta(meta) if meta is not None else None


@lru_cache(maxsize=512)
def _main_meta_for_cc(cc: int) -> _Meta | None:
    region = phonenumbers.region_code_for_country_code(cc)
    if region in (_NON_GEO, _pnu.UNKNOWN_REGION):
        return None
    return _meta_for_region(region)


@lru_cache(maxsize=4096)
def _split_cc(prefix: str) -> tuple[int, int]:
    """(country code, its length) at the start of a digit string, as phonenumbers reads it."""
    if not prefix or prefix[0] == "0":
        return 0, 0
    for k in range(1, min(len(prefix), 3) + 1):
        cc = int(prefix[:k])
        if cc in COUNTRY_CODE_TO_REGION_CODE:
            return cc, k
    return 0, 0


# --------------------------------------------------------------------------------------------
# Arrow helpers (all vectorised)
# --------------------------------------------------------------------------------------------


def _np(arr) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)


def _full(arr: pa.Array, pattern: str | None) -> np.ndarray:
    if pattern is None or len(arr) == 0:
        return np.zeros(len(arr), dtype=bool)
    return _np(pc.match_substring_regex(arr, f"^(?:{pattern})$"))


def _starts(arr: pa.Array, pattern: str) -> np.ndarray:
    if len(arr) == 0:
        return np.zeros(0, dtype=bool)
    return _np(pc.match_substring_regex(arr, f"^(?:{pattern})"))


def _lengths(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.utf8_length(arr).to_numpy(zero_copy_only=False), dtype=np.int64)


def _take(arr: pa.Array, mask_or_idx: np.ndarray) -> pa.Array:
    if mask_or_idx.dtype == bool:
        return arr.filter(pa.array(mask_or_idx))
    return arr.take(pa.array(mask_or_idx))


def _matches_desc(arr: pa.Array, lens: np.ndarray, desc: _Desc, rows: np.ndarray) -> np.ndarray:
    """_is_number_matching_desc for the rows selected by the boolean mask ``rows``."""
    out = np.zeros(len(arr), dtype=bool)
    if desc.pattern is None:
        return out
    cand = rows & desc.lengths[np.minimum(lens, _MAXLEN_TABLE - 1)]
    if cand.any():
        idx = np.flatnonzero(cand)
        out[idx] = _full(_take(arr, idx), desc.pattern)
    return out


def _type_helper(arr: pa.Array, meta: _Meta) -> np.ndarray:
    """Vectorised phonenumbers._number_type_helper: PhoneNumberType per national number."""
    n = len(arr)
    lens = _lengths(arr)
    types = np.full(n, _UNKNOWN, dtype=np.int16)
    todo = _matches_desc(arr, lens, meta.general, np.ones(n, dtype=bool))
    for t, desc in meta.types:
        if not todo.any():
            return types
        hit = _matches_desc(arr, lens, desc, todo)
        types[hit] = t
        todo &= ~hit
    fixed = _matches_desc(arr, lens, meta.fixed, todo)
    if meta.same_fixed_mobile:
        types[fixed] = PhoneNumberType.FIXED_LINE_OR_MOBILE
    else:
        both = _matches_desc(arr, lens, meta.mobile, fixed)
        types[fixed] = PhoneNumberType.FIXED_LINE
        types[both] = PhoneNumberType.FIXED_LINE_OR_MOBILE
        todo &= ~fixed
        mobile = _matches_desc(arr, lens, meta.mobile, todo)
        types[mobile] = PhoneNumberType.MOBILE
    return types


def _number_types(cc: int, nsn: pa.Array) -> np.ndarray | None:
    """number_type() for (cc, nsn) rows: picks the region like region_code_for_number does.

    Returns None when the country code has no geographic metadata (caller falls back).
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
    metas = [_meta_for_region(r) for r in regions if r != _NON_GEO]
    if not metas or len(metas) != len(regions) or not all(m.ok for m in metas):
        return None
    if len(metas) == 1:
        return _type_helper(nsn, metas[0])
    n = len(nsn)
    types = np.full(n, _UNKNOWN, dtype=np.int16)
    todo = np.ones(n, dtype=bool)
    for meta in metas:
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        sub = _take(nsn, idx)
        if meta.leading_digits is not None:
            hit = _starts(sub, meta.leading_digits)
            if hit.any():
                types[idx[hit]] = _type_helper(_take(sub, hit), meta)
        else:
            t = _type_helper(sub, meta)
            hit = t != _UNKNOWN
            types[idx[hit]] = t[hit]
        todo[idx[hit]] = False
    return types


def _strip_national_prefix(arr: pa.Array, meta: _Meta) -> tuple[pa.Array, np.ndarray]:
    """Vectorised _maybe_strip_national_prefix_carrier_code (number part only).

    Returns the numbers and a mask of rows the fast path cannot decide (transform rules).
    """
    n = len(arr)
    undecided = np.zeros(n, dtype=bool)
    if meta.npfp is None or n == 0:
        return arr, undecided
    matched = _starts(arr, meta.npfp) & (_lengths(arr) > 0)
    if not matched.any():
        return arr, undecided
    if meta.transform:
        return arr, matched
    stripped = pc.replace_substring_regex(arr, f"^(?:{meta.npfp})", "", max_replacements=1)
    viable_before = _full(arr, meta.general.pattern)
    viable_after = _full(stripped, meta.general.pattern)
    keep = ~matched | (viable_before & ~viable_after)
    return pc.if_else(pa.array(keep), arr, stripped), undecided


# --------------------------------------------------------------------------------------------
# The column-wise decision
# --------------------------------------------------------------------------------------------


_REASONS = [None, *REASON_TEXT]
_RC = {code: i for i, code in enumerate(_REASONS)}


class _Result:
    """Answers per distinct value: reason codes in numpy, E.164 strings as Arrow pieces."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reason = np.zeros(n, dtype=np.int8)
        self.fallback = np.zeros(n, dtype=bool)
        self.e164_pieces: list[tuple[np.ndarray, pa.Array]] = []
        self.ext_pieces: list[tuple[np.ndarray, pa.Array]] = []

    def set_reason(self, rows: np.ndarray, code: str) -> None:
        self.reason[rows] = _RC[code]

    @staticmethod
    def _rows(pieces: list[tuple[np.ndarray, pa.Array]], n: int, codes: np.ndarray) -> pa.Array:
        """Per input row (codes index distinct values), the piece value or null."""
        if not pieces:
            return pa.nulls(len(codes), pa.string())
        where = np.concatenate([p[0] for p in pieces])
        values = pa.concat_arrays([p[1].cast(pa.string()) for p in pieces])
        pos = np.full(n, -1, dtype=np.int64)
        pos[where] = np.arange(len(where))
        row_pos = pos[codes]
        return values.take(pa.array(row_pos, mask=row_pos < 0))

    def e164_rows(self, codes: np.ndarray) -> pa.Array:
        return self._rows(self.e164_pieces, self.n, codes)

    def ext_rows(self, codes: np.ndarray) -> pa.Array:
        return self._rows(self.ext_pieces, self.n, codes)

    def reason_rows(self, codes: np.ndarray) -> pa.Array:
        dictionary = pa.array([r or "" for r in _REASONS], type=pa.string())
        idx = self.reason[codes]
        return pa.DictionaryArray.from_arrays(pa.array(idx, mask=idx == 0), dictionary).cast(
            pa.string()
        )


def _finish_group(res: _Result, idx: np.ndarray, cc: int, nnn: pa.Array, meta: _Meta) -> None:
    """From (country code, national number before trunk-prefix stripping) to the answer."""
    if len(idx) == 0:
        return
    lens = _lengths(nnn)
    short = lens < _MIN_NSN
    res.set_reason(idx[short], "too_short")
    keep = ~short
    idx, nnn = idx[keep], _take(nnn, keep)
    pot, undecided = _strip_national_prefix(nnn, meta)
    res.fallback[idx[undecided]] = True
    idx, nnn, pot = idx[~undecided], _take(nnn, ~undecided), _take(pot, ~undecided)
    verdict = meta.length_verdict[np.minimum(_lengths(pot), _MAXLEN_TABLE - 1)]
    take_pot = ~np.isin(
        verdict,
        [
            ValidationResult.TOO_SHORT,
            ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
            ValidationResult.INVALID_LENGTH,
        ],
    )
    nsn = pc.if_else(pa.array(take_pot), pot, nnn)
    lens = _lengths(nsn)
    long_ = lens > _MAX_NSN
    res.set_reason(idx[long_], "too_long")
    idx, nsn, lens = idx[~long_], _take(nsn, ~long_), lens[~long_]
    types = _number_types(cc, nsn)
    if types is None:
        res.fallback[idx] = True
        return
    valid = types != _UNKNOWN
    if valid.any():
        e164 = pc.binary_join_element_wise(f"+{cc}", _take(nsn, valid), "")
        res.e164_pieces.append((idx[valid], e164))
    # Invalid: is_possible_number_with_reason uses the main region of the country code.
    main = _main_meta_for_cc(cc)
    bad = np.flatnonzero(~valid)
    if len(bad):
        why = main.length_verdict[np.minimum(lens[bad], _MAXLEN_TABLE - 1)]
        reasons = np.full(len(bad), _RC["invalid_for_region"], dtype=np.int8)
        for code, text in _LENGTH_REASON.items():
            reasons[why == code] = _RC[text]
        res.reason[idx[bad]] = reasons


def _decide_international(res: _Result, idx: np.ndarray, digits: pa.Array, plus: bool) -> None:
    """Numbers after + or an international prefix: split the country code, then finish."""
    if len(idx) == 0:
        return
    first3 = pc.utf8_slice_codeunits(digits, 0, 3).dictionary_encode()
    split = [_split_cc(p) for p in first3.dictionary.to_pylist()]
    codes = np.asarray(first3.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    ccs = np.array([s[0] for s in split], dtype=np.int64)[codes]
    klen = np.array([s[1] for s in split], dtype=np.int64)[codes]
    no_cc = ccs == 0
    if plus:
        # phonenumbers retries such values as national numbers: leave that to it.
        res.fallback[idx[no_cc]] = True
    else:
        res.set_reason(idx[no_cc], "invalid_country_code")
    for cc in np.unique(ccs[~no_cc]):
        cc = int(cc)
        meta = _main_meta_for_cc(cc)
        rows = ccs == cc
        if meta is None or not meta.ok:
            res.fallback[idx[rows]] = True
            continue
        k = int(klen[rows][0])  # a country code has one length
        rest = pc.utf8_slice_codeunits(_take(digits, rows), k)
        _finish_group(res, idx[rows], cc, rest, meta)


def _decide_simple(
    res: _Result, idx: np.ndarray, cleaned: pa.Array, digits: pa.Array, meta: _Meta
) -> None:
    plus = _starts(cleaned, _PLUS_RE[1:])
    first_zero = _starts(digits, "0")
    # "+0..." is retried by phonenumbers as a national number: fallback.
    res.fallback[idx[plus & first_zero]] = True
    p = plus & ~first_zero
    _decide_international(res, idx[p], _take(digits, p), plus=True)

    rest_rows = ~plus
    idx_n, dig_n = idx[rest_rows], _take(digits, rest_rows)
    if meta.idd is not None and len(idx_n):
        idd_hit = _starts(dig_n, meta.idd)
        if idd_hit.any():
            after = pc.replace_substring_regex(
                _take(dig_n, idd_hit), f"^(?:{meta.idd})", "", max_replacements=1
            )
            # Only an IDD when the next digit is not 0 (country codes never start with 0).
            zero_next = _starts(after, "0")
            hit_idx = np.flatnonzero(idd_hit)
            idd_hit[hit_idx[zero_next]] = False
            after = _take(after, ~zero_next)
            ok_len = _lengths(after) > _MIN_NSN
            sub_idx = idx_n[idd_hit]
            res.set_reason(sub_idx[~ok_len], "too_short")
            _decide_international(res, sub_idx[ok_len], _take(after, ok_len), plus=False)
        idx_n, dig_n = idx_n[~idd_hit], _take(dig_n, ~idd_hit)
    if len(idx_n) == 0:
        return

    # Default country: maybe the country code written without +.
    ccs = str(meta.cc)
    starts_cc = _starts(dig_n, ccs)
    cond = np.zeros(len(idx_n), dtype=bool)
    pot_all = None
    if starts_cc.any():
        sidx = np.flatnonzero(starts_cc)
        full = _take(dig_n, sidx)
        pot, undecided = _strip_national_prefix(pc.utf8_slice_codeunits(full, len(ccs)), meta)
        res.fallback[idx_n[sidx[undecided]]] = True
        viable_full = _full(full, meta.general.pattern)
        viable_pot = _full(pot, meta.general.pattern)
        too_long = meta.length_verdict[np.minimum(_lengths(full), _MAXLEN_TABLE - 1)] == int(
            ValidationResult.TOO_LONG
        )
        c = ((~viable_full & viable_pot) | too_long) & ~undecided
        cond[sidx[c]] = True
        pot_all = (sidx, pot, c, undecided)
        drop = np.zeros(len(idx_n), dtype=bool)
        drop[sidx[undecided]] = True
    else:
        drop = np.zeros(len(idx_n), dtype=bool)
    if cond.any():
        sidx, pot, c, _ = pot_all
        main = _main_meta_for_cc(meta.cc)
        _finish_group(res, idx_n[sidx[c]], meta.cc, _take(pot, c), main)
    plain = ~cond & ~drop
    _finish_group(res, idx_n[plain], meta.cc, _take(dig_n, plain), meta)


def _normalise_unique(arr: pa.Array, region: str) -> _Result:
    """Decide every distinct value of ``arr`` (an Arrow string array, nulls allowed)."""
    n = len(arr)
    res = _Result(n)
    meta = _meta_for_region(region)
    is_null = _np(pc.is_null(arr))
    arr = pc.fill_null(arr, "")
    too_long_input = _lengths(arr) > _MAX_INPUT

    # Fold non-ASCII values (rare) in Python; ASCII ones need no folding.
    non_ascii = ~_np(pc.string_is_ascii(arr))
    if non_ascii.any():
        idx = np.flatnonzero(non_ascii)
        folded = [v.translate(_FOLD) for v in _take(arr, idx).to_pylist()]
        pos = np.full(n, -1, dtype=np.int64)
        pos[idx] = np.arange(len(idx))
        cleaned = pc.if_else(
            pa.array(non_ascii),
            pa.array(folded, type=pa.string()).take(pa.array(pos, mask=pos < 0)),
            arr,
        )
    else:
        cleaned = arr

    digits = pc.replace_substring_regex(cleaned, r"[^0-9]", "")
    ndigits = _lengths(digits)
    maybe_sheet = _np(pc.match_substring(cleaned, "E", ignore_case=True))
    spreadsheet = np.zeros(n, dtype=bool)
    if maybe_sheet.any():
        sidx = np.flatnonzero(maybe_sheet)
        spreadsheet[sidx] = _np(
            pc.match_substring_regex(_take(cleaned, sidx), _SPREADSHEET_RE.pattern)
        )
    simple = _np(pc.match_substring_regex(cleaned, _SIMPLE_RE)) & (ndigits >= 3)

    res.set_reason(is_null, "empty")
    res.set_reason(spreadsheet & ~is_null, "spreadsheet_notation")
    no_digit = (ndigits == 0) & ~is_null & ~spreadsheet
    if no_digit.any():
        idx = np.flatnonzero(no_digit)
        for i, v in zip(idx, _take(arr, idx).to_pylist(), strict=True):
            res.set_reason(i, _blank_or_nan(v))
    res.set_reason(too_long_input & ~is_null & ~spreadsheet & ~no_digit, "too_long")
    decided = is_null | spreadsheet | no_digit | too_long_input
    fast = simple & ~decided
    if meta is not None and meta.ok:
        idx = np.flatnonzero(fast)
        _decide_simple(res, idx, _take(cleaned, idx), _take(digits, idx), meta)
    else:
        res.fallback[fast] = True
    res.fallback |= ~decided & ~fast

    if res.fallback.any():
        idx = np.flatnonzero(res.fallback)
        answers = [reference_normalise(v, region) for v in _take(arr, idx).to_pylist()]
        e164 = pa.array([a[0] for a in answers], type=pa.string())
        ext = pa.array([a[1] for a in answers], type=pa.string())
        res.e164_pieces.append((idx, e164))
        res.ext_pieces.append((idx, ext))
        res.reason[idx] = [_RC[a[2]] for a in answers]
    return res


def _as_arrow(series: pd.Series) -> pa.Array:
    """The column as an Arrow string array; numbers from spreadsheet readers become text."""
    if isinstance(series.dtype, pd.StringDtype) or str(series.dtype) == "str":
        arr = pa.array(series.array)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.string())
    obj = series.astype(object)
    texts = [
        None
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA
        else (v if isinstance(v, str) else str(v))
        for v in obj
    ]
    return pa.array(texts, type=pa.string())


def normalise_phones(
    values: Iterable[object] | pd.Series, default_region: str, *, return_path: bool = False
) -> pd.DataFrame:
    """Normalise a column of phone numbers to E.164, one output row per input value.

    Business rule: ``e164`` is set exactly when phonenumbers parses the value with
    ``default_region`` and finds it valid; otherwise ``e164`` is missing and ``reason`` holds a
    code from ``REASON_TEXT``. ``extension`` keeps an extension written after the number.
    A Series keeps its index; the columns have pandas' ``str`` dtype (missing = NaN).
    ``return_path=True`` adds a boolean ``fallback`` column telling which values went through
    ``phonenumbers.parse`` (for tests and benchmarks).
    """
    region = resolve_region(default_region)
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    arr = _as_arrow(series)
    # Work once per distinct value: real lists repeat blanks, N/A and re-uploaded numbers.
    encoded = arr.dictionary_encode()
    uniques = encoded.dictionary
    n_u = len(uniques)
    # Missing cells point at one extra null slot after the distinct values.
    codes = pc.fill_null(encoded.indices, n_u).to_numpy(zero_copy_only=False).astype(np.int64)
    res = _normalise_unique(pa.concat_arrays([uniques, pa.nulls(1, pa.string())]), region)
    out = pd.DataFrame(
        {
            "e164": pd.array(res.e164_rows(codes), dtype="str"),
            "reason": pd.array(res.reason_rows(codes), dtype="str"),
            "extension": pd.array(res.ext_rows(codes), dtype="str"),
        },
        index=series.index,
    )
    if return_path:
        out["fallback"] = res.fallback[codes]
    return out


# --------------------------------------------------------------------------------------------
# Number time zones
# --------------------------------------------------------------------------------------------


def number_time_zones(e164: Iterable[object] | pd.Series) -> pd.DataFrame:
    """Time zones of E.164 numbers, as ``phonenumbers.timezone.time_zones_for_number`` gives.

    Business rule: a lead may take its number's zone only when the number has exactly one;
    ``timezone`` is that zone (missing when there is none or several), ``several_zones`` flags
    numbers spanning several zones, and ``zones`` lists them joined by ``|``. Missing or
    non-E.164 input gives a missing zone. Worked out once per distinct prefix, not per row.
    """
    from phonenumbers.timezone import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    series = e164 if isinstance(e164, pd.Series) else pd.Series(list(e164), dtype=object)
    index = series.index
    if isinstance(series.dtype, pd.StringDtype) or str(series.dtype) == "str":
        texts = _as_arrow(series)
    else:  # only text can be a number; anything else has no zone
        texts = pa.array([v if isinstance(v, str) else None for v in series], type=pa.string())
    encoded = texts.dictionary_encode()
    n = len(encoded.dictionary)
    # Missing cells point at the spare slot after the distinct values.
    codes = pc.fill_null(encoded.indices, n).to_numpy(zero_copy_only=False).astype(np.int64)
    # Each distinct value gets the id of its zone tuple; tuples are few.
    zone_id = np.full(n + 1, -1, dtype=np.int64)
    table: dict[tuple[str, ...], int] = {}

    def _assign(rows: np.ndarray, z: tuple[str, ...]) -> None:
        zone_id[rows] = table.setdefault(tuple(z), len(table))

    arr = encoded.dictionary
    wellformed = _np(pc.match_substring_regex(arr, r"^\+[1-9][0-9]{1,19}$"))
    idx = np.flatnonzero(wellformed)
    digits = pc.utf8_slice_codeunits(_take(arr, idx), 1)
    first3 = pc.utf8_slice_codeunits(digits, 0, 3).dictionary_encode()
    split = [_split_cc(p) for p in first3.dictionary.to_pylist()] or [(0, 0)]
    dcodes = np.asarray(first3.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    ccs = np.array([s[0] for s in split], dtype=np.int64)[dcodes]
    klen = np.array([s[1] for s in split], dtype=np.int64)[dcodes]
    for cc in np.unique(ccs[ccs > 0]):
        cc = int(cc)
        rows = ccs == cc
        ridx = idx[rows]
        sub_digits = _take(digits, rows)
        nsn = pc.utf8_slice_codeunits(sub_digits, int(klen[rows][0]))
        types = _number_types(cc, nsn)
        if types is None:  # non-geographic codes: ask phonenumbers per value
            for i in ridx:
                _assign(np.array([i]), _zones_slow(arr[int(i)].as_py()))
            continue
        geo = np.zeros(len(ridx), dtype=bool)
        for t in np.unique(types):
            if t != _UNKNOWN and phonenumbers.is_number_type_geographical(int(t), cc):
                geo |= types == t
        country_level = (types != _UNKNOWN) & ~geo
        if country_level.any():
            _assign(ridx[country_level], _country_zones(cc))
        todo = geo.copy()
        for plen in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
            if not todo.any():
                break
            keys = _zone_prefixes(plen)
            if not len(keys):
                continue
            tidx = np.flatnonzero(todo)
            pre = pc.utf8_slice_codeunits(_take(sub_digits, tidx), 0, plen)
            pos = pc.index_in(pre, value_set=keys).to_numpy(zero_copy_only=False)
            pos = np.where(np.isnan(pos), -1, pos).astype(np.int64)
            found = pos >= 0
            if found.any():
                used = np.unique(pos[found])
                ids = np.zeros(len(keys), dtype=np.int64)
                for j in used:  # one lookup per distinct prefix
                    z = tuple(TIMEZONE_DATA[keys[int(j)].as_py()])
                    ids[j] = table.setdefault(z, len(table))
                hit = tidx[found]
                zone_id[ridx[hit]] = ids[pos[found]]
                todo[hit] = False
        if todo.any():
            _assign(ridx[todo], (UNKNOWN_TIMEZONE,))
    ids = list(table.items())
    zone_of = np.full(len(ids) + 1, None, dtype=object)
    several_of = np.zeros(len(ids) + 1, dtype=bool)
    joined_of = np.full(len(ids) + 1, None, dtype=object)
    for z, k in ids:
        if not z or z == (UNKNOWN_TIMEZONE,):
            continue
        joined_of[k] = "|".join(z)
        if len(z) == 1:
            zone_of[k] = z[0]
        else:
            several_of[k] = True
    per_row = zone_id[codes]  # -1 (no zone) indexes the spare last slot
    return pd.DataFrame(
        {
            "timezone": pd.array(zone_of[per_row], dtype="str"),
            "several_zones": several_of[per_row],
            "zones": pd.array(joined_of[per_row], dtype="str"),
        },
        index=index,
    )


@lru_cache(maxsize=32)
def _zone_prefixes(plen: int) -> pa.Array:
    """The prefixes of length ``plen`` that phonenumbers' time-zone data knows."""
    from phonenumbers.timezone import TIMEZONE_DATA

    return pa.array(sorted(k for k in TIMEZONE_DATA if len(k) == plen), type=pa.string())


@lru_cache(maxsize=1024)
def _country_zones(cc: int) -> tuple[str, ...]:
    from phonenumbers.timezone import _country_level_time_zones_for_number

    return tuple(_country_level_time_zones_for_number(phonenumbers.PhoneNumber(country_code=cc)))


def _zones_slow(e164: str) -> tuple[str, ...]:
    from phonenumbers.timezone import time_zones_for_number

    try:
        return tuple(time_zones_for_number(phonenumbers.parse(e164, None)))
    except NumberParseException:
        return ()
