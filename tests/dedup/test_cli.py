"""`flask dedup run` names its job in the account's zone, as the pages show times."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

from leadapp.extensions import db
from leadapp.models import Account, DedupJob, Lead, LeadPool
from leadapp.security import account_scope


def test_a_command_line_run_is_named_in_the_accounts_zone(app, runner, make_account):
    account_id = make_account("acme")
    with app.app_context():
        db.session.get(Account, account_id).timezone = "Asia/Tokyo"
        with account_scope(account_id):
            pool = LeadPool(name="Spring")
            db.session.add(pool)
            db.session.flush()
            db.session.add_all([Lead(pool_id=pool.id, phone1="+14155550601") for _ in range(2)])
            db.session.commit()
    result = runner.invoke(args=["dedup", "run", "--account", "acme", "--json"])
    assert result.exit_code == 0, result.output
    job_id = json.loads(result.stdout.strip().splitlines()[-1])["job_id"]
    with app.app_context(), account_scope(account_id):
        name = db.session.get(DedupJob, job_id).name
    match = re.fullmatch(r"Command line run (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) JST", name)
    assert match, name
    named = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
    tokyo_now = dt.datetime.now(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None)
    assert abs((tokyo_now - named).total_seconds()) < 120
