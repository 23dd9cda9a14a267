"""CSV decoding, delimiter detection, chunked reading and refusals."""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile

import pandas as pd
import pytest

from leadapp.domain import csv_io, leadgen
from leadapp.domain.csv_io import CsvError, read_chunks, sniff

TEXT = "Name,Phone,City\nJosé Müller,415-555-2671,Zürich\nZoë,+44 7400 123456,Köln\n"


def _all(source, **kw) -> pd.DataFrame:
    return pd.concat(list(read_chunks(source, **kw)))


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.replace("Zoë", "Zoë “Z”").encode("cp1252"), "cp1252"),
        (TEXT.encode("latin-1") + "Ann,\x81,x\n".encode("latin-1"), "latin-1"),
    ],
)
def test_encodings_are_detected_and_decoded(data, encoding, tmp_path):
    info = sniff(data)
    assert info.encoding == encoding
    assert info.headers == ["Name", "Phone", "City"]
    assert info.preview[0] == ["José Müller", "415-555-2671", "Zürich"]
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    df = _all(path)
    assert df["City"].tolist()[:2] == ["Zürich", "Köln"]
    assert df.columns.tolist() == ["Name", "Phone", "City"]


def test_utf8_deep_in_a_large_file_is_checked_beyond_the_sample(tmp_path):
    body = "a,b\n" + "x,y\n" * 100_000 + "Caf\xe9,1\n"
    path = tmp_path / "f.csv"
    path.write_bytes(body.encode("cp1252"))
    assert sniff(path).encoding == "cp1252"
    assert _all(path)["a"].iloc[-1] == "Café"


def test_encoding_override_and_undecodable_bytes():
    data = "Name,Phone\nJosé,1\n".encode("cp1252")
    assert sniff(data, encoding="latin-1").encoding == "latin-1"
    with pytest.raises(CsvError) as err:
        sniff(data, encoding="utf-8")
    assert err.value.code == "undecodable"
    assert "utf-8" in str(err.value)
    with pytest.raises(CsvError) as err:
        sniff(data, encoding="klingon")
    assert err.value.code == "unknown_encoding"


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters_are_detected(delim):
    rows = [["Name", "Phone", "Note"], ["Ann", "415-555-2671", "a, b; c"], ["Bo", "1", "x"]]
    buf = io.StringIO()
    import csv

    csv.writer(buf, delimiter=delim, lineterminator="\n").writerows(rows)
    data = buf.getvalue().encode()
    info = sniff(data)
    assert info.delimiter == delim
    df = _all(data)
    assert df["Note"].tolist() == ["a, b; c", "x"]


def test_sep_line_sets_the_delimiter_and_is_skipped():
    data = b"sep=;\nName;Phone\nAnn;1,5\n\nBo;2\n"
    info = sniff(data)
    assert info.delimiter == ";" and info.sep_line
    df = _all(data)
    assert df["Phone"].tolist() == ["1,5", "2"]
    assert df.index.tolist() == [3, 5]  # file line numbers, the sep line counted


def test_delimiter_override():
    data = b"a;b,c\n1;2,3\n"
    assert _all(data, delimiter=";").columns.tolist() == ["a", "b,c"]
    with pytest.raises(CsvError, match="separator"):
        sniff(data, delimiter=";;")


def test_quotes_line_ends_blank_lines_and_line_numbers():
    data = b'Name,Notes\r\n"Ann","said ""hi"",\nthen left"\r\n\r\n,\rBo,plain\nCy,"x,y"\n\n'
    reader = read_chunks(data)
    df = pd.concat(list(reader))
    assert df["Notes"].tolist() == ['said "hi",\nthen left', "plain", "x,y"]
    assert df.index.tolist() == [2, 6, 7]
    assert reader.report["blank_rows_skipped"] == 3  # CRLF line, ",", last LF line
    assert reader.report["rows"] == 3


def test_ragged_rows_are_reported_with_line_numbers():
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n"
    reader = read_chunks(data)
    df = pd.concat(list(reader))
    assert reader.report["ragged_rows"] == [(3, 2), (4, 4)]
    assert df.loc[3].tolist() == ["4", "5", ""]
    assert df.loc[4].tolist() == ["6", "7", "8"]


def test_duplicate_and_dirty_headers():
    data = "\ufeff Phone\u00a0,Phone,phone,,\u200bEmail\n1,2,3,4,5\n".encode()
    info = sniff(data)
    assert info.headers == ["Phone", "Phone (2)", "phone (3)", "Column 4", "Email"]
    assert _all(data).columns.tolist() == info.headers


def test_cells_stay_text():
    data = b"id,zip,flag,empty,na\n007,02134,TRUE,,N/A\n"
    df = _all(data)
    assert df.iloc[0].tolist() == ["007", "02134", "TRUE", "", "N/A"]
    assert all(str(t) == "str" for t in df.dtypes)


def test_chunks_have_at_most_chunk_rows(tmp_path):
    path = tmp_path / "leads.csv"
    leadgen.generate(2_500, path, seed=4, quirks=True)
    reader = read_chunks(path, chunk_rows=1000)
    sizes = [len(c) for c in reader]
    assert sizes == [1000, 1000, 500]
    assert reader.encoding == "utf-8-sig"
    assert reader.report["rows"] == 2500
    # pandas agrees on the content (quoted newlines, commas, formulas in notes).
    expected = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    got = pd.concat(list(read_chunks(path, chunk_rows=700)))
    assert got.reset_index(drop=True).equals(expected.astype("str"))


def test_over_long_field_is_refused():
    data = b"a,b\n1," + b"x" * 2000 + b"\n"
    with pytest.raises(CsvError) as err:
        list(read_chunks(data, max_field_chars=1000))
    assert err.value.code == "field_too_long"
    assert err.value.line == 2
    assert "Line 2" in str(err.value)
    assert len(_all(data, max_field_chars=5000)) == 1


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"  \r\n\n", "empty_file"),
        (codecs.BOM_UTF8, "empty_file"),
        (b"Name,Phone\n", "header_only"),
        (b"Name,Phone\n\n,\n", "header_only"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file"),
        (b"%PDF-1.7\n%\xe2\xe3", "binary_file"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "binary_file"),
        (b"Name\x00Phone\n1\x002\n", "binary_file"),
    ],
)
def test_refusals(data, code):
    with pytest.raises(CsvError) as err:
        sniff(data)
        list(read_chunks(data))
    assert err.value.code == code
    message = str(err.value)
    assert message.endswith(".") and message.count(". ") == 0  # one sentence


def test_real_zip_xlsx_and_gzip_are_refused(tmp_path):
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    gz = gzip.compress(TEXT.encode())
    for data, word in [(zbuf.getvalue(), "Excel"), (gz, "GZip")]:
        path = tmp_path / "leads.csv"
        path.write_bytes(data)
        with pytest.raises(CsvError, match=word) as err:
            read_chunks(path)
        assert err.value.code == "binary_file"


def test_no_line_breaks_past_the_limit(monkeypatch):
    monkeypatch.setattr(csv_io, "MAX_LINE_BYTES", 1000)
    with pytest.raises(CsvError) as err:
        sniff(b"a," * 1000)
    assert err.value.code == "no_line_breaks"
    assert sniff(b"a,b\n" + b"1,2\n" * 10).headers == ["a", "b"]


def test_shared_samples_read_like_pandas():
    from tests.domain.helpers import shared_samples

    for path in shared_samples():
        got = pd.concat(list(read_chunks(path, chunk_rows=500)))
        expected = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        assert got.reset_index(drop=True).equals(expected.astype("str")), path.name


# --------------------------------------------------------------------------------------------
# No row disappears without a word: stray quotes, mixed encodings, files without a header


def stray_quote_file(rows: int = 2000) -> bytes:
    """A lead file whose line 52 holds ``"N50`` (a quote nobody closed) and whose line 1502
    holds a properly quoted ``"Smith, J"``: read as CSV, lines 52 to 1502 are one row."""
    lines = ["Name,Phone,Note"]
    for i in range(rows):
        line = len(lines) + 1
        if line == 52:
            lines.append(f'Lead {i},+1 415 555 {i:04d},"N50')
        elif line == 1502:
            lines.append(f'"Smith, J",+1 415 555 {i:04d},ok')
        else:
            lines.append(f"Lead {i},+1 415 555 {i:04d},ok")
    return ("\n".join(lines) + "\n").encode()


def test_a_stray_quote_is_reported_with_the_lines_where_it_opens_and_closes():
    data = stray_quote_file()
    reader = read_chunks(data)
    assert sum(len(c) for c in reader) == 550  # read as the file says ...
    stray = reader.report["stray_quotes"]
    assert stray == [(52, 1502)]  # ... but not without a word
    (warning,) = reader.report["warnings"]
    assert warning["line"] == 52
    assert "1502" in warning["message"] and "1,450" in warning["message"]

    check = csv_io.check_file(data)
    assert check.stray_quotes == [(52, 1502)]
    assert [w["line"] for w in check.warnings] == [52]


def test_a_stray_quote_read_as_plain_text_gives_every_row_back():
    data = stray_quote_file()
    check = csv_io.check_file(data, repair=True)
    assert check.literal_quote_lines == [52]
    assert check.stray_quotes == []
    assert [w["line"] for w in check.warnings] == [52]
    assert "plain text" in check.warnings[0]["message"]
    df = _all(data, literal_quote_lines=check.literal_quote_lines)
    assert len(df) == 2000
    assert df.loc[52, "Note"] == '"N50'
    assert df.loc[1502, "Name"] == "Smith, J"
    assert df.index[-1] == 2001  # line numbers still follow the file


def test_multi_line_notes_are_not_taken_for_stray_quotes():
    data = (
        b'Name,Phone,City,Note\nAnn,4155550101,SF,"Called twice,\nno answer"\n'
        b"Bob,4155550102,LA,ok\n"
    )
    reader = read_chunks(data)
    assert sum(len(c) for c in reader) == 2
    assert reader.report["stray_quotes"] == []
    assert reader.report["warnings"] == []


def test_a_stray_quote_in_a_one_column_file_is_reported():
    data = b'phone\n"4155550101\n4155550102\n"4155550103"\n'
    check = csv_io.check_file(data, repair=True)
    assert check.literal_quote_lines == [2]
    df = _all(data, literal_quote_lines=check.literal_quote_lines)
    assert df["phone"].tolist() == ['"4155550101', "4155550102", "4155550103"]


def test_mixed_encoding_lines_are_decoded_each_as_written_and_named():
    lines = [b"Name,Phone,City"]
    for i in range(20):
        name = "Zoë Müller" if i % 3 else "Renée"
        codec = "cp1252" if i in (4, 11) else "utf-8"
        lines.append(f"{name},+1 415 555 {i:04d},Köln".encode(codec))
    data = b"\n".join(lines) + b"\n"
    info = sniff(data)
    assert info.encoding == "utf-8+cp1252"
    assert [w["line"] for w in info.warnings] == [6, 13]
    assert "Windows-1252" in info.warnings[0]["message"]
    reader = read_chunks(data)
    df = pd.concat(list(reader))
    assert set(df["Name"]) == {"Zoë Müller", "Renée"}
    assert set(df["City"]) == {"Köln"}
    assert [w["line"] for w in reader.report["warnings"]] == [6, 13]


def test_a_cp1252_file_without_utf8_is_still_plain_cp1252():
    data = "Name,Phone\nRenée,4155550101\n".encode("cp1252")
    info = sniff(data)
    assert info.encoding == "cp1252"
    assert info.warnings == []


@pytest.mark.parametrize(
    "first",
    ["Ann,Lee,4155550101,ann@example.com", "Ann,Lee,(415) 555-0101,", "x,y,z,ann@example.com"],
)
def test_a_first_row_of_data_is_not_taken_for_column_names(first):
    data = (first + "\nBob,Ray,4155550102,bob@example.com\n").encode()
    info = sniff(data)
    assert info.has_header is False
    assert info.headers == ["Column 1", "Column 2", "Column 3", "Column 4"]
    assert info.preview[0] == first.split(",")
    df = _all(data)
    assert len(df) == 2
    assert df.index.tolist() == [1, 2]


def test_the_header_choice_overrides_the_detection():
    data = b"Name,Phone\nAnn,4155550101\n"
    assert sniff(data).has_header is True
    info = sniff(data, header=False)
    assert info.headers == ["Column 1", "Column 2"]
    assert len(_all(data, header=False)) == 2
    data = b"Ann,4155550101\nBob,4155550102\n"
    assert sniff(data).has_header is False
    assert _all(data, header=True).columns.tolist() == ["Ann", "4155550101"]
