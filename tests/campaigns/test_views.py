"""Campaign pages: admins change projects, campaigns and pool assignment; everyone views."""

import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import (
    Account,
    AuditLog,
    Campaign,
    Lead,
    LeadPool,
    PoolAssignment,
    Project,
    User,
)
from leadapp.security import account_scope
from leadapp.services import campaigns as svc
from tests.conftest import csrf_from, login

HTMX = {"HX-Request": "true"}


def _account_id(app, email="admin@acme.test"):
    with app.app_context():
        return db.session.scalar(
            sa.select(User.account_id)
            .where(User.email == email)
            .execution_options(all_accounts=True)
        )


def _setup(app, account_id, pools=("A", "B", "C")):
    """A project, a campaign "Spring" and pools; returns (campaign id, {pool name: id})."""
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        campaign = svc.create_campaign(account, "Spring", project="Outbound")
        ids = {}
        for name in pools:
            # Each holds a lead (counted as it is added): an empty pool gets no share of the
            # dialing (issue 17).
            pool = LeadPool(account_id=account_id, name=name)
            db.session.add(pool)
            db.session.flush()
            db.session.add(Lead(account_id=account_id, pool_id=pool.id, phone1="+12125550100"))
            ids[name] = pool.id
        db.session.commit()
        return campaign.id, ids


def _query(app, account_id, statement):
    with app.app_context(), account_scope(account_id):
        return db.session.scalars(statement).all()


def _audit(app, account_id, action):
    return _query(
        app, account_id, sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    )


def _assigned(app, account_id, campaign_id):
    rows = _query(
        app,
        account_id,
        sa.select(LeadPool.name)
        .join(PoolAssignment, PoolAssignment.pool_id == LeadPool.id)
        .where(PoolAssignment.campaign_id == campaign_id)
        .order_by(LeadPool.name),
    )
    return list(rows)


def _flashes(html):
    return re.findall(r'role="alert">\s*(.*?)\s*<button', html, flags=re.S)


def _token(client):
    return csrf_from(client, "/campaigns/")


def _campaign_form(project_id, **changes):
    return {
        "name": "Autumn",
        "project_id": str(project_id),
        "api_code": "",
        "purpose": "sales",
        "timezone": "America/New_York",
        "region": "US",
        "window_start": "08:00",
        "window_end": "21:00",
        "weighting": "y",
        "active": "y",
        **changes,
    }


@pytest.fixture
def acme(app, admin_client):
    account_id = _account_id(app)
    campaign_id, pools = _setup(app, account_id)
    return {"id": account_id, "campaign": campaign_id, "pools": pools, "client": admin_client}


@pytest.fixture
def supervisor(app, acme, make_user):
    make_user(acme["id"], "sup@acme.test")
    client = app.test_client()
    assert login(client, "sup@acme.test").status_code == 302
    return client


# --- viewing and roles -------------------------------------------------------------------


def test_everyone_sees_campaigns_and_a_campaigns_pools(acme, supervisor):
    html = supervisor.get("/campaigns/").get_data(as_text=True)
    assert "Spring" in html and "SPRING" in html and "Outbound" in html
    assert "New campaign" not in html
    page = supervisor.get(f"/campaigns/{acme['campaign']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "No pools feed this campaign yet." in html
    assert 'data-testid="picker"' not in html  # supervisors see, admins change
    for link in (f"/leads?campaign={acme['campaign']}", f"/pools?campaign={acme['campaign']}"):
        assert f'href="{link}"' in html
        assert supervisor.get(link).status_code == 200
    assert supervisor.get("/campaigns/projects").status_code == 200
    admin_html = acme["client"].get(f"/campaigns/{acme['campaign']}").get_data(as_text=True)
    assert 'data-testid="picker"' in admin_html


def test_a_supervisor_gets_403_on_every_change(app, acme, supervisor):
    token = _token(supervisor)
    cid, pools = acme["campaign"], acme["pools"]
    project_id = _query(app, acme["id"], sa.select(Project.id))[0]
    for method, url, data in [
        ("get", "/campaigns/new", {}),
        ("post", "/campaigns/new", _campaign_form(project_id)),
        ("get", f"/campaigns/{cid}/edit", {}),
        ("post", f"/campaigns/{cid}/edit", _campaign_form(project_id)),
        ("post", "/campaigns/projects", {"name": "Sneaky"}),
        ("post", f"/campaigns/projects/{project_id}", {"name": "Sneaky"}),
        (
            "post",
            f"/campaigns/{cid}/pools/move?direction=add",
            {"selected_available": [pools["A"]]},
        ),
        ("post", f"/campaigns/{cid}/pools/apply", {"assigned": [pools["A"]]}),
        ("post", f"/campaigns/{cid}/pools/settings", {}),
    ]:
        response = getattr(supervisor, method)(url, data={**data, "csrf_token": token})
        assert response.status_code == 403, (method, url)
    assert _assigned(app, acme["id"], cid) == []
    assert [c.name for c in _query(app, acme["id"], sa.select(Campaign))] == ["Spring"]
    assert [p.name for p in _query(app, acme["id"], sa.select(Project))] == ["Outbound"]


def test_another_accounts_campaign_and_project_are_404(app, acme, make_account):
    other_id = _account_id(app, "admin@other.test") or make_account("other")
    other_campaign, other_pools = _setup(app, other_id, pools=("Theirs",))
    with app.app_context(), account_scope(other_id):
        other_project = db.session.scalar(sa.select(Project.id))
    client, token = acme["client"], _token(acme["client"])
    assert client.get(f"/campaigns/{other_campaign}").status_code == 404
    assert client.get(f"/campaigns/{other_campaign}/edit").status_code == 404
    response = client.post(
        f"/campaigns/{other_campaign}/pools/apply",
        data={"assigned": [other_pools["Theirs"]], "csrf_token": token},
    )
    assert response.status_code == 404
    response = client.post(
        f"/campaigns/projects/{other_project}", data={"name": "Mine now", "csrf_token": token}
    )
    assert response.status_code == 404
    # Another account's pool cannot be slipped into our campaign either.
    response = client.post(
        f"/campaigns/{acme['campaign']}/pools/apply",
        data={"assigned": [other_pools["Theirs"]], "csrf_token": token},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert response.get_data(as_text=True).startswith("One of the chosen pools no longer exists")
    assert _assigned(app, other_id, other_campaign) == []
    assert _assigned(app, acme["id"], acme["campaign"]) == []


def test_logged_out_visitors_are_sent_to_log_in(client):
    response = client.get("/campaigns/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- projects and campaign settings --------------------------------------------------------


def test_admin_creates_and_renames_a_project(app, acme):
    client, token = acme["client"], _token(acme["client"])
    response = client.post("/campaigns/projects", data={"name": "Inbound", "csrf_token": token})
    assert response.status_code == 302
    response = client.post("/campaigns/projects", data={"name": "Inbound", "csrf_token": token})
    assert response.status_code == 422
    assert "The project &#39;Inbound&#39; already exists in this account." in response.get_data(
        as_text=True
    )
    (inbound,) = _query(app, acme["id"], sa.select(Project.id).where(Project.name == "Inbound"))
    response = client.post(
        f"/campaigns/projects/{inbound}", data={"name": "Inbound calls", "csrf_token": token}
    )
    assert response.status_code == 302
    html = client.get("/campaigns/projects").get_data(as_text=True)
    assert "The project &#39;Inbound&#39; is now called &#39;Inbound calls&#39;." in html
    assert [e.details for e in _audit(app, acme["id"], "project.rename")] == [
        {"name": ["Inbound", "Inbound calls"]}
    ]


def test_admin_creates_a_campaign_with_a_derived_code(app, acme):
    client = acme["client"]
    project_id = _query(app, acme["id"], sa.select(Project.id))[0]
    form = _campaign_form(project_id, window_start="09:00", window_end="20:00")
    response = client.post("/campaigns/new", data={**form, "csrf_token": _token(client)})
    assert response.status_code == 302
    (autumn,) = _query(app, acme["id"], sa.select(Campaign).where(Campaign.name == "Autumn"))
    assert (autumn.api_code, autumn.timezone, autumn.window_start.hour) == (
        "AUTUMN",
        "America/New_York",
        9,
    )
    assert response.headers["Location"].endswith(f"/campaigns/{autumn.id}")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The campaign &#39;Autumn&#39; is ready; its API code is AUTUMN." in html
    assert len(_audit(app, acme["id"], "campaign.create")) == 2  # Spring (setup) and Autumn


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"timezone": "Pacific/Nowhere"}, "&#39;Pacific/Nowhere&#39; is not a time zone name"),
        ({"region": "ZZ"}, "&#39;ZZ&#39; is not a phone region; use a two-letter code like US."),
        (
            {"window_start": "21:00", "window_end": "09:00"},
            "The calling window must start before it ends; 21:00 is not before 09:00.",
        ),
        ({"window_end": ""}, "Give the window end as a time of day like 08:00."),
        ({"name": "Spring"}, "The campaign &#39;Spring&#39; already exists in this account."),
        (
            {"api_code": "spring"},
            "The API code SPRING is already used by the campaign &#39;Spring&#39;.",
        ),
        ({"name": ""}, "Give the campaign a name."),
        (
            {"region": "AU"},  # the New York zone typed is not Australian (issue 15)
            "America/New_York is not a time zone of AU (Australia/Sydney, ",
        ),
        ({"region": "AU", "timezone": ""}, "AU has 7 time zones (Australia/Sydney, "),
    ],
)
def test_campaign_form_refuses_with_one_sentence(app, acme, changes, sentence):
    client = acme["client"]
    project_id = _query(app, acme["id"], sa.select(Project.id))[0]
    data = {**_campaign_form(project_id, **changes), "csrf_token": _token(client)}
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    flashes = _flashes(html)
    assert len(flashes) == 1 and flashes[0].startswith(sentence)
    assert 'data-testid="campaign-form"' in html  # the form again, with what was typed
    assert len(_query(app, acme["id"], sa.select(Campaign))) == 1


def test_a_default_zone_outside_the_region_is_kept_when_confirmed(app, acme):
    client = acme["client"]
    project_id = _query(app, acme["id"], sa.select(Project.id))[0]
    form = _campaign_form(project_id, region="AU", zone_outside_region="y")
    response = client.post("/campaigns/new", data={**form, "csrf_token": _token(client)})
    assert response.status_code == 302
    (autumn,) = _query(app, acme["id"], sa.select(Campaign).where(Campaign.name == "Autumn"))
    assert (autumn.default_region, autumn.timezone) == ("AU", "America/New_York")
    html = client.get(f"/campaigns/{autumn.id}/edit").get_data(as_text=True)
    assert "the zones of AU: Australia/Sydney, Australia/Brisbane" in html


def test_admin_edits_a_campaign_and_the_change_is_audited(app, acme):
    client, cid = acme["client"], acme["campaign"]
    html = client.get(f"/campaigns/{cid}/edit").get_data(as_text=True)
    assert 'value="SPRING"' in html and 'value="08:00"' in html
    project_id = _query(app, acme["id"], sa.select(Project.id))[0]
    data = _campaign_form(
        project_id, name="Spring", api_code="SPRING_2026", timezone="America/Chicago"
    )
    del data["weighting"]  # an unchecked box is not sent
    response = client.post(f"/campaigns/{cid}/edit", data={**data, "csrf_token": _token(client)})
    assert response.status_code == 302
    (campaign,) = _query(app, acme["id"], sa.select(Campaign))
    assert (campaign.api_code, campaign.timezone, campaign.weighting) == (
        "SPRING_2026",
        "America/Chicago",
        False,
    )
    (entry,) = _audit(app, acme["id"], "campaign.update")
    assert entry.details["api_code"] == ["SPRING", "SPRING_2026"]
    assert entry.details["weighting"] == [True, False]
    # A refused edit changes nothing.
    data["window_start"] = "23:00"
    response = client.post(f"/campaigns/{cid}/edit", data={**data, "csrf_token": _token(client)})
    assert response.status_code == 422
    (campaign,) = _query(app, acme["id"], sa.select(Campaign))
    assert campaign.window_start.hour == 8


# --- the picker and the assignment settings -----------------------------------------------


def _post(client, url, data, htmx=True):
    return client.post(
        url, data={**data, "csrf_token": _token(client)}, headers=HTMX if htmx else {}
    )


def _apply(acme, names, htmx=True, confirmed=False):
    url = f"/campaigns/{acme['campaign']}/pools/apply" + ("?confirmed=1" if confirmed else "")
    return _post(acme["client"], url, {"assigned": [acme["pools"][n] for n in names]}, htmx)


def _settings(acme, app, values):
    """Post the settings table: ``values`` maps pool name -> (to_dial, strategy, weight)."""
    ids = {
        name: a_id
        for a_id, name in _query_rows(
            app,
            acme["id"],
            sa.select(PoolAssignment.id, LeadPool.name)
            .join(LeadPool, LeadPool.id == PoolAssignment.pool_id)
            .where(PoolAssignment.campaign_id == acme["campaign"]),
        )
    }
    data = {}
    for i, (name, (to_dial, strategy, weight)) in enumerate(values.items()):
        data[f"rows-{i}-assignment_id"] = str(ids[name])
        if to_dial:
            data[f"rows-{i}-to_dial"] = "y"
        data[f"rows-{i}-strategy"] = strategy
        data[f"rows-{i}-weight"] = str(weight)
    return _post(acme["client"], f"/campaigns/{acme['campaign']}/pools/settings", data)


def _query_rows(app, account_id, statement):
    with app.app_context(), account_scope(account_id):
        return db.session.execute(statement).all()


def _share(html, name):
    match = re.search(rf'data-testid="share-{name}">([^<]*)<', html)
    return match.group(1) if match else None


def test_arrows_move_pools_between_the_lists_without_saving(app, acme):
    client, cid, pools = acme["client"], acme["campaign"], acme["pools"]
    response = _post(
        client,
        f"/campaigns/{cid}/pools/move?direction=add",
        {"selected_available": [pools["A"], pools["C"]]},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="picker"')  # only the picker is swapped
    assert "To assign: A, C." in html
    assigned = re.search(r'data-testid="assigned"[^>]*>(.*?)</select>', html, re.S).group(1)
    available = re.search(r'data-testid="available"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert ">A<" in assigned and ">C<" in assigned and ">B<" in available
    assert "Inactive" not in available  # the system pool is never offered
    # Back to the left: moving C back leaves only A pending.
    response = _post(
        client,
        f"/campaigns/{cid}/pools/move?direction=remove",
        {"assigned": [pools["A"], pools["C"]], "selected_assigned": [pools["C"]]},
    )
    assert "To assign: A." in response.get_data(as_text=True)
    assert _assigned(app, acme["id"], cid) == []  # nothing saved until Apply


def test_the_picker_works_without_javascript(app, acme):
    client, cid, pools = acme["client"], acme["campaign"], acme["pools"]
    response = _post(
        client,
        f"/campaigns/{cid}/pools/move?direction=add",
        {"selected_available": [pools["B"]]},
        htmx=False,
    )
    html = response.get_data(as_text=True)
    assert "<html" in html and "To assign: B." in html
    response = _apply(acme, ["B"], htmx=False)
    assert response.status_code == 302
    assert "Pools 1 assigned." in client.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert _assigned(app, acme["id"], cid) == ["B"]
    # Unassigning asks first, on a page of its own, then goes through.
    with app.app_context(), account_scope(acme["id"]):
        db.session.scalar(sa.select(PoolAssignment)).to_dial = False
        db.session.commit()
    response = _apply(acme, [], htmx=False)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert f'formaction="/campaigns/{cid}/pools/apply?confirmed=1"' in html
    assert _assigned(app, acme["id"], cid) == ["B"]
    assert _apply(acme, [], htmx=False, confirmed=True).status_code == 302
    assert _assigned(app, acme["id"], cid) == []


def test_apply_then_weights_70_30_100_show_35_15_50_percent(app, acme):
    response = _apply(acme, ["A", "B", "C"])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Pools 3 assigned." in html
    assert [_share(html, n) for n in "ABC"] == ["33.4 %", "33.3 %", "33.3 %"]
    assert _assigned(app, acme["id"], acme["campaign"]) == ["A", "B", "C"]
    assert [e.details["pool"] for e in _audit(app, acme["id"], "campaign.pool_assign")] == [
        "A",
        "B",
        "C",
    ]

    values = {
        "A": (True, "weighted", 70),
        "B": (True, "weighted", 30),
        "C": (True, "priority", 100),
    }
    response = _settings(acme, app, values)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert [_share(html, n) for n in "ABC"] == ["35 %", "15 %", "50 %"]
    assert "Settings saved for 3 pools." in html
    assert len(_audit(app, acme["id"], "campaign.pool_settings")) == 3

    # A pool that is not to dial gets no share; the others share 100 %.
    values["B"] = (False, "weighted", 30)
    html = _settings(acme, app, values).get_data(as_text=True)
    assert [_share(html, n) for n in "ABC"] == ["41.2 %", "—", "58.8 %"]


def test_all_zero_weights_show_zero_shares_and_a_warning(app, acme):
    _apply(acme, ["A", "B"])
    values = {"A": (True, "weighted", 0), "B": (True, "weighted", 0)}
    html = _settings(acme, app, values).get_data(as_text=True)
    assert [_share(html, n) for n in "AB"] == ["0 %", "0 %"]
    assert "Every to-dial pool has weight 0" in html


def test_weighting_off_shows_no_shares(app, acme):
    _apply(acme, ["A"])
    with app.app_context(), account_scope(acme["id"]):
        db.session.get(Campaign, acme["campaign"]).weighting = False
        db.session.commit()
    html = acme["client"].get(f"/campaigns/{acme['campaign']}").get_data(as_text=True)
    assert _share(html, "A") == "—"
    assert "Weighting is off for this campaign" in html


def test_a_bad_weight_is_refused_and_nothing_is_saved(app, acme):
    _apply(acme, ["A", "B"])
    values = {"A": (True, "weighted", 50), "B": (True, "weighted", 1001)}
    response = _settings(acme, app, values)
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.get_data(as_text=True) == (
        "The weight of 'B' must be a whole number from 0 to 1000."
    )
    weights = _query(app, acme["id"], sa.select(PoolAssignment.weight))
    assert sorted(weights) == [100, 100]  # A's change was rolled back too
    assert _audit(app, acme["id"], "campaign.pool_settings") == []


def test_a_pool_marked_to_dial_cannot_be_unassigned(app, acme):
    _apply(acme, ["A", "B"])
    cid, pools = acme["campaign"], acme["pools"]
    # Refused as soon as it is moved to the left...
    response = _post(
        acme["client"],
        f"/campaigns/{cid}/pools/move?direction=remove",
        {"assigned": [pools["A"], pools["B"]], "selected_assigned": [pools["A"]]},
    )
    assert response.status_code == 422
    sentence = "'A' is marked to dial in this campaign; clear To dial and save before unassigning."
    assert response.get_data(as_text=True) == sentence
    # ...and at Apply, even when confirmed.
    response = _apply(acme, ["B"], confirmed=True)
    assert response.status_code == 422 and response.get_data(as_text=True) == sentence
    response = _apply(acme, ["B"], htmx=False, confirmed=True)
    assert response.status_code == 422 and _flashes(response.get_data(as_text=True)) == [
        sentence.replace("'", "&#39;")
    ]
    assert _assigned(app, acme["id"], cid) == ["A", "B"]
    assert _audit(app, acme["id"], "campaign.pool_unassign") == []


def test_unassigning_asks_for_confirmation_then_loses_the_settings(app, acme):
    _apply(acme, ["A", "B"])
    _settings(acme, app, {"A": (False, "sequential", 7), "B": (True, "weighted", 100)})
    response = _apply(acme, ["B"])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        "Unassigning &#39;A&#39; loses the to-dial flag, dialer strategy and weight kept for "
        "this campaign" in html
    )
    assert "Unassign and apply" in html
    assert _assigned(app, acme["id"], acme["campaign"]) == ["A", "B"]  # not yet

    response = _apply(acme, ["B"], confirmed=True)
    assert response.status_code == 200
    assert "Pools 1 unassigned." in response.get_data(as_text=True)
    assert _assigned(app, acme["id"], acme["campaign"]) == ["B"]
    (entry,) = _audit(app, acme["id"], "campaign.pool_unassign")
    assert (entry.details["pool"], entry.details["strategy"], entry.details["weight"]) == (
        "A",
        "sequential",
        7,
    )


def test_the_system_inactive_pool_is_refused(app, acme):
    (inactive,) = _query(app, acme["id"], sa.select(LeadPool.id).where(LeadPool.is_system))
    response = _post(
        acme["client"], f"/campaigns/{acme['campaign']}/pools/apply", {"assigned": [inactive]}
    )
    assert response.status_code == 422
    assert response.get_data(as_text=True) == (
        "The system pool 'Inactive' holds the Lead Deduplicator's duplicates and can never be "
        "assigned to a campaign."
    )
    assert _assigned(app, acme["id"], acme["campaign"]) == []


def test_ready_to_dial_counts_only_pools_this_campaign_dials(app, acme):
    with app.app_context(), account_scope(acme["id"]):
        db.session.get(LeadPool, acme["pools"]["A"]).ready_count = 12
        db.session.get(LeadPool, acme["pools"]["B"]).ready_count = 5
        db.session.commit()
    _apply(acme, ["A", "B"])
    html = _settings(
        acme, app, {"A": (True, "weighted", 100), "B": (False, "weighted", 100)}
    ).get_data(as_text=True)
    assert re.search(r'data-testid="ready-A">12<', html)
    assert re.search(r'data-testid="ready-B">0<', html)


# --- issue 17 item 17: empty pools, created date and total leads ------------------------


def test_an_empty_pool_gets_0_percent_with_a_note_and_the_others_share_100(app, acme):
    with app.app_context(), account_scope(acme["id"]):
        empty = LeadPool(account_id=acme["id"], name="E")
        db.session.add(empty)
        db.session.commit()
        acme["pools"]["E"] = empty.id
    _apply(acme, ["A", "B", "E"])
    values = {
        "A": (True, "weighted", 70),
        "B": (True, "weighted", 30),
        "E": (True, "weighted", 100),
    }
    html = _settings(acme, app, values).get_data(as_text=True)
    assert [_share(html, n) for n in "ABE"] == ["70 %", "30 %", "0 %"]
    assert 'data-testid="empty-note-E">empty: no leads yet, its share goes to the others' in html
    assert 'data-testid="empty-note-A"' not in html
    assert "Every to-dial pool has weight 0" not in html


def test_the_pool_list_shows_created_date_and_total_leads(app, acme):
    _apply(acme, ["A", "B"])
    html = acme["client"].get(f"/campaigns/{acme['campaign']}").get_data(as_text=True)
    assert "<th>Created</th>" in html and "Total leads</th>" in html
    assert re.search(r'data-testid="created-A">\d{4}-\d\d-\d\d<', html)
    assert 'data-testid="total-A">1<' in html
