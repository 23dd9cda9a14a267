"""The writer of imported leads: times in the file without a zone are the account's."""

import json

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Lead
from leadapp.security import account_scope


def test_file_times_without_a_zone_are_read_in_the_accounts_zone(
    app, runner, make_account, tmp_path
):
    account_id = make_account("acme")
    with app.app_context():
        db.session.get(Account, account_id).timezone = "Europe/Paris"
        db.session.commit()
    result = runner.invoke(
        # A Paris account's US campaign is asked its zone (issue 15); the file's times are
        # still read in the account's zone.
        args=["campaigns", "create", "--account", "acme", "--name", "Spring", "--region", "US",
              "--timezone", "America/New_York"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    path = tmp_path / "dated.csv"
    path.write_text(
        "First Name,Phone,Created,Last called\n"
        "Ann,4155550501,2026-03-01 09:30,2026-07-01 18:00\n"
        "Bob,4155550502,2026-03-01T09:30:00Z,2026-07-01T18:00:00-04:00\n"
    )
    result = runner.invoke(
        args=[
            "leads", "import", str(path), "--account", "acme", "--campaign", "Spring",
            "--pool", "Dated", "--map", "First Name=first_name", "--map", "Phone=phone1",
            "--map", "Created=created_at", "--map", "Last called=last_called_at", "--json",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["imported"] == 2
    with app.app_context(), account_scope(account_id):
        rows = db.session.execute(
            sa.select(Lead.first_name, Lead.created_at, Lead.last_called_at).order_by(Lead.id)
        ).all()
    stored = {name: (f"{c:%Y-%m-%d %H:%M}", f"{c2:%Y-%m-%d %H:%M}") for name, c, c2 in rows}
    assert stored == {
        "Ann": ("2026-03-01 08:30", "2026-07-01 16:00"),  # Paris wall clock (CET, CEST)
        "Bob": ("2026-03-01 09:30", "2026-07-01 22:00"),  # their own zone
    }
