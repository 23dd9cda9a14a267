"""The campaign page's Dialing section (issue 18): figures, preview, settings, exports."""

from __future__ import annotations

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Campaign, DialSettings, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import pools as pool_service
from tests.conftest import csrf_from, login
from tests.services.dial_helpers import build

ALL_DAY = {
    "days": {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "states": {},
    "holidays_off": False,
}


def _world(app):
    with app.app_context():
        account_id = db.session.scalar(sa.select(Account.id).where(Account.slug == "acme"))
        with account_scope(account_id):
            world = build(account_id, {"Spring": 70, "Summer": 30}, leads=5)
            # The helper's leads came by a bulk insert: counted as after an import.
            pool_service.refresh_counts(list(db.session.scalars(sa.select(LeadPool))))
            db.session.get(Campaign, world.campaign_id).calling_hours = ALL_DAY
            first = db.session.scalar(sa.select(Lead).order_by(Lead.id).limit(1))
            first.first_name = '=HYPERLINK("http://x")'
            db.session.commit()
    return world


def test_the_campaign_page_shows_what_the_queue_would_do(app, admin_client):
    world = _world(app)
    html = admin_client.get(f"/campaigns/{world.campaign_id}").get_data(as_text=True)
    assert 'data-testid="dialing"' in html
    assert "<strong>10</strong> lead(s) callable now" in html
    assert "Spring · weight 70 % · " in html and "attempt 1 of 5" in html
    partial = admin_client.get(f"/campaigns/{world.campaign_id}/dialing")
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)


def test_dial_settings_are_saved_and_refused_with_a_sentence(app, admin_client):
    world = _world(app)
    page = f"/campaigns/{world.campaign_id}"
    token = csrf_from(admin_client, page)
    form = {
        "csrf_token": token,
        "max_attempts": "3",
        "lease_minutes": "2",
        "lead_order": "fewest_attempts",
        "recycle": "BUSY: 9\nno answer: 45",
    }
    saved = admin_client.post(f"{page}/dialing/settings", data=form)
    assert saved.status_code == 302
    with app.app_context():
        settings = db.session.scalar(sa.select(DialSettings))
        assert (settings.max_attempts, settings.lease_minutes) == (3, 2)
        assert settings.recycle_minutes["BUSY"] == 9
        assert settings.recycle_minutes["NO_ANSWER"] == 45
    bad = admin_client.post(
        f"{page}/dialing/settings", data={**form, "max_attempts": "0"}, follow_redirects=True
    )
    assert "Maximum attempts must be a whole number from 1 to 100." in bad.get_data(as_text=True)


def test_a_supervisor_sees_the_section_but_cannot_change_the_settings(
    app, client, make_account, make_user
):
    make_user(make_account("acme"), "sup@acme.test")
    world = _world(app)
    login(client, "sup@acme.test")
    html = client.get(f"/campaigns/{world.campaign_id}").get_data(as_text=True)
    assert 'data-testid="dialing"' in html and "dial-settings-form" not in html
    token = csrf_from(client, f"/campaigns/{world.campaign_id}")
    refused = client.post(
        f"/campaigns/{world.campaign_id}/dialing/settings",
        data={"csrf_token": token, "max_attempts": "2"},
    )
    assert refused.status_code == 403


def test_exports_in_both_layouts_are_formula_safe(app, admin_client):
    world = _world(app)
    own = admin_client.get(f"/campaigns/{world.campaign_id}/dialing/export.csv?layout=leadapp")
    assert "Content-Length" not in own.headers  # streamed batch by batch, never whole
    text = own.get_data(as_text=True).lstrip("\ufeff")
    lines = text.splitlines()
    assert lines[0].startswith("lead_id,pool,customer_key,first_name")
    assert len(lines) == 11
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    vici = admin_client.get(f"/campaigns/{world.campaign_id}/dialing/export.csv?layout=vicidial")
    rows = vici.get_data(as_text=True).splitlines()
    assert len(rows) == 10  # no header: the loader's standard format
    fields = rows[0].split(",")
    assert fields[1:5] == ["LeadApp", str(world.pools["Spring"]), "1", "3125550000"]
    bad = admin_client.get(f"/campaigns/{world.campaign_id}/dialing/export.csv?layout=excel")
    assert bad.status_code == 404
