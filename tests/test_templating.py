"""Numbers are written the same way on every page (issue 17 item 18): the ``number`` filter
("3,000", "2,448"), used by every template instead of formatting numbers itself."""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Import, User
from leadapp.security import account_scope
from leadapp.services.accounts import create_campaign
from leadapp.templating import number

ROOT = Path(__file__).resolve().parents[1] / "leadapp"


@pytest.mark.parametrize(
    "value,shown",
    [
        (3000, "3,000"),
        (2448, "2,448"),
        (368000, "368,000"),
        (0, "0"),
        (-1234, "-1,234"),
        (12.5, "12.5"),
        (1234.5, "1,234.5"),
        ("3000", "3,000"),
        (None, ""),
        ("", ""),
        ("n/a", "n/a"),
        (True, "True"),
    ],
)
def test_number_separates_thousands(value, shown):
    assert number(value) == shown


def test_no_template_formats_a_number_itself():
    """Every count goes through ``|number``: a template's own "{:,}".format(...) is how
    one page came to say 3000 beside another's 2,448."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.html")
        if re.search(r"""["']\{:,\}["']\.format""", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_imports_list_writes_3000_as_3_000(app, admin_client):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "admin@acme.test"))
        with account_scope(user.account_id):
            campaign = create_campaign(db.session.get(Account, user.account_id), "Spring")
            db.session.add(
                Import(
                    account_id=user.account_id,
                    user_id=user.id,
                    campaign_id=campaign.id,
                    file_name="big.csv",
                    status="completed",
                    step="done",
                    settings={"pool_name": "Big"},
                    counts={"rows": 3000, "imported": 2448},
                )
            )
            db.session.commit()
    html = admin_client.get("/imports").get_data(as_text=True)
    assert '<td class="num">3,000</td>' in html and '<td class="num">2,448</td>' in html
