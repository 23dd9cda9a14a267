"""Hostile files through the upload wizard and ``flask leads import``: refused with one
sentence and nothing staged, or read with per-row reasons — and the app still serving.

The reading rules themselves are proven in tests/domain/test_csv_io.py; here the same
inputs take the user's path (see tests/hostile/__init__.py for which test proves what)."""

from __future__ import annotations

import codecs
import gzip
import io
import random
import tempfile
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadapp.domain import csv_io
from leadapp.errors import MESSAGES
from leadapp.extensions import db
from leadapp.models import Import
from leadapp.services.imports import errors as import_errors
from leadapp.services.imports import stage as import_stage
from tests.conftest import csrf_from
from tests.hostile.conftest import (
    FILE_ERROR,
    JOB_ERROR,
    assert_nothing_written,
    assert_serving,
    cli_import,
    one_sentence,
    text_of,
)

HEADER = "First Name,Phone,Notes\n"
ROW = "Ann,(212) 555-0101,ok\n"


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


REFUSED_AT_UPLOAD = {
    "empty": (b"", "The file is empty."),
    "header-only": (HEADER.encode(), "The file has a header row but no leads under it."),
    "blank-lines-only": (b"\r\n\n  \n\t\n", "The file is empty."),
    "bom-and-blank-lines": (codecs.BOM_UTF8 + b"\n\n", "The file is empty."),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "a PNG image"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "a PDF document"),
    "xlsx": (xlsx_bytes(), "an Excel .xlsx file"),
    "gz": (gzip.compress((HEADER + ROW).encode()), "a GZip-compressed file"),
    "200-KiB-field": (
        (HEADER + "Ann,(212) 555-0101," + "x" * 200 * 1024 + "\n").encode(),
        "Line 2 has a cell longer than 100,000 characters; is a quote left open?",
    ),
    # A NUL past the first 8 KiB (the binary sniff) but inside the sampled head.
    "nul-in-the-sample": (
        (HEADER + ROW * 500 + "Bo,(212) 555-0102,a\x00b\n").encode(),
        "Line 502 contains a NUL byte (binary data, not text)",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED_AT_UPLOAD))
def test_refused_uploads_say_why_and_keep_nothing(app, wizard, name):
    data, sentence = REFUSED_AT_UPLOAD[name]
    import_id = wizard.new()
    response = wizard.upload(import_id, data, "leads.csv")
    assert response.status_code == 422
    (error,) = FILE_ERROR.findall(text_of(response))
    assert sentence in error and one_sentence(error), error
    imp = wizard.imp(import_id)
    assert (imp.status, imp.file_name, imp.staging_path) == ("draft", None, None)
    assert_nothing_written(app, wizard)
    assert_serving(wizard.client)


@pytest.mark.parametrize("name", ["blank-lines-only", "pdf", "gz", "200-KiB-field"])
def test_refused_files_on_the_command_line(app, wizard, runner, tmp_path, name):
    """The same refusals from ``flask leads import`` (empty, header-only, PNG and XLSX are
    in tests/imports/test_cli.py::test_bad_files_are_refused)."""
    data, sentence = REFUSED_AT_UPLOAD[name]
    path = tmp_path / "leads.csv"
    path.write_bytes(data)
    result, _ = cli_import(runner, path)
    assert result.exit_code != 0
    assert sentence in result.output and "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Import.id))) == 0
    assert_nothing_written(app, wizard)


# ---------------------------------------------------------------------------------------
# Encodings through the wizard: detected, shown, decoded


ACCENTS = "First Name,Phone,Notes\nJosé,(212) 555-0101,Zürich\nZoë,(212) 555-0102,Köln\n"


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (codecs.BOM_UTF8 + ACCENTS.encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + ACCENTS.encode("utf-16-le"), "utf-16-le"),
        (ACCENTS.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8-bom", "utf-16", "windows-1252"],
)
def test_encodings_are_shown_and_imported_right(app, wizard, data, detected):
    import_id = wizard.new()
    assert wizard.upload(import_id, data).status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/file"))
    assert f'data-testid="detected">{detected}, delimiter comma' in page
    assert "José" in page and "Zürich" in page
    assert wizard.mapping(import_id).status_code == 302
    assert 'id="check-grid"' in wizard.duplicates(import_id).get_data(as_text=True)
    wizard.start(import_id)
    leads = wizard.leads()
    assert [(lead.first_name, lead.custom["notes"]) for lead in leads] == [
        ("José", "Zürich"),
        ("Zoë", "Köln"),
    ]


def test_invalid_utf8_is_refused_when_utf8_is_chosen(app, wizard):
    """Detection falls back to Windows-1252/Latin-1 by design (tests/domain); a supervisor
    who insists on UTF-8 gets the byte or line that is not UTF-8."""
    data = (HEADER + "Zo\xeb,(212) 555-0101,x\n").encode("cp1252")
    import_id = wizard.new()
    response = wizard.upload(import_id, data, encoding="utf-8")
    assert response.status_code == 422
    (error,) = FILE_ERROR.findall(text_of(response))
    assert error == (
        "The file is not readable as utf-8 text (byte 26 is not valid); choose another encoding."
    )
    assert_nothing_written(app, wizard)
    assert_serving(wizard.client)


def test_mixed_encodings_are_shown_and_utf8_refuses_the_odd_line(app, wizard):
    """A UTF-8 file with one Windows-1252 line deep inside. Detection reads each line as it
    was written (issue 13: not the whole file as Windows-1252, which made "ZoÃ«" of every
    UTF-8 "Zoë") and names the odd line on the file step; re-reading it as UTF-8 names the
    line that is not UTF-8 and the check step stops there, with nothing written."""
    data = (HEADER + "José,(212) 555-0101,Zürich\n" * 20_000).encode() + (
        "Zoë,(212) 555-0102,Köln\n".encode("cp1252")
    )
    import_id = wizard.new()
    assert wizard.upload(import_id, data).status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/file"))
    assert 'data-testid="detected">utf-8+cp1252, delimiter comma' in page
    assert 'data-line="20002">Line 20002 is not UTF-8' in page
    assert "José" in page and "Ã" not in page

    token = csrf_from(wizard.client, f"/imports/{import_id}/file")
    wizard.client.post(
        f"/imports/{import_id}/format",
        data={"csrf_token": token, "encoding": "utf-8", "delimiter": ","},
    )
    assert wizard.mapping(import_id).status_code == 302
    check = text_of(wizard.duplicates(import_id))
    (error,) = JOB_ERROR.findall(check)
    assert "Line 20002 is not readable as utf-8 text; choose another encoding." in error
    assert_nothing_written(app)
    assert not (wizard.new_staging()[0] / "staged.parquet").exists()
    assert not (wizard.new_staging()[0] / "staged.part").exists()
    assert_serving(wizard.client)


# ---------------------------------------------------------------------------------------
# Line ends and quotes


def test_cr_only_line_ends_are_rows(app, wizard):
    """Excel's "CSV (Macintosh)" ends lines with CR alone (it was refused as having no
    header row before the sniffer read CR as a line end)."""
    data = (HEADER + ROW + "Bo,(212) 555-0102,b\n").replace("\n", "\r").encode()
    imp = wizard.import_file(data)
    assert (imp.counts["rows"], imp.counts["imported"]) == (2, 2)
    assert [lead.first_name for lead in wizard.leads()] == ["Ann", "Bo"]
    assert_serving(wizard.client)


def test_an_unterminated_quote_is_refused_not_swallowed(app, wizard):
    """Without the check, csv took the rest of the file as the open cell: one row
    "imported" with every following row inside its notes."""
    data = (
        HEADER + 'Ann,(212) 555-0101,"open\nBo,(212) 555-0102,x\nCy,(212) 555-0103,y\n'
    ).encode()
    import_id = wizard.new()
    assert wizard.upload(import_id, data).status_code == 302  # the sniffed sample may be cut
    assert wizard.mapping(import_id).status_code == 302
    (error,) = JOB_ERROR.findall(text_of(wizard.duplicates(import_id)))
    assert error.endswith(
        "Line 2 opens a quote that is never closed, so the rest of the file would be one "
        "cell; close the quote and upload the file again."
    )
    assert wizard.imp(import_id).status == "draft"  # another file can be chosen
    assert_nothing_written(app)
    assert_serving(wizard.client)


def test_an_unterminated_quote_on_the_command_line(app, wizard, runner, tmp_path):
    path = tmp_path / "open.csv"
    path.write_text(HEADER + ROW + 'Bo,(212) 555-0102,"open\nCy,(212) 555-0103,y\n')
    result, _ = cli_import(runner, path)
    assert result.exit_code != 0
    assert "Line 3 opens a quote that is never closed" in result.output
    with app.app_context():
        imp = db.session.scalar(sa.select(Import))
        assert imp.status == "failed" and imp.error.startswith("Line 3 opens a quote")
    assert_nothing_written(app)


def test_stray_quotes_stay_text_or_give_a_row_reason(app, wizard, runner, tmp_path):
    path = tmp_path / "stray.csv"
    path.write_text(
        HEADER
        + 'Ann,(212) 555-0101,he said "hi" twice\n'
        + 'Bo,(212) 5"55-0102,x"y\n'
        + 'Cy,(212) 555-0103,"quoted" tail\n'
    )
    result, counts = cli_import(runner, path)
    assert result.exit_code == 0, result.output
    assert (counts["rows"], counts["valid"], counts["invalid"]) == (3, 2, 1)
    notes = {lead.first_name: lead.custom["notes"] for lead in wizard.leads()}
    assert notes == {"Ann": 'he said "hi" twice', "Cy": "quoted tail"}
    with app.app_context():
        imp = db.session.scalar(sa.select(Import))
        reasons = import_stage.staged(imp, ["_line", "_reasons"]).set_index("_line")
        assert reasons.loc[3, "_reasons"].startswith("phone1: ")


# ---------------------------------------------------------------------------------------
# Size and binary bytes: no line breaks, NUL deep inside


def test_a_large_file_without_line_breaks_is_refused(app, wizard):
    data = b"a," * (csv_io.MAX_LINE_BYTES // 2 + 1024)  # a little over 4 MiB, one line
    import_id = wizard.new()
    response = wizard.upload(import_id, data)
    assert response.status_code == 422
    (error,) = FILE_ERROR.findall(text_of(response))
    assert error == ("The file has no line breaks in its first 4 MiB, so it is not a CSV of leads.")
    assert_nothing_written(app, wizard)
    assert_serving(wizard.client)


def test_nul_deep_in_the_file_stops_the_check_and_leaves_no_half_staged_rows(
    app, wizard, monkeypatch
):
    """A NUL past the sampled head and past the first staged chunk: PostgreSQL cannot store
    it (the import used to fail there with a database error, while SQLite stored it), so it
    is refused with its line on both, and the chunks staged before it are removed."""
    monkeypatch.setattr(import_stage, "STAGE_CHUNK", 1_000)
    rows = 12_000  # ~300 KiB: past the 256 KiB sample
    data = (HEADER + ROW * rows + "Bo,B\x00b,(212) 555-0102\n").encode()
    import_id = wizard.new()
    assert wizard.upload(import_id, data).status_code == 302
    assert wizard.mapping(import_id).status_code == 302
    (error,) = JOB_ERROR.findall(text_of(wizard.duplicates(import_id)))
    assert error.endswith(
        f"Line {rows + 2} contains a NUL byte (binary data, not text): "
        "save or export the file as CSV again and upload that."
    )
    (folder,) = wizard.new_staging()
    assert sorted(p.name for p in folder.iterdir()) == ["source.csv"]
    assert_nothing_written(app)
    assert_serving(wizard.client)


def test_nul_deep_in_the_file_on_the_command_line(app, wizard, runner, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes((HEADER + ROW * 12_000 + "B\x00o,(212) 555-0102,x\n").encode())
    result, _ = cli_import(runner, path)
    assert result.exit_code != 0
    assert "Line 12002 contains a NUL byte" in result.output
    assert_nothing_written(app)


# ---------------------------------------------------------------------------------------
# The request itself: too large, cut off


def test_an_upload_over_the_limit_is_413_with_the_sentence(app, wizard, monkeypatch):
    import_id = wizard.new()
    token = csrf_from(wizard.client, f"/imports/{import_id}/file")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    body = (HEADER + ROW * 1000).encode()
    response = wizard.client.post(
        f"/imports/{import_id}/file",
        data={"csrf_token": token, "file": (io.BytesIO(body), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert (
        "The file is larger than the upload limit. Split it into smaller files and try again."
        in text_of(response)
    )
    assert wizard.imp(import_id).file_name is None
    assert_nothing_written(app, wizard)
    assert_serving(wizard.client)


def test_a_client_disconnecting_mid_upload(app, wizard):
    """The body ends before its Content-Length (and before the closing boundary), as when
    the browser goes away: a 400 with a sentence, nothing staged, the app keeps serving."""
    import_id = wizard.new()
    token = csrf_from(wizard.client, f"/imports/{import_id}/file")
    boundary = "hostile-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{HEADER}{ROW * 200}"
    ).encode()
    response = wizard.client.post(
        f"/imports/{import_id}/file",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Content-Length": str(len(body) + 10_000)},
    )
    assert response.status_code == 400
    # werkzeug drops the cut-off form, so the CSRF check is the first to refuse it.
    assert "Your form expired or was not sent from this site." in text_of(response)
    assert wizard.imp(import_id).file_name is None
    assert_nothing_written(app, wizard)
    assert_serving(wizard.client)


# ---------------------------------------------------------------------------------------
# The disk filling up (a real 256 KiB tmpfs, see ``small_disk``)


def _noisy_rows(size: int) -> bytes:
    """A valid lead file of about ``size`` bytes that compresses badly (random notes), so
    its staged rows take at least as much room as the file."""
    rng = random.Random(7)
    lines = [HEADER]
    total = len(HEADER)
    i = 0
    while total < size:
        line = f"Ann{i},(212) 555-{i % 10_000:04d},{rng.randbytes(24).hex()}\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines).encode()


def test_a_full_disk_while_saving_the_upload(app, wizard, small_disk, monkeypatch):
    """The staging folder's disk has 256 KiB and the file is 400 KiB: the sentence (507),
    the partial file gone and its space back, the import still waiting for a file; with
    space freed, the same import takes the same file."""
    monkeypatch.setitem(app.config, "STAGING_DIR", str(small_disk.path))
    data = _noisy_rows(400 * 1024)
    import_id = wizard.new()
    response = wizard.upload(import_id, data, "big.csv")
    assert response.status_code == 507
    (error,) = FILE_ERROR.findall(text_of(response))
    assert error == import_errors.DISK_FULL_UPLOAD and one_sentence(error)
    assert small_disk.files() == [] and small_disk.used() < 16 * 1024
    imp = wizard.imp(import_id)
    assert (imp.status, imp.step, imp.file_name, imp.staging_path) == (
        "draft",
        "file",
        None,
        None,
    )
    assert_nothing_written(app, wizard)
    assert_serving(wizard.client)

    small_disk.grow("4m")
    assert wizard.upload(import_id, data, "big.csv").status_code == 302
    imp = wizard.imp(import_id)
    assert imp.file_name == "big.csv" and imp.file_size == len(data)
    assert small_disk.files() == [Path(imp.staging_path) / "source.csv"]


def test_a_full_disk_while_the_request_is_read(app, wizard, small_disk, monkeypatch):
    """Werkzeug spools an upload over 500 KiB to the temp folder while it reads the form;
    that disk full: the general sentence (507), the spooled part gone, the app serving."""
    import_id = wizard.new()
    token = csrf_from(wizard.client, f"/imports/{import_id}/file")
    boundary = "disk-full-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + _noisy_rows(700 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(small_disk.path))  # as TMPDIR would
        response = wizard.client.post(
            f"/imports/{import_id}/file",
            data=body,  # bytes: the test client itself writes nothing to the temp folder
            content_type=f"multipart/form-data; boundary={boundary}",
        )
    assert response.status_code == 507
    assert MESSAGES[507] in text_of(response) and one_sentence(MESSAGES[507])
    assert small_disk.files() == [] and small_disk.used() < 16 * 1024
    assert wizard.imp(import_id).file_name is None
    assert_nothing_written(app, wizard)
    assert_serving(wizard.client)


def test_a_full_disk_while_the_file_is_checked(app, wizard, small_disk, monkeypatch):
    """The 150 KiB file fits, its staged rows do not: the check says so, no half-staged
    file stays, the page leads back to the duplicates step; with space freed, the check
    runs again and the import writes its leads."""
    monkeypatch.setitem(app.config, "STAGING_DIR", str(small_disk.path))
    data = _noisy_rows(150 * 1024)
    import_id = wizard.new()
    assert wizard.upload(import_id, data).status_code == 302
    assert wizard.mapping(import_id).status_code == 302
    check = text_of(wizard.duplicates(import_id))
    (error,) = JOB_ERROR.findall(check)
    assert error == import_errors.DISK_FULL_STAGING and one_sentence(error)
    assert f'href="/imports/{import_id}/duplicates"' in check  # "Back to duplicates"
    (folder,) = wizard.new_staging()
    assert small_disk.files() == [folder / "source.csv"]
    imp = wizard.imp(import_id)
    assert (imp.status, imp.step) == ("draft", "check")
    assert_nothing_written(app)
    assert_serving(wizard.client)

    small_disk.grow("4m")
    check = wizard.duplicates(import_id)
    assert 'id="check-grid"' in check.get_data(as_text=True), JOB_ERROR.findall(text_of(check))
    assert wizard.start(import_id).status_code == 302 and not wizard.errors[1:]
    assert wizard.imp(import_id).status == "completed"
    assert len(wizard.leads()) == wizard.imp(import_id).counts["imported"] > 0
