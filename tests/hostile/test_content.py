"""Hostile cell values, file names and form values through the wizard: formula payloads
in every download, markup in names and notes, invisible characters in phones, path-like
file names, a mail-header injection, and the same file uploaded twice."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadapp.domain.csv_export import TRIGGERS
from leadapp.extensions import db, redis_connection
from leadapp.models import BackgroundJob, EmailDelivery, Import, LeadPool
from tests.hostile.conftest import (
    FILE_ERROR,
    assert_nothing_written,
    assert_serving,
    text_of,
)

E164 = re.compile(r"\+[1-9]\d{6,14}")


def write_rows(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def read_download(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


# ---------------------------------------------------------------------------------------
# Formula payloads


FORMULA_HEADER = [
    "Customer Key", "First Name", "Last Name", "Email", "Phone", "Phone 2", "State",
    "Postal Code", "Country", "Source", "Notes", "=SUM(1)",
]  # fmt: skip
PAYLOADS = [
    '=HYPERLINK("http://x.invalid","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    " =1+1",  # a blank first (issue 16)
    '\uff1dHYPERLINK("http://x.invalid")',  # a full-width = (issue 16)
]


def formula_rows() -> list[list[str]]:
    rows = [FORMULA_HEADER]
    for i, payload in enumerate(PAYLOADS):
        phone = f"(212) 555-01{i:02d}"
        rows.append(
            [payload, payload, payload, f"=x{i}@x.test", phone, "+1 212 555 0199", payload,
             payload, payload, payload, payload, payload]
        )  # fmt: skip
    rows.append(["=dup", "=dup", "=dup", "", "(212) 555-0100", "", "", "", "", "=dup", "=dup", ""])
    rows.append(["=bad", "=bad", "=bad", "", "=12345", "", "", "", "", "=bad", "=bad", ""])
    return rows


def assert_no_formula(rows: list[list[str]], where: str) -> int:
    """No cell a spreadsheet would read as a formula: none starts with a trigger, also after
    blanks and Unicode normalisation (full-width ＝), except an E.164 phone (+ and digits)."""
    cells = 0
    for row in rows[1:]:
        for cell in row:
            if not E164.fullmatch(cell):
                assert not cell.startswith(TRIGGERS), f"{where}: {cell!r}"
                first = unicodedata.normalize("NFKC", cell).lstrip()[:1]
                assert first not in ("=", "+", "-", "@"), f"{where}: {cell!r}"
            cells += 1
    return cells


def test_formula_payloads_are_neutralised_in_every_download(app, wizard):
    """Every cell of the invalid-rows, duplicates, log and data downloads of the import,
    and of the pool's leads CSV, is formula-safe; phones still read as numbers."""
    import_id = wizard.through_check(
        write_rows(formula_rows()), "=payloads.csv", "=pool", override={10: "", 11: "notes"}
    )
    downloads = {}
    for kind in ("invalid", "duplicates", "log", "current"):
        rows = read_download(wizard.client.get(f"/imports/{import_id}/download/{kind}.csv"))
        assert assert_no_formula(rows, kind) > 0
        downloads[kind] = rows
    wizard.start(import_id)
    imp = wizard.imp(import_id)
    assert imp.status == "completed", imp.error

    invalid = {r[0]: r for r in downloads["invalid"][1:]}
    assert "'=12345" in {c for row in invalid.values() for c in row}
    assert len(downloads["duplicates"]) == 2  # the header and the repeated (212) 555-0100
    assert "'=SUM(1) -> notes" in [entry for _, entry in downloads["log"][1:]]

    leads = read_download(wizard.client.get(f"/pools/{imp.pool_id}/download/leads.csv"))
    header = leads[0]
    assert assert_no_formula(leads, "pool leads") > 0
    assert len(leads) == 1 + len(PAYLOADS)
    phone1, phone2 = header.index("phone1"), header.index("phone2")
    for row in leads[1:]:
        # E.164 as stored, no apostrophe: the file re-imports into a dialer (issue 16).
        assert E164.fullmatch(row[phone1])
        assert row[phone2] == "+12125550199"
    first = header.index("first_name")
    assert {row[first].lstrip("'\t\r ") for row in leads[1:]} >= {"-2+3", "@SUM(A1:A9)"}
    for kind in ("log", "statistics"):
        rows = read_download(wizard.client.get(f"/pools/{imp.pool_id}/download/{kind}.csv"))
        assert_no_formula(rows, f"pool {kind}")


def test_short_and_long_rows_are_warned_about_in_the_log(app, wizard):
    data = write_rows(
        [
            ["First Name", "Phone", "Notes"],
            ["Ann", "(212) 555-0101"],
            ["Bo", "(212) 555-0102", "x", "extra", "=cells"],
        ]
    )
    import_id = wizard.through_check(data)
    log = read_download(wizard.client.get(f"/imports/{import_id}/download/log.csv"))
    warnings = [entry for kind, entry in log[1:] if kind == "warning"]
    assert warnings == [
        "line 2: the number of cells differs from the header",
        "line 3: the number of cells differs from the header",
    ]
    wizard.start(import_id)
    assert [(lead.first_name, lead.custom.get("notes")) for lead in wizard.leads()] == [
        ("Ann", None),
        ("Bo", "x"),
    ]


# ---------------------------------------------------------------------------------------
# Markup in names, notes and pool names


MARKUP = {
    "<script>alert(1)</script>": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<img src=x onerror=alert(2)>": "&lt;img src=x onerror=alert(2)&gt;",
    '<b hx-get="/admin/users" hx-trigger="load">': "&lt;b hx-get=&#34;/admin/users&#34;",
    'x" hx-post="/pools/bulk" hx-trigger="load': "x&#34; hx-post=&#34;/pools/bulk&#34;",
}
RAW = ["<script>alert(1)", "<img src=x", 'hx-get="/admin/users"', 'hx-post="/pools/bulk"']


def assert_escaped(html: str, values) -> None:
    for raw in RAW:
        assert raw not in html, raw
    for value in values:
        assert MARKUP[value] in html, value


def test_markup_in_names_and_notes_is_shown_escaped(app, wizard):
    rows = [["First Name", "Last Name", "Phone", "Notes"]]
    for i, value in enumerate(MARKUP):
        rows.append([value, "Doe", f"(212) 555-01{i:02d}", value])
    rows.append([list(MARKUP)[0], "Bad", "not a phone", list(MARKUP)[1]])  # an invalid row
    pool_name = "<img src=x onerror=alert(2)>"
    import_id = wizard.through_check(write_rows(rows), "<script>alert(1)<.csv", pool_name)

    check = wizard.client.get(f"/imports/{import_id}/check").get_data(as_text=True)
    assert_escaped(check, MARKUP)
    partial = wizard.client.get(
        f"/imports/{import_id}/check?show=invalid", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert_escaped(partial, list(MARKUP)[:2])
    editor = wizard.client.get(f"/imports/{import_id}/rows/0/first_name").get_data(as_text=True)
    assert_escaped(editor, [list(MARKUP)[0]])
    file_page = wizard.client.get(f"/imports/{import_id}/file").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;.csv" in file_page
    assert_escaped(file_page, [])

    wizard.start(import_id)
    imp = wizard.imp(import_id)
    assert imp.status == "completed", imp.error
    for lead in wizard.leads():
        assert lead.first_name in MARKUP  # stored as typed, escaped when shown
        page = wizard.client.get(f"/leads/{lead.id}").get_data(as_text=True)
        assert_escaped(page, {lead.first_name, lead.custom["notes"]})
    grid = wizard.client.get("/pools").get_data(as_text=True)
    assert_escaped(grid, [pool_name])
    pool_page = wizard.client.get(f"/pools/{imp.pool_id}").get_data(as_text=True)
    assert_escaped(pool_page, [pool_name])
    show = wizard.client.get(f"/imports/{import_id}").get_data(as_text=True)
    assert_escaped(show, [pool_name])


# ---------------------------------------------------------------------------------------
# Invisible characters in phones


INVISIBLE = [
    ("\u202e(212) 555-0101", "+12125550101"),  # right-to-left override in front
    ("(212)\u200b 555-0102", "+12125550102"),  # zero-width space
    ("\u200f+1 212 555 0103\u2066", "+12125550103"),  # RTL mark, left-to-right isolate
    ("\ufeff212-555-0104\u200d", "+12125550104"),  # BOM as ZWNBSP, zero-width joiner
    ("212\u2060555\u200c0105", None),  # word joiner, ZWNJ: "not a number", with the reason
    ("\u202e5010-555 )212(", None),  # digits typed reversed behind an RTL override
]


def test_invisible_characters_in_phones_are_never_stored(app, wizard):
    rows = [["First Name", "Phone", "Phone 2"]]
    for i, (raw, _) in enumerate(INVISIBLE):
        rows.append([f"P{i}", raw, "\u202e(415) 555-0100"])
    # Phone 2 has more valid numbers (6 to 4), so the wizard would suggest it as Phone 1.
    import_id = wizard.through_check(write_rows(rows), override={1: "phone1", 2: "phone2"})
    check = text_of(wizard.client.get(f"/imports/{import_id}/check?show=invalid"))
    assert 'data-testid="count-invalid">2<' in check
    wizard.start(import_id)
    leads = {lead.first_name: lead for lead in wizard.leads()}
    for i, (_, expected) in enumerate(INVISIBLE):
        lead = leads.get(f"P{i}")
        if expected is None:
            assert lead is None  # refused, with its reason in the invalid rows
        else:
            assert (lead.phone1, lead.phone2) == (expected, "+14155550100")
    invalid = read_download(wizard.client.get(f"/imports/{import_id}/download/invalid.csv"))
    assert len(invalid) == 3 and all(row[-1].startswith("phone1: ") for row in invalid[1:])
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT phone1, phone2 FROM leads")).all()
    for phone1, phone2 in stored:
        assert E164.fullmatch(phone1) and E164.fullmatch(phone2)


# ---------------------------------------------------------------------------------------
# File names


@pytest.mark.parametrize(
    ("filename", "shown", "pool"),
    [
        ("../../x.csv", "x.csv", "x"),
        ("../../../../../../tmp/evil.csv", "evil.csv", "evil"),
        ("CON.csv", "CON.csv", "CON"),
        ("<img src=x onerror=alert(3)>.csv", "<img src=x onerror=alert(3)>.csv", None),
    ],
)
def test_path_like_file_names_stay_in_the_staging_folder(app, wizard, filename, shown, pool):
    instance = Path(app.instance_path).resolve()
    import_id = wizard.new()
    response = wizard.upload(import_id, b"First Name,Phone\nAnn,(212) 555-0101\n", filename)
    assert response.status_code == 302
    imp = wizard.imp(import_id)
    assert imp.file_name == shown
    if pool:
        assert imp.settings["pool_name"] == pool
    staged = Path(imp.staging_path).resolve()
    assert staged.parent == Path(app.config["STAGING_DIR"]).resolve()
    assert staged.is_relative_to(instance)
    assert sorted(p.name for p in staged.iterdir()) == ["source.csv"]
    for outside in (
        instance.parent / "x.csv",
        instance.parents[1] / "x.csv",
        Path("/tmp/evil.csv"),
    ):
        assert not outside.exists()
    page = wizard.client.get(f"/imports/{import_id}/file").get_data(as_text=True)
    assert "<img src=x" not in page
    assert_serving(wizard.client)


def test_an_empty_file_name_is_refused(app, wizard):
    import_id = wizard.new()
    response = wizard.upload(import_id, b"First Name,Phone\nAnn,(212) 555-0101\n", "")
    assert response.status_code == 422
    assert FILE_ERROR.findall(text_of(response)) == ["Choose a CSV file first."]
    assert_nothing_written(app, wizard)
    assert_serving(wizard.client)


# ---------------------------------------------------------------------------------------
# A mail-header injection in the "also email" field


@pytest.mark.parametrize(
    "hostile",
    [
        "a@x.test\r\nBcc: evil@x.test",
        "a@x.test\nBcc: evil@x.test",
        "a@x.test\rBcc:evil@x.test",
        "a@x.test>\r\nBcc: <evil@x.test",
        "Boss <a@x.test>; evil@x.test",
    ],
)
def test_a_header_injection_in_the_notify_address_is_refused(app, wizard, hostile):
    import_id = wizard.through_check(b"First Name,Phone\nAnn,(212) 555-0101\n")
    response = wizard.start(import_id, notify_emails=hostile)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/imports/{import_id}/review")
    page = text_of(wizard.client.get(f"/imports/{import_id}/review"))
    assert "is not an email address." in page
    imp = wizard.imp(import_id)
    assert imp.status == "draft"  # not queued: nothing started
    assert "notify_emails" not in (imp.settings or {})
    with app.app_context():
        kinds = db.session.scalars(sa.select(BackgroundJob.kind)).all()
        assert "import" not in kinds
    assert wizard.leads() == [] and queued_mail(app) == []

    # The same import with plain addresses goes ahead and mails exactly those.
    response = wizard.start(import_id, notify_emails="a@x.test, b@x.test")
    assert wizard.imp(import_id).status == "completed"
    (mail,) = queued_mail(app)
    mail.delete()  # the job's row goes with this test's transaction: no worker sends it
    assert mail.args[0] == ["a@x.test", "b@x.test"]
    assert_serving(wizard.client)


def queued_mail(app) -> list:
    """The tracked emails of this test waiting in the real mail queue."""
    with app.app_context():
        ours = set(db.session.scalars(sa.select(EmailDelivery.id)))
        jobs = redis_connection.queue("mail").get_jobs()
    return [job for job in jobs if job.args[4:5] and job.args[4] in ours]


# ---------------------------------------------------------------------------------------
# The same file twice


def test_the_same_file_twice_is_flagged_and_its_rows_are_existing_duplicates(app, wizard):
    data = write_rows(
        [
            ["First Name", "Phone"],
            ["Ann", "(212) 555-0101"],
            ["Bo", "(212) 555-0102"],
            ["Ann again", "212.555.0101"],
            ["Nobody", "123"],
        ]
    )
    first = wizard.import_file(data, "spring.csv", "First")
    assert (first.counts["imported"], first.counts["duplicates_in_file"]) == (2, 1)

    import_id = wizard.new("Second")
    assert wizard.upload(import_id, data, "spring (1).csv").status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/file"))
    assert 'data-testid="same-file"' in page
    assert "This exact file was already imported" in page and "spring.csv" in page
    assert wizard.mapping(import_id).status_code == 302
    wizard.duplicates(import_id, scope="campaign", action="discard-new")
    review = text_of(wizard.client.get(f"/imports/{import_id}/review"))
    assert review  # the review step computes the counts
    counts = wizard.imp(import_id).counts
    assert (counts["rows"], counts["valid"], counts["invalid"]) == (4, 3, 1)
    assert (counts["duplicates_in_file"], counts["duplicates_existing"]) == (1, 2)
    wizard.start(import_id)
    second = wizard.imp(import_id)
    assert second.status == "completed" and second.counts["imported"] == 0
    assert len(wizard.leads()) == 2
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Import.id))) == 2
        second_pool = db.session.get(LeadPool, second.pool_id)
        assert second_pool.name == "Second"
    assert_serving(wizard.client)


@pytest.mark.parametrize(
    "filename",
    ["evil.csv\r\nBcc: x@evil.example", "ann\tlist\u202egpj.csv", "a" * 5000 + ".csv"],
)
def test_line_breaks_and_long_file_names_are_cleaned_where_they_enter(app, wizard, filename):
    """Issue 16 item 6: a file name with CR/LF (or 5,000 characters) is stored as one
    bounded line; the import's downloads answer (they were 500s) and its results email's
    subject is one line a mail server accepts."""
    from urllib.parse import quote

    from leadapp.models import EmailDelivery
    from leadapp.services.imports.report import KINDS
    from tests.conftest import csrf_from

    import_id = wizard.new()
    # As curl or a script can send it: the name in RFC 2231 form (filename*=), which
    # Werkzeug decodes to the raw characters, line breaks included.
    boundary = "----leadapp-hostile"
    token = csrf_from(wizard.client, f"/imports/{import_id}/file")
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f"filename*=UTF-8''{quote(filename, safe='')}\r\nContent-Type: text/csv\r\n\r\n"
        "First Name,Phone\r\nAnn,(212) 555-0101\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = wizard.client.post(
        f"/imports/{import_id}/file",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 302, FILE_ERROR.findall(text_of(response))
    assert wizard.mapping(import_id).status_code == 302
    assert wizard.duplicates(import_id).status_code == 200
    imp = wizard.imp(import_id)
    name = imp.file_name
    assert name.isprintable() and "\u202e" not in name and len(name) <= 255
    assert name.startswith(filename[:6].replace("\t", " ").replace("\r", " "))
    if "Bcc" in filename:
        assert name == "evil.csv Bcc: x@evil.example"
    for kind in KINDS:
        response = wizard.client.get(f"/imports/{import_id}/download/{kind}.csv")
        assert response.status_code == 200, (kind, response.status_code)
        assert "\n" not in response.headers["Content-Disposition"]
    wizard.start(import_id, notify_emails="ops@acme.test")
    assert wizard.imp(import_id).status == "completed"
    with app.app_context():
        (delivery,) = db.session.scalars(
            sa.select(EmailDelivery).where(EmailDelivery.import_id == import_id)
        ).all()
    assert delivery.subject.isprintable() and len(delivery.subject) <= 150
    assert_serving(wizard.client)
