"""Admin > Wrap codes, and the pool grid following a wrap code wherever it is recorded."""

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead, User, WrapCode
from leadapp.security import account_scope
from leadapp.services import api_tokens
from tests.conftest import csrf_from, login
from tests.pools.helpers import account_id_of, campaign, grid_rows, pool


def _codes(app, slug="acme"):
    with app.app_context():
        return {
            c.code: (c.effect, c.label)
            for c in db.session.scalars(
                sa.select(WrapCode)
                .join(User, User.account_id == WrapCode.account_id)
                .where(User.email == f"admin@{slug}.test")
                .execution_options(all_accounts=True)
            )
        }


def _id(app, code):
    with app.app_context():
        return db.session.scalar(
            sa.select(WrapCode.id)
            .where(WrapCode.code == code, WrapCode.account_id == account_id_of())
            .execution_options(all_accounts=True)
        )


def test_admin_adds_changes_and_deletes_a_wrap_code(app, admin_client):
    page = admin_client.get("/admin/wrap-codes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="wrap-code-SALE"' in html and "Completed (the lead is closed" in html
    token = csrf_from(admin_client, "/admin/wrap-codes")
    added = admin_client.post(
        "/admin/wrap-codes",
        data={
            "csrf_token": token,
            "code": "appointment set",
            "label": "Booked",
            "effect": "completed",
        },
    )
    assert added.status_code == 302
    assert _codes(app)["APPOINTMENT_SET"] == ("completed", "Booked")
    again = admin_client.post(
        "/admin/wrap-codes",
        data={"csrf_token": token, "code": "Appointment-Set", "effect": "closed"},
    )
    assert again.status_code == 422
    assert "The wrap code APPOINTMENT_SET exists already" in again.get_data(as_text=True)
    sale = _id(app, "SALE")
    changed = admin_client.post(
        f"/admin/wrap-codes/{sale}",
        data={
            f"c{sale}-csrf_token": token,
            f"c{sale}-code": "SALE",
            f"c{sale}-label": "Sold",
            f"c{sale}-effect": "closed",
        },
    )
    assert changed.status_code == 302
    assert _codes(app)["SALE"] == ("closed", "Sold")
    bad = admin_client.post(
        f"/admin/wrap-codes/{sale}",
        data={f"c{sale}-csrf_token": token, f"c{sale}-code": "", f"c{sale}-effect": "closed"},
    )
    assert bad.status_code == 422 and "Give the wrap code, like SALE." in bad.get_data(as_text=True)
    gone = admin_client.post(
        f"/admin/wrap-codes/{_id(app, 'APPOINTMENT_SET')}/delete", data={"csrf_token": token}
    )
    assert gone.status_code == 302 and "APPOINTMENT_SET" not in _codes(app)


def test_supervisors_and_other_accounts_cannot_touch_the_table(
    app, client, make_account, make_user
):
    acme = make_account("acme")
    make_account("globex")
    make_user(acme, "boss@acme.test")
    login(client, "boss@acme.test")
    assert client.get("/admin/wrap-codes").status_code == 403
    client = app.test_client()
    login(client, "admin@globex.test")
    token = csrf_from(client, "/admin/wrap-codes")
    sale = _id(app, "SALE")  # acme's
    assert (
        client.post(f"/admin/wrap-codes/{sale}/delete", data={"csrf_token": token}).status_code
        == 404
    )
    assert "SALE" in _codes(app, "acme")


@pytest.fixture
def grid(app, admin_client):
    sales = campaign(app, "Spring Sales")
    pool_id = pool(app, "Spring list", [{}, {}], campaigns=[sales])
    with app.app_context():
        ids = list(
            db.session.scalars(
                sa.select(Lead.id)
                .where(Lead.pool_id == pool_id)
                .order_by(Lead.id)
                .execution_options(all_accounts=True)
            )
        )
    return {"pool": pool_id, "leads": ids}


def _row(client):
    # ready, open, % closed, % used, total
    return grid_rows(client.get("/pools?status=all").get_data(as_text=True))["Spring list"][3:8]


def test_sale_on_the_lead_page_closes_the_lead_in_the_grid(app, admin_client, grid):
    assert _row(admin_client) == ["2", "2", "0.0", "0.0", "2"]
    first = f"/leads/{grid['leads'][0]}"
    token = csrf_from(admin_client, first)
    callback = admin_client.post(
        f"{first}/wrap-code",
        data={"csrf_token": token, "wrap_code": "CALLBACK", "callback_at": "2030-01-02T09:30"},
    )
    assert callback.status_code == 302
    # Still open, but waiting for its callback (2030): not ready to dial today.
    assert _row(admin_client) == ["1", "2", "0.0", "0.0", "2"]
    sale = admin_client.post(f"{first}/wrap-code", data={"csrf_token": token, "wrap_code": "SALE"})
    assert sale.status_code == 302
    assert _row(admin_client) == ["1", "1", "50.0", "0.0", "2"]
    with app.app_context():
        lead = db.session.get(Lead, grid["leads"][0])
        assert (lead.status, lead.completed, lead.callback_at) == ("closed", True, None)
    page = admin_client.get(first).get_data(as_text=True)
    assert "its status is closed" in page and 'data-testid="wrap-code">SALE</dd>' in page


def test_outcomes_through_the_api_follow_the_table(app, admin_client, grid):
    with app.app_context(), account_scope(account_id_of()):
        admin = db.session.scalar(sa.select(User).where(User.email == "admin@acme.test"))
        _token, plaintext = api_tokens.create_token(admin, "CRM")
        db.session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    first, second = grid["leads"]

    def call(lead_id, body):
        return admin_client.post(
            f"/api/v1/leads/{lead_id}/interactions", json=body, headers=headers
        )

    waiting = call(first, {"wrap_code": "CALLBACK", "callback_at": "2030-01-02T09:30:00-08:00"})
    assert waiting.status_code == 201, waiting.get_json()
    assert waiting.get_json()["lead"]["status"] == "open"
    assert call(second, {"wrap_code": "callback"}).status_code == 422  # no time given
    sold = call(first, {"wrap_code": "sale"})
    assert sold.status_code == 201
    assert sold.get_json()["lead"]["status"] == "closed" and sold.get_json()["lead"]["completed"]
    assert call(second, {"wrap_code": "NOT_INTERESTED"}).status_code == 201
    assert _row(admin_client) == ["0", "0", "100.0", "100.0", "2"]
    with app.app_context():
        lead = db.session.get(Lead, first)
        assert lead.callback_at is None and lead.wrap_code == "SALE"
