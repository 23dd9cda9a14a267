"""The dial queue's API (issue 18): dial/next, release, outcomes ending leases, isolation,
and many dialers asking at once against a real server never getting the same lead."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from leadapp.extensions import db
from leadapp.models import Campaign, DialLease, Lead, User
from leadapp.security import account_scope
from leadapp.services import api_tokens
from tests.services.dial_helpers import build

ALL_DAY = {
    "days": {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "states": {},
    "holidays_off": False,
}


def _token(user: User, scopes=("dial", "record_outcomes")) -> str:
    try:
        _token_row, plaintext = api_tokens.create_token(user, "Dialer", scopes=list(scopes))
    except TypeError:  # tokens without scopes
        _token_row, plaintext = api_tokens.create_token(user, "Dialer")
    return plaintext


def _world(app, account_id, user_id, leads=20, weights=None):
    with app.app_context(), account_scope(account_id):
        world = build(account_id, weights or {"A": 70, "B": 30}, leads=leads)
        db.session.get(Campaign, world.campaign_id).calling_hours = ALL_DAY
        token = _token(db.session.get(User, user_id))
        db.session.commit()
        return world, token


@pytest.fixture
def dialer(app, make_account, make_user):
    account_id = make_account("dialapi")
    user_id = make_user(account_id, "agent@dialapi.test")
    world, token = _world(app, account_id, user_id)
    return world, token, account_id


def _post(client, path, token, body=None):
    return client.post(
        path,
        data=json.dumps(body if body is not None else {}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_dial_next_leases_leads_with_everything_a_dialer_needs(client, dialer):
    world, token, _ = dialer
    answer = _post(client, f"/api/v1/campaigns/{world.code}/dial/next", token, {"count": 3})
    assert answer.status_code == 200, answer.get_json()
    leads = answer.get_json()["leads"]
    assert len(leads) == 3
    first = leads[0]
    assert first["phone"].startswith("+1") and first["phones"] == [first["phone"]]
    assert first["timezone"] == "America/Chicago"
    assert first["lease_id"] and first["lease_expires_at"].endswith("Z")
    assert first["pool"] in ("A", "B") and "local_time" in first
    # Nobody else gets them while leased.
    again = _post(client, f"/api/v1/campaigns/{world.code}/dial/next", token, {"count": 40})
    ids = {lead["id"] for lead in again.get_json()["leads"]}
    assert len(ids) == 37 and not ids & {lead["id"] for lead in leads}


def test_release_gives_the_lead_back_and_an_outcome_ends_the_lease(
    app, client, make_account, make_user
):
    # One pool: which pool's turn comes next follows PostgreSQL's shared slot sequence,
    # which other tests move on; within a pool the released lead is first in dial order.
    account_id = make_account("dialrelease")
    world, token = _world(app, account_id, make_user(account_id, "agent@dialrelease.test"),
                          weights={"A": 100})  # fmt: skip
    path = f"/api/v1/campaigns/{world.code}/dial/next"
    (one, two) = _post(client, path, token, {"count": 2}).get_json()["leads"]
    released = _post(client, f"/api/v1/leases/{one['lease_id']}/release", token)
    assert released.status_code == 200 and released.get_json()["released"] is True
    assert (
        _post(client, f"/api/v1/leases/{one['lease_id']}/release", token).get_json()["released"]
        is False
    )
    called = _post(
        client,
        f"/api/v1/leads/{two['id']}/interactions",
        token,
        {"campaign": world.code, "wrap_code": "BUSY"},
    )
    assert called.status_code == 201, called.get_json()
    with app.app_context(), account_scope(account_id):
        lease = db.session.get(DialLease, two["lease_id"])
        lead = db.session.get(Lead, two["id"])
        assert lease.end_reason == "outcome"
        assert lead.dial_attempts == 1
    # The released lead comes again first; the busy one waits its recycle delay.
    (next_one,) = _post(client, path, token, {"count": 1}).get_json()["leads"]
    assert next_one["id"] == one["id"]


def test_refusals_are_sentences(client, dialer, make_account, make_user, app):
    world, token, _ = dialer
    path = f"/api/v1/campaigns/{world.code}/dial/next"
    for body, status in (({"count": 0}, 422), ({"count": "x"}, 422), ({"speed": 1}, 422)):
        answer = _post(client, path, token, body)
        assert answer.status_code == status and answer.get_json()["error"]
    assert _post(client, path, token, {"agent": "ghost@x.test"}).status_code == 422
    assert _post(client, "/api/v1/campaigns/NOPE/dial/next", token, {}).status_code == 404
    # Another account's lease is not there.
    other = make_account("otherdial")
    other_user = make_user(other, "agent@otherdial.test")
    _world_b, token_b = _world(app, other, other_user, leads=1)
    lease_id = _post(client, path, token, {"count": 1}).get_json()["leads"][0]["lease_id"]
    assert _post(client, f"/api/v1/leases/{lease_id}/release", token_b).status_code == 404


def test_a_token_without_the_dial_scope_is_refused(app, client, dialer):
    world, _token_ok, account_id = dialer
    with app.app_context(), account_scope(account_id):
        user = db.session.scalar(sa.select(User).where(User.email == "agent@dialapi.test"))
        try:
            _row, plaintext = api_tokens.create_token(user, "Reader", scopes=["read"])
        except TypeError:
            pytest.skip("tokens have no scopes yet")
        db.session.commit()
    answer = _post(client, f"/api/v1/campaigns/{world.code}/dial/next", plaintext, {})
    assert answer.status_code == 403 and "dial" in answer.get_json()["error"]


@pytest.mark.usefixtures("committed")
def test_many_dialers_at_once_never_get_the_same_lead(app, make_account, make_user):
    account_id = make_account("rush")
    user_id = make_user(account_id, "agent@rush.test")
    world, token = _world(app, account_id, user_id, leads=150, weights={"A": 70, "B": 30})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    got: list[list[int]] = [[] for _ in range(20)]
    errors: list[str] = []

    def dialer(slot: int) -> None:
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1)
            f"{base}/api/v1/campaigns/{world.code}/dial/next",
            data=json.dumps({"count": 3}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        for _ in range(40):
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                    leads = json.load(answer)["leads"]
            except urllib.error.HTTPError as exc:
                errors.append(f"{exc.code} {exc.read()[:200]!r}")
                continue
            if not leads:
                return
            got[slot] += [lead["id"] for lead in leads]

    try:
        threads = [threading.Thread(target=dialer, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        server.shutdown()
    handed = [lead_id for ids in got for lead_id in ids]
    assert not errors, errors[:3]
    assert len(handed) == len(set(handed)) == 300  # every lead once, none twice
    assert sum(1 for ids in got if ids) > 1  # the callers did share the work
    with app.app_context():
        open_leases = db.session.scalar(
            sa.select(sa.func.count()).select_from(DialLease).where(DialLease.ended_at.is_(None))
        )
    assert open_leases == 300
