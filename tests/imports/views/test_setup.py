"""The wizard's first steps (issue 17): "Start with a new file", and the campaign and the
existing pool agreeing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Import, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services.accounts import create_campaign
from tests.conftest import csrf_from
from tests.hostile.conftest import Wizard, text_of
from tests.imports import files


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def test_start_with_a_new_file_forgets_the_file_and_keeps_the_settings(app, wizard):
    """The file page's button posts only its CSRF token (item 5: it answered 400)."""
    import_id = wizard.new("Restarted pool")
    assert wizard.upload(import_id, files.headerless_file(5)).status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/file"))
    form = re.search(r'<form[^>]*action="/imports/\d+/restart".*?</form>', page, re.DOTALL)
    posted = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(0)))
    assert set(posted) == {"csrf_token"}  # exactly what the browser sends

    response = wizard.client.post(f"/imports/{import_id}/restart", data=posted)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/imports/{import_id}/file")
    imp = wizard.imp(import_id)
    assert imp.file_name is None and imp.staging_path is None
    assert imp.settings["priority"] == 5  # the settings stay
    page = text_of(wizard.client.get(f"/imports/{import_id}/file"))
    assert "Start with a new file" not in page and 'type="file"' in page


def pool_of_another_campaign(wizard) -> tuple[int, int]:
    """A second campaign (AU) and a pool that feeds only it: (campaign id, pool id)."""
    with wizard.app.app_context(), account_scope(wizard.account_id):
        account = db.session.get(Account, wizard.account_id)
        other = create_campaign(account, "Winter AU", region="AU", timezone="Australia/Sydney")
        pool = LeadPool(account_id=account.id, name="Sydney leads")
        db.session.add(pool)
        db.session.flush()
        db.session.add(PoolAssignment(account_id=account.id, pool_id=pool.id, campaign_id=other.id))
        db.session.commit()
        return other.id, pool.id


def settings_post(wizard, campaign_id: int, pool_id: int):
    token = csrf_from(wizard.client, "/imports/new")
    return wizard.client.post(
        "/imports/new",
        data={
            "csrf_token": token,
            "campaign": campaign_id,
            "owner": wizard.user_id,
            "target": "existing",
            "pool_name": "",
            "existing_pool": pool_id,
            "priority": 5,
            "day_offset": 0,
        },
    )


def test_an_existing_pool_of_another_campaign_is_refused_with_a_sentence(app, wizard):
    """Item 3: the numbers would be checked against the other campaign's region and the
    duplicates searched in the wrong campaign, silently."""
    other_id, pool_id = pool_of_another_campaign(wizard)
    response = settings_post(wizard, wizard.campaign_id, pool_id)
    assert response.status_code == 422
    page = text_of(response)
    assert (
        "The pool 'Sydney leads' feeds the campaign 'Winter AU', not 'Spring': choose one of "
        "Spring's pools, or the campaign Winter AU." in page
    )
    with app.app_context(), account_scope(wizard.account_id):
        assert db.session.scalar(sa.select(sa.func.count(Import.id))) == 0

    # With its own campaign it goes on to the file step.
    response = settings_post(wizard, other_id, pool_id)
    assert response.status_code == 302 and "/file" in response.headers["Location"]


def test_the_settings_page_says_which_campaigns_each_pool_feeds(app, wizard):
    """The page offers only the chosen campaign's pools (wizard.js reads data-campaigns);
    a pool that feeds no campaign yet fits every campaign."""
    other_id, pool_id = pool_of_another_campaign(wizard)
    with app.app_context(), account_scope(wizard.account_id):
        loose = LeadPool(account_id=wizard.account_id, name="Loose pool")
        db.session.add(loose)
        db.session.commit()
        loose_id = loose.id
    page = text_of(wizard.client.get("/imports/new"))
    assert re.search(rf'<option[^>]*data-campaigns="{other_id}"[^>]*value="{pool_id}"', page)
    assert re.search(rf'<option[^>]*data-campaigns=""[^>]*value="{loose_id}"', page)
    assert settings_post(wizard, wizard.campaign_id, loose_id).status_code == 302
