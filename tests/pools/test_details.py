"""Pool details: the details block, editing, enable/disable, reset, charts and downloads."""

import csv
import datetime as dt
import html
import io
import json
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, AuditLog, Campaign, Import, Interaction, Lead, LeadPool, User
from leadapp.security import account_scope
from tests.conftest import csrf_from, login
from tests.pools.helpers import (
    account_id_of,
    campaign,
    lead_rows,
    pool,
    stored_and_recounted,
    text,
)
from tests.pools.test_views import MIXED

SAMPLE = "tests/fixtures/domain/leads_us_1500.csv"


@pytest.fixture
def mixed(app, admin_client):
    sales = campaign(app, "Spring Sales", project="Outbound")
    return pool(
        app,
        "Mixed",
        MIXED,
        campaigns=[sales],
        description="March upload",
        priority=3,
        valid_count=8,
        invalid_count=2,
        duplicate_check_field="phone1",
        duplicate_processing="discard-new",
    )


def _pool(app, pool_id):
    with app.app_context():
        return db.session.execute(
            sa.select(LeadPool).where(LeadPool.id == pool_id).execution_options(all_accounts=True)
        ).scalar_one()


def post(client, path, data=None, **kw):
    token = csrf_from(client, "/pools?status=all")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kw)


def test_details_block(app, admin_client, mixed):
    with app.app_context():
        c = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring Sales"))
        code, campaign_id = c.api_code, c.id
    html = admin_client.get(f"/pools/{mixed}").get_data(as_text=True)
    details = text(re.search(r'data-testid="details">(.*?)</dl>', html, re.S).group(1))
    for expected in (
        f"Pool id {mixed}",
        f"Campaign Spring Sales · code {code} · id {campaign_id} · to dial",
        "Project Outbound",
        "Description March upload",
        "Leads in the pool 8 · see all its leads",
        "Ready to dial 2",
        "Valid rows uploaded 8 (rows of its files with a valid phone, before duplicates",
        "Invalid rows uploaded 2",
        "Priority 3",
        "Duplicate check field Phone 1",  # internal names are never shown
        "Duplicate processing Keep the existing lead, skip the new row",
        "Active period always",
    ):
        assert expected in details, expected
    assert re.search(r"Last modified \d{4}-\d\d-\d\d \d\d:\d\d", details)


def test_edit_name_description_and_dates(app, admin_client, mixed):
    response = post(
        admin_client,
        f"/pools/{mixed}",
        {
            "name": "Mixed (April)",
            "description": "Re-worked",
            "active_from": "2026-04-01",
            "active_until": "2026-04-30",
        },
    )
    assert response.status_code == 302
    p = _pool(app, mixed)
    assert (p.name, p.description) == ("Mixed (April)", "Re-worked")
    assert (p.active_from, p.active_until) == (dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == "admin@acme.test"))
        entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "pool.edited"))
    assert p.modified_by_id == admin.id and entry.user_id == admin.id
    assert entry.details["changes"]["name"] == ["Mixed", "Mixed (April)"]
    assert entry.details["changes"]["active_from"] == [None, "2026-04-01"]
    html = admin_client.get(f"/pools/{mixed}").get_data(as_text=True)
    assert "2026-04-01 to 2026-04-30" in html and "by Administrator" in html


@pytest.mark.parametrize(
    "data,sentence",
    [
        ({"name": ""}, "Give the pool a name."),
        ({"name": "x" * 161}, "A pool name can have at most 160 characters."),
        (
            {"name": "Mixed", "active_from": "2026-05-02", "active_until": "2026-05-01"},
            "The pool cannot stop being active before it starts.",
        ),
        ({"name": "Other"}, "Another pool is already called Other; choose another name."),
        ({"name": "other "}, "Another pool is already called other; choose another name."),
        ({"name": "Mixed", "active_from": "soon"}, "Not a valid date value."),
    ],
)
def test_edit_errors_are_one_sentence(app, admin_client, mixed, data, sentence):
    pool(app, "Other")
    response = post(admin_client, f"/pools/{mixed}", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert sentence in html
    assert _pool(app, mixed).name == "Mixed"


def test_toggle_enables_and_disables(app, admin_client, mixed):
    response = post(admin_client, f"/pools/{mixed}/toggle", follow_redirects=True)
    assert "Mixed is disabled." in response.get_data(as_text=True)
    assert _pool(app, mixed).status == "inactive"
    post(admin_client, f"/pools/{mixed}/toggle")
    assert _pool(app, mixed).status == "active"
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditLog.action).where(AuditLog.object_id == mixed).order_by(AuditLog.id)
        ).all()
    assert actions == ["pool.deactivated", "pool.activated"]


def test_the_system_pool_cannot_be_switched_on_or_renamed(app, admin_client):
    with app.app_context():
        system = db.session.scalar(sa.select(LeadPool.id).where(LeadPool.is_system.is_(True)))
    response = post(admin_client, f"/pools/{system}/toggle", follow_redirects=True)
    assert "The system Inactive pool stays inactive." in response.get_data(as_text=True)
    response = post(admin_client, f"/pools/{system}", {"name": "Mine now"})
    assert response.status_code == 400
    assert "The system pool keeps its name." in response.get_data(as_text=True)
    assert _pool(app, system).status == "inactive" and _pool(app, system).name == "Inactive"


def test_reset_reopens_completed_leads_after_a_confirmation(app, admin_client, mixed):
    html = admin_client.get(f"/pools/{mixed}").get_data(as_text=True)
    # completed or closed: the open completed one, the two closed ones
    assert "3 completed or closed leads will be re-opened for dialling." in html
    assert re.search(r'action="/pools/\d+/reset"[^>]*\s+data-confirm=', html)
    response = post(admin_client, f"/pools/{mixed}/reset", follow_redirects=True)
    assert "Re-opened 3 completed leads." in response.get_data(as_text=True)
    rows = lead_rows(app, mixed, "status", "completed")
    assert sorted(rows) == sorted(
        [("open", False)] * 7 + [("removed", False)]
    )  # removed stays removed
    stored, recount = stored_and_recounted(app, [mixed])
    assert stored == recount
    # Ready now: the two before + the completed open one + the closed-and-called one
    # + the closed-completed one = 5 (do-not-call and no-phone leads stay out).
    assert stored[mixed] == {"total": 8, "open": 7, "ready": 5, "closed": 0, "used": 3}
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "pool.reset"))
    assert entry.details == {"leads": 3}


def test_changes_need_a_login_and_the_account(app, admin_client, make_account, mixed):
    make_account("globex")
    stranger = app.test_client()
    login(stranger, "admin@globex.test")
    for path in (f"/pools/{mixed}", f"/pools/{mixed}/download/leads.csv"):
        assert stranger.get(path).status_code == 404
    for path in (f"/pools/{mixed}/toggle", f"/pools/{mixed}/reset", f"/pools/{mixed}"):
        assert post(stranger, path, {"name": "Hijack"}).status_code == 404
    assert _pool(app, mixed).status == "active" and _pool(app, mixed).name == "Mixed"
    anonymous = app.test_client()
    assert anonymous.get(f"/pools/{mixed}").status_code == 302


# ---------------------------------------------------------------------------------------
# Charts


def _calls(app, pool_id, days):
    """One interaction per entry of ``days`` on the pool's first lead."""
    with app.app_context():
        account_id = account_id_of()
        with account_scope(account_id):
            lead = db.session.scalar(
                sa.select(Lead).where(Lead.pool_id == pool_id).order_by(Lead.id).limit(1)
            )
            for day in days:
                db.session.add(
                    Interaction(account_id=account_id, lead_id=lead.id, at=day, outcome="answered")
                )
            db.session.commit()


def test_charts_get_their_data_from_a_json_block_and_no_inline_script(app, admin_client, mixed):
    _calls(
        app,
        mixed,
        [dt.datetime(2026, 3, 1, 9), dt.datetime(2026, 3, 1, 15), dt.datetime(2026, 3, 3, 10)],
    )
    html = admin_client.get(f"/pools/{mixed}").get_data(as_text=True)
    block = re.search(
        r'<script type="application/json" id="pool-chart-data">(.*?)</script>', html, re.S
    )
    data = json.loads(block.group(1))
    assert data["status"] == {"closed": 2, "open": 5, "removed": 1}
    assert data["timezone"] == {"America/New_York": 8}
    assert data["calls"] == {"2026-03-01": 2, "2026-03-03": 1}
    for key, kind in (("status", "doughnut"), ("timezone", "bar"), ("calls", "line")):
        assert re.search(rf'<canvas[^>]*data-chart="{key}" data-kind="{kind}"', html)
    # Every <script> is either the JSON block or loads a file: nothing inline to run.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attrs, body in scripts:
        assert 'type="application/json"' in attrs or ("src=" in attrs and not body.strip())
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in html
    assert 'src="/static/charts.js"' in html
    # Only the details page loads them.
    grid = admin_client.get("/pools").get_data(as_text=True)
    assert "charts.js" not in grid and "chart.umd" not in grid


def test_chart_data_cannot_break_out_of_the_json_block(app, admin_client):
    pool_id = pool(app, "Zones", [{"timezone": "</script><script>alert(1)</script>"}])
    html = admin_client.get(f"/pools/{pool_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    block = re.search(
        r'<script type="application/json" id="pool-chart-data">(.*?)</script>', html, re.S
    )
    assert "</script><script>alert(1)</script>" in json.loads(block.group(1))["timezone"]


def test_the_chart_files_are_served(admin_client):
    assert admin_client.get("/static/charts.js").status_code == 200
    vendor = admin_client.get("/static/vendor/chartjs/chart.umd.min.js")
    assert vendor.status_code == 200 and len(vendor.get_data()) > 10_000


# ---------------------------------------------------------------------------------------
# Downloads


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_leads_download_is_formula_safe_and_phones_stay_readable(app, admin_client):
    pool_id = pool(
        app,
        "Risky",
        [
            {"first_name": '=HYPERLINK("http://x","y")', "last_name": "+SUM(A1)"},
            {"first_name": "@cmd", "last_name": "-2+3", "email": "\tx@y.z"},
            {"first_name": "Carl", "last_name": "Plain", "phone1": "+442079460000"},
        ],
    )
    rows = _csv(admin_client.get(f"/pools/{pool_id}/download/leads.csv"))
    header, data = rows[0], rows[1:]
    assert header[:6] == ["id", "customer_key", "first_name", "last_name", "email", "phone1"]
    assert len(data) == 3
    first = dict(zip(header, data[0], strict=True))
    assert first["first_name"] == '\'=HYPERLINK("http://x","y")'
    assert first["last_name"] == "'+SUM(A1)"
    assert first["phone1"] == "+12125550000"  # E.164 as it is: a dialer re-imports it
    second = dict(zip(header, data[1], strict=True))
    assert (second["first_name"], second["last_name"], second["email"]) == (
        "'@cmd",
        "'-2+3",
        "'\tx@y.z",
    )
    third = dict(zip(header, data[2], strict=True))
    assert third["first_name"] == "Carl" and third["last_name"] == "Plain"
    assert third["phone1"] == "+442079460000"
    assert third["status"] == "open" and third["call_count"] == "0"


def test_a_cell_starting_with_a_carriage_return_stays_one_cell(app, admin_client):
    pool_id = pool(app, "CR", [{"first_name": "\rcarriage", "last_name": "Plain"}])
    rows = _csv(admin_client.get(f"/pools/{pool_id}/download/leads.csv"))
    assert len(rows) == 2
    assert rows[1][2:4] == ["'\rcarriage", "Plain"]


def test_leads_download_streams_in_chunks(app, admin_client, monkeypatch):
    from leadapp.services import pool_reports

    pool_id = pool(app, "Chunky", [{"first_name": f"Lead {i}"} for i in range(23)])
    original = pool_reports.leads_csv_chunks
    chunks = []

    def small_chunks(p, chunk=5000):
        for part in original(p, chunk=5):
            chunks.append(part)
            yield part

    monkeypatch.setattr(pool_reports, "leads_csv_chunks", small_chunks)
    response = admin_client.get(f"/pools/{pool_id}/download/leads.csv")
    assert response.is_streamed
    rows = _csv(response)
    assert len(chunks) == 5  # 5 + 5 + 5 + 5 + 3
    assert [r[2] for r in rows[1:]] == [f"Lead {i}" for i in range(23)]
    assert sum(part.count(b"\xef\xbb\xbf") for part in chunks) == 1  # one BOM, one header
    assert sum(part.count(b"first_name") for part in chunks) == 1


def test_an_empty_pool_downloads_just_the_header(app, admin_client):
    pool_id = pool(app, "Empty")
    rows = _csv(admin_client.get(f"/pools/{pool_id}/download/leads.csv"))
    assert len(rows) == 1 and rows[0][0] == "id"


def test_statistics_download(app, admin_client, mixed):
    _calls(app, mixed, [dt.datetime(2026, 3, 1, 9)])
    with app.app_context():
        account_id = account_id_of()
        with account_scope(account_id):
            db.session.add(
                Import(account_id=account_id, pool_id=mixed, counts={"duplicates_in_file": 4})
            )
            db.session.commit()
    rows = _csv(admin_client.get(f"/pools/{mixed}/download/statistics.csv"))
    stats = dict(rows[1:])
    assert rows[0] == ["metric", "value"]
    assert stats["pool id"] == str(mixed)
    assert stats["name"] == "Mixed"
    assert (stats["total leads"], stats["open"], stats["ready to dial"]) == ("8", "5", "2")
    assert (stats["closed"], stats["% closed"], stats["used (called at least once)"]) == (
        "2",
        "25.0",
        "3",
    )
    assert stats["invalid in upload"] == "2" and stats["duplicates found"] == "4"
    assert stats["status: open"] == "5" and stats["time zone: America/New_York"] == "8"
    assert stats["calls on 2026-03-01"] == "1"


def test_pool_log_download(app, admin_client, mixed):
    post(admin_client, f"/pools/{mixed}/toggle")
    post(admin_client, f"/pools/{mixed}", {"name": "=cmd|' /C calc'!A0"})
    rows = _csv(admin_client.get(f"/pools/{mixed}/download/log.csv"))
    assert rows[0] == ["at (UTC)", "action", "by", "change"]
    assert [r[1] for r in rows[1:]] == ["pool.deactivated", "pool.edited"]
    assert rows[1][2] == "admin@acme.test"
    assert rows[1][3] == "Disabled the pool."
    assert rows[2][3] == (
        "Changed the name from “Mixed” to “=cmd|' /C calc'!A0”; the description from "
        "“March upload” to —."
    )
    # the new name arrives neutralised in the file name too: nothing starts with "="
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_unknown_download_is_404(admin_client, mixed):
    assert admin_client.get(f"/pools/{mixed}/download/secrets.csv").status_code == 404


def test_import_reports_of_the_pool_are_the_imports_own_downloads(app, runner, admin_client):
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", "Spring", "--region", "US"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "leads", "import", SAMPLE, "--account", "acme", "--campaign", "Spring",
            "--pool", "Uploaded", "--auto-map", "--scope", "campaign",
            "--action", "discard-new", "--json",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    truth = json.loads(open(SAMPLE.replace(".csv", ".truth.json")).read())  # noqa: SIM115
    with app.app_context():
        imp = db.session.scalar(sa.select(Import).execution_options(all_accounts=True))
    html = admin_client.get(f"/pools/{counts['pool_id']}").get_data(as_text=True)
    for kind in ("invalid", "duplicates", "log"):
        assert f'href="/imports/{imp.id}/download/{kind}.csv"' in html, kind
    invalid = _csv(admin_client.get(f"/imports/{imp.id}/download/invalid.csv"))
    assert len(invalid) - 1 == truth["invalid_phone_rows"] == counts["invalid"]
    assert invalid[0][-1] == "reasons"
    duplicates = _csv(admin_client.get(f"/imports/{imp.id}/download/duplicates.csv"))
    assert len(duplicates) - 1 == truth["duplicate_rows"]
    # The grid's counters equal a full recount after the import.
    stored, recount = stored_and_recounted(app, [counts["pool_id"]])
    assert stored == recount and stored[counts["pool_id"]]["total"] == counts["imported"]
    # And the grid's "duplicates found" is the import's.
    grid = admin_client.get("/pools?q=Uploaded&col=duplicates").get_data(as_text=True)
    assert f">{truth['duplicate_rows']:,}<" in grid.replace(" ", "")


# ---------------------------------------------------------------------------------------
# Day offset, day count and time range (issue 17 item 13)


def _details(client, pool_id) -> str:
    page = client.get(f"/pools/{pool_id}").get_data(as_text=True)
    return html.unescape(text(re.search(r'data-testid="details">(.*?)</dl>', page, re.S).group(1)))


def test_day_offset_count_and_time_range_are_shown_and_edited_on_the_pool_page(app, admin_client):
    sales = campaign(app, "Spring Sales")
    leads = [{"dial_order": i} for i in range(8)]
    spread = pool(app, "Spread", leads, campaigns=[sales], dial_order_next=8)
    assert "Day offset 0 days" in _details(admin_client, spread)
    assert "Ready to dial 8" in _details(admin_client, spread)
    with app.app_context():
        zone = db.session.scalar(sa.select(Account.timezone).where(Account.slug == "acme"))
    today = dt.datetime.now(ZoneInfo(zone)).date()
    response = post(
        admin_client,
        f"/pools/{spread}",
        {
            "name": "Spread",
            "active_from": (today - dt.timedelta(days=1)).isoformat(),
            "day_offset": "1",
            "day_count": "4",
            "time_from": "09:00",
            "time_until": "17:30",
        },
    )
    assert response.status_code == 302
    p = _pool(app, spread)
    assert (p.day_offset, p.day_count) == (1, 4)
    assert (p.time_from, p.time_until) == (dt.time(9, 0), dt.time(17, 30))
    details = _details(admin_client, spread)
    assert "Day offset 1 day" in details and "Day count 4 days" in details
    assert "Time range 09:00–17:30" in details
    assert f"Dialled from {today:%d %b %Y}, 1 day after the pool's start" in details
    assert "Spread over 4 days in dial order" in details
    # The first of four days: a quarter of the eight leads, the first two in dial order.
    assert "Ready to dial 2" in details
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "pool.edited"))
    assert entry.details["changes"]["day_count"] == [None, 4]
    assert entry.details["changes"]["time_from"] == [None, "09:00"]


@pytest.mark.parametrize(
    "data,sentence",
    [
        ({"day_offset": "-1"}, "The day offset is a number of days from 0 to 365."),
        ({"day_count": "0"}, "The day count is a number of days from 1 to 365."),
        (
            {"time_from": "09:00", "time_until": "09:00"},
            "The time range starts and ends at the same time",
        ),
    ],
)
def test_distribution_errors_are_one_sentence(app, admin_client, mixed, data, sentence):
    response = post(admin_client, f"/pools/{mixed}", {"name": "Mixed", **data})
    assert response.status_code == 400
    assert sentence in html.unescape(response.get_data(as_text=True))


# ---------------------------------------------------------------------------------------
# The pool page as a list's page (issue 17 item 15)


def test_the_pool_page_links_to_all_its_leads_and_tells_valid_rows_from_leads(
    app, admin_client, mixed
):
    page = admin_client.get(f"/pools/{mixed}").get_data(as_text=True)
    assert f'href="/leads?pool={mixed}" data-testid="all-leads"' in page
    details = _details(admin_client, mixed)
    assert "Total leads" not in details and "Valid leads" not in details
    assert "Leads in the pool 8" in details and "Valid rows uploaded 8" in details


def test_a_pool_whose_active_dates_start_later_is_scheduled(app, admin_client):
    with app.app_context():
        zone = db.session.scalar(sa.select(Account.timezone).where(Account.slug == "acme"))
    today = dt.datetime.now(ZoneInfo(zone)).date()
    later = pool(app, "Later", active_from=today + dt.timedelta(days=5))
    offset = pool(app, "Offset", day_offset=2)
    over = pool(app, "Over", active_until=today - dt.timedelta(days=1))
    now = pool(app, "Now", active_from=today)
    starts = today + dt.timedelta(days=5)
    assert f"Status Scheduled — dialling starts on {starts}" in _details(admin_client, later)
    assert "Status Scheduled — dialling starts on" in _details(admin_client, offset)
    assert "Status Ended" in _details(admin_client, over)
    assert "Status Active" in _details(admin_client, now)
    grid = admin_client.get("/pools?status=all").get_data(as_text=True)
    statuses = {
        name: re.search(
            rf'pool-row-{pool_id}".*?data-col="status"><span[^>]*>(\w+)<', grid, re.S
        ).group(1)
        for name, pool_id in (("Later", later), ("Over", over), ("Now", now))
    }
    assert statuses == {"Later": "Scheduled", "Over": "Ended", "Now": "Active"}


def test_the_change_log_reads_as_sentences(app, admin_client, mixed):
    post(admin_client, f"/pools/{mixed}/toggle")
    post(
        admin_client,
        f"/pools/{mixed}",
        {"name": "Mixed", "description": "March upload", "day_count": "3", "time_from": "08:30"},
    )
    post(admin_client, f"/pools/{mixed}/reset")
    page = html.unescape(admin_client.get(f"/pools/{mixed}").get_data(as_text=True))
    log = text(re.search(r'data-testid="changes">(.*?)</ul>', page, re.S).group(1))
    assert "Disabled the pool." in log
    assert "Changed the day count from — to 3; the call-from time from — to 08:30." in log
    assert "Re-opened 3 leads (completed or closed)." in log
    assert "{" not in log and "'" not in log
    assert log.index("Re-opened") < log.index("Disabled")  # newest first
