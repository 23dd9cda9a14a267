"""Mapping templates get a page (issue 17 item 9): list, view, rename, delete."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import AuditLog, MappingTemplate
from leadapp.security import account_scope
from leadapp.services import mapping_templates
from tests.conftest import csrf_from
from tests.hostile.conftest import Wizard, text_of


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def make_templates(wizard) -> tuple[int, int]:
    with wizard.app.app_context(), account_scope(wizard.account_id):
        crm = mapping_templates.save(
            "CRM export",
            {"CustKey": "customer_key", "Full name": "full_name", "Mobile": "phone1"},
            [["state", "NSW", "Australia/Sydney"]],
            {"first_valid_phone": True},
            wizard.user_id,
        )
        dialer = mapping_templates.save(
            "Dialer", {"phone_number": "phone1"}, [], {}, wizard.user_id
        )
        db.session.commit()
        return crm.id, dialer.id


def test_the_templates_page_lists_and_shows_them_in_the_products_words(app, wizard):
    crm, dialer = make_templates(wizard)
    page = text_of(wizard.client.get("/imports/templates"))
    assert f'href="/imports/templates/{crm}">CRM export</a>' in page
    assert f'href="/imports/templates/{dialer}">Dialer</a>' in page
    assert "Customer key, Full name (first and last name), Phone 1" in page
    assert "customer_key" not in page and "full_name" not in page
    assert 'href="/imports/templates"' in text_of(wizard.client.get("/imports"))

    page = text_of(wizard.client.get(f"/imports/templates/{crm}"))
    assert "<td>CustKey</td><td>Customer key</td>" in page
    assert "State / region = NSW → Australia/Sydney" in page
    assert 'data-testid="template-first-phone">yes<' in page


def test_a_template_is_renamed_and_a_taken_name_is_refused(app, wizard):
    crm, _ = make_templates(wizard)
    token = csrf_from(wizard.client, f"/imports/templates/{crm}")
    response = wizard.client.post(
        f"/imports/templates/{crm}/rename", data={"csrf_token": token, "name": "Dialer"}
    )
    assert response.status_code == 422
    assert "Another template is named 'Dialer'; choose another name." in text_of(response)
    response = wizard.client.post(
        f"/imports/templates/{crm}/rename", data={"csrf_token": token, "name": " HubSpot "}
    )
    assert response.status_code == 302
    with app.app_context(), account_scope(wizard.account_id):
        assert db.session.get(MappingTemplate, crm).name == "HubSpot"


def test_a_template_is_deleted(app, wizard):
    crm, dialer = make_templates(wizard)
    token = csrf_from(wizard.client, f"/imports/templates/{crm}")
    response = wizard.client.post(f"/imports/templates/{crm}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    page = text_of(wizard.client.get("/imports/templates"))
    assert "The template 'CRM export' was deleted" in page
    with app.app_context(), account_scope(wizard.account_id):
        names = db.session.scalars(sa.select(MappingTemplate.name)).all()
        assert names == ["Dialer"]
        assert (
            db.session.scalar(
                sa.select(AuditLog.action).where(AuditLog.object_type == "MappingTemplate")
            )
            == "template.delete"
        )
    assert wizard.client.get(f"/imports/templates/{crm}").status_code == 404
