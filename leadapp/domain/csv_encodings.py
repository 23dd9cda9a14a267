"""Bytes to text for CSV files: which encoding a file is in, and reading it as such.

Business rules:

* UTF-8 with or without BOM, UTF-16 LE/BE with BOM, then Windows-1252, then Latin-1 when
  the bytes use code points Windows-1252 leaves undefined. Every byte is looked at: a
  Windows export may differ from UTF-8 far down the file.
* **Mixed encodings.** A file that holds valid UTF-8 accents *and* bytes that are not UTF-8
  (a UTF-8 export with a few lines pasted from Windows) is decoded as UTF-8 where it is
  UTF-8 and as Windows-1252 elsewhere (``utf-8+cp1252``); the lines read as Windows-1252
  are named in warnings (``{"line": N, "message": "..."}``).
"""

from __future__ import annotations

import codecs
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

MIXED = "utf-8+cp1252"  # our name for "UTF-8, with some lines in Windows-1252"
MIXED_ERRORS = "leadapp-cp1252"  # codec error handler: undecodable UTF-8 bytes as cp1252
NAMED_LINES = 20  # lines named one by one; the rest are counted
_BLOCK = 1 << 20
# Bytes Windows-1252 leaves undefined; their presence means the file is Latin-1.
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")
# A well-formed UTF-8 sequence of two to four bytes: text that was written as UTF-8.
_VALID_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def detect_encoding(head: bytes, whole: bytes | None = None) -> str:
    """The encoding of a file from its first bytes (and, to confirm UTF-8, all of them).

    UTF-8 BOM -> ``utf-8-sig``; UTF-16 BOM -> ``utf-16-le``/``utf-16-be``; bytes that are
    valid UTF-8 -> ``utf-8``; otherwise ``cp1252``, or ``latin-1`` when the bytes use code
    points Windows-1252 leaves undefined.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    data = whole if whole is not None else head
    try:
        # A multi-byte character may be cut at the end of a sample: decode incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(data, final=whole is not None)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return "latin-1" if has_cp1252_holes(data) else "cp1252"


def has_cp1252_holes(data: bytes) -> bool:
    return any(bytes([b]) in data for b in _CP1252_HOLES)


CANONICAL = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf-16": "utf-16",
    "utf-16-le": "utf-16-le",
    "utf-16-be": "utf-16-be",
    "iso8859-1": "latin-1",
    "cp1252": "cp1252",
}


def normalise_encoding(name: str) -> str:
    """A user's encoding name in the spelling we report (``latin1`` -> ``latin-1``)."""
    if name.strip().lower() == MIXED:
        return MIXED
    codec = codecs.lookup(name).name  # LookupError: not an encoding
    return CANONICAL.get(codec.replace("_", "-"), codec)


def open_text(source: str | os.PathLike | bytes, encoding: str) -> io.TextIOBase:
    """A text stream; UTF-16 uses the BOM-aware codec so the BOM is not read as text."""
    codec, errors = codec_for(encoding)
    raw = (
        io.BytesIO(bytes(source)) if isinstance(source, bytes | bytearray) else open(source, "rb")  # noqa: SIM115
    )
    if codec == "utf-16" and raw.read(2) not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        codec = encoding  # overridden without BOM: decode as told
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding=codec, errors=errors, newline="")


def codec_for(encoding: str) -> tuple[str, str]:
    """The Python codec and error handler that read ``encoding`` as we report it."""
    if encoding == MIXED:
        return "utf-8", MIXED_ERRORS
    if encoding in ("utf-16-le", "utf-16-be"):
        return "utf-16", "strict"
    return encoding, "strict"


def resolve_encoding(source, head: bytes, encoding: str | None) -> tuple[str, list[dict]]:
    """The encoding to read ``source`` with (``encoding`` when given: LookupError when it
    is not one), and warnings naming the lines of a mixed-encoding file."""
    if encoding:
        enc = normalise_encoding(encoding)
        return enc, (mixed_warnings(scan_utf8(source)) if enc == MIXED else [])
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return detect_encoding(head), []
    # Every byte is looked at: a Windows export may differ from UTF-8 far down the file.
    scan = scan_utf8(source)
    if scan.utf8:
        return "utf-8", []
    if scan.mixed:
        return MIXED, mixed_warnings(scan)
    if isinstance(source, bytes | bytearray):
        holes = has_cp1252_holes(bytes(source))
    else:
        holes = file_has_cp1252_holes(Path(source))
    return ("latin-1" if holes else "cp1252"), []


def file_has_cp1252_holes(path: Path) -> bool:
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            if has_cp1252_holes(block):
                return True
    return False


def undecodable_line(source, encoding: str) -> int | None:
    """The line (counting LF, or CR in a file without LF) of the first byte that is not
    ``encoding`` text; None when every byte decodes."""
    codec, errors = codec_for(encoding)
    decoder = codecs.getincrementaldecoder(codec)(errors)
    raw = io.BytesIO(bytes(source)) if isinstance(source, bytes | bytearray) else open(source, "rb")  # noqa: SIM115
    newlines = {b"\n": 0, b"\r": 0}
    with raw:
        while block := raw.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # ``exc.start`` counts from the bytes the decoder still held (at most 3).
                before = block[: max(exc.start - len(exc.object) + len(block), 0)]
                for nl in newlines:
                    newlines[nl] += before.count(nl)
                return 1 + (newlines[b"\n"] or newlines[b"\r"])
            for nl in newlines:
                newlines[nl] += block.count(nl)
    return None


def _as_cp1252(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    text = "".join(chr(b) if b in _CP1252_HOLES else bytes([b]).decode("cp1252") for b in bad)
    return text, exc.end


codecs.register_error(MIXED_ERRORS, _as_cp1252)


@dataclass
class Utf8Scan:
    """What a pass over the bytes found: whether every byte is UTF-8, whether some non-ASCII
    text is valid UTF-8, and in a file that mixes both the lines (1-based, counting LF)
    holding bytes that are not UTF-8 (the first ``NAMED_LINES``) and how many in all."""

    utf8: bool
    utf8_accents: bool
    bad_lines: list[int]
    bad_line_count: int

    @property
    def mixed(self) -> bool:
        return not self.utf8 and self.utf8_accents


def _blocks(source: str | os.PathLike | bytes):
    """The raw bytes, 1 MiB at a time."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        for start in range(0, len(data), _BLOCK):
            yield data[start : start + _BLOCK]
        return
    with open(source, "rb") as f:
        while block := f.read(_BLOCK):
            yield block


def scan_utf8(source: str | os.PathLike | bytes) -> Utf8Scan:
    """Find the lines that are not UTF-8. A clean file costs one C-speed decode per block;
    lines are looked at one by one only in a file that mixes UTF-8 and other bytes."""
    any_bad = accents = False
    for block in _line_blocks(source):
        try:
            accents = accents or not block.decode("utf-8").isascii()
        except UnicodeDecodeError:
            any_bad = True
            accents = accents or _VALID_MULTIBYTE.search(block) is not None
    if not (any_bad and accents):
        return Utf8Scan(not any_bad, accents, [], 0)
    named: list[int] = []
    count = 0
    lines_before = 0
    for block in _line_blocks(source):
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            for i, line in enumerate(block.split(b"\n")):
                if line.isascii():
                    continue
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    count += 1
                    if len(named) < NAMED_LINES:
                        named.append(lines_before + i + 1)
        lines_before += block.count(b"\n")
    return Utf8Scan(False, accents, named, count)


def _line_blocks(source: str | os.PathLike | bytes):
    """Blocks of whole lines (each ends after a line feed, but the last): no UTF-8
    sequence is cut between two blocks."""
    carry = b""
    for raw in _blocks(source):
        block = carry + raw
        cut = block.rfind(b"\n") + 1
        block, carry = block[:cut], block[cut:]
        if block:
            yield block
    if carry:
        yield carry


def mixed_warnings(scan: Utf8Scan) -> list[dict]:
    """One warning per line read as Windows-1252 (the first ones), then a count."""
    warnings = [
        {
            "line": line,
            "message": (
                f"Line {line} is not UTF-8 like the rest of the file; it was read as "
                "Windows-1252, so check its accented letters."
            ),
        }
        for line in scan.bad_lines
    ]
    more = scan.bad_line_count - len(scan.bad_lines)
    if more > 0:
        warnings.append(
            {
                "line": scan.bad_lines[-1],
                "message": (
                    f"{more:,} more line(s) after line {scan.bad_lines[-1]} are not UTF-8 "
                    "either and were read as Windows-1252; check their accented letters."
                ),
            }
        )
    return warnings
