"""A campaign's calling hours on its page (issue 15): shown to everyone with the state
table's sources, changed by admins only, refused in one sentence, audited."""

from __future__ import annotations

import re

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import AuditLog, Campaign
from leadapp.security import account_scope
from leadapp.services.calling_hours import campaign_hours
from tests.campaigns.test_views import _token, acme, supervisor  # noqa: F401

WEEK = {k: "08:00-21:00" for k in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _post(client, cid, **changes):
    data = {
        **WEEK,
        "states": "US-FL: 08:00-20:00\nUS-TX: 09:00-21:00, sun 12:00-21:00",
        "holidays_off": "y",
        **changes,
        "csrf_token": _token(client),
    }
    return client.post(f"/campaigns/{cid}/calling-hours", data=data)


def _campaign(app, acme_):
    with app.app_context(), account_scope(acme_["id"]):
        campaign = db.session.get(Campaign, acme_["campaign"])
        db.session.expunge(campaign)
        return campaign


def test_the_page_shows_the_hours_and_the_state_table_with_sources(acme, supervisor):  # noqa: F811
    html = supervisor.get(f"/campaigns/{acme['campaign']}").get_data(as_text=True)
    days = re.search(r'data-testid="calling-days">(.*?)</table>', html, re.S).group(1)
    assert "<th>Sunday</th><td>08:00–21:00</td>" in days
    states = re.search(r'data-testid="state-hours">(.*?)</table>', html, re.S).group(1)
    assert "<th>US-FL</th><td>08:00-20:00</td>" in states and "501.059" in states
    assert 'data-testid="calling-hours-form"' not in html  # supervisors see, admins change


def test_an_admin_saves_hours_per_weekday_and_the_state_table(app, acme):  # noqa: F811
    client, cid = acme["client"], acme["campaign"]
    response = _post(client, cid, sun="", sat="10:00-16:00", holidays_off="")
    assert response.status_code == 302
    hours = campaign_hours(_campaign(app, acme))
    assert hours.days[5] is not None and hours.days[5][0].hour == 10
    assert hours.days[6] is None and not hours.holidays_off
    assert set(hours.states) == {"US-FL", "US-TX"}  # the table replaced, as edited
    html = client.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert "The calling hours are saved." in html
    assert "<th>Sunday</th><td>no calls</td>" in html
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditLog.id)).where(
                    AuditLog.action == "campaign.calling_hours"
                )
            )
            == 1
        )
    assert _post(client, cid, sun="", sat="10:00-16:00", holidays_off="").status_code == 302
    again = client.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert "Nothing changed in the calling hours." in again


def test_wrong_hours_are_refused_in_one_sentence_and_change_nothing(app, acme, supervisor):  # noqa: F811
    client, cid = acme["client"], acme["campaign"]
    response = _post(client, cid, mon="21:00-08:00")
    assert response.status_code == 422
    assert "Calling hours, Monday: the start (21:00) must come before the end (08:00)." in (
        response.get_data(as_text=True)
    )
    response = _post(client, cid, states="Florida 8-8")
    assert response.status_code == 422
    assert "State hours, line 1: write it like US-FL: 08:00-20:00." in response.get_data(
        as_text=True
    )
    assert _campaign(app, acme).calling_hours is None
    assert _post(supervisor, cid).status_code == 403
