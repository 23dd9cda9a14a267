"""One lead's page: its change log reads as sentences and names the dedup job that moved or
kept it (with a link); Source shows once."""

import re

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, DedupJob, Lead, LeadPool, User
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services import leads as lead_service


def _world(app):
    with app.app_context():
        account_id = db.session.scalar(
            sa.select(User.account_id).where(User.email == "admin@acme.test")
        )
        with account_scope(account_id):
            admin = db.session.scalar(sa.select(User).where(User.email == "admin@acme.test"))
            pool = LeadPool(name="Spring list")
            db.session.add(pool)
            db.session.flush()
            old = lead_service.create_lead(
                pool, {"first_name": "Ada", "phone1": "4155550701"}, user_id=admin.id,
                options={"scope": "none"},
            ).lead  # fmt: skip
            new = lead_service.create_lead(
                pool, {"first_name": "Ada", "phone1": "4155550701"}, user_id=admin.id,
                options={"scope": "none"},
            ).lead  # fmt: skip
            new.custom = {**(new.custom or {}), "source": "referral"}
            lead_service.update_lead(new, {"last_name": "King"}, user_id=admin.id)
            lead_service.set_wrap_code(new, "SALE", user_id=admin.id)
            job = DedupJob(name="Nightly clean-up", scope="list", targets=[pool.id])
            db.session.add(job)
            db.session.flush()
            job.status = "running"
            dedup_service.run(job)
            job.status = "completed"
            db.session.commit()
            return {"old": old.id, "new": new.id, "job": job.id}


def _log(html: str) -> str:
    block = html.split('data-testid="lead-log"', 1)[1].split("</details>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", block).split())


def test_the_change_log_reads_as_sentences_and_names_the_dedup_job(app, admin_client):
    w = _world(app)
    moved = admin_client.get(f"/leads/{w['old']}").get_data(as_text=True)
    log = _log(moved)
    assert "{" not in log and "'" not in log.replace("job's", "")  # no Python dict
    assert "Created in the pool Spring list (source: manual)." in log
    assert (
        "Moved from the pool Spring list to Inactive by the dedup job “Nightly clean-up”: "
        f"a duplicate of lead #{w['new']} (same Phone 1)"
    ) in log
    assert f'href="/dedup/{w["job"]}/report"' in moved
    kept = admin_client.get(f"/leads/{w['new']}").get_data(as_text=True)
    log = _log(kept)
    assert "Changed Last name from — to King." in log
    assert "Wrap code set to SALE: completed (the lead is closed" in log
    assert (
        f"Kept as the golden record by the dedup job “Nightly clean-up”; its duplicate #{w['old']} "
        "moved to Inactive."
    ) in log
    assert "{" not in log


def test_source_is_shown_once(app, admin_client):
    w = _world(app)
    html = admin_client.get(f"/leads/{w['new']}").get_data(as_text=True)
    details = html.split('data-testid="lead-details"', 1)[1].split("</dl>", 1)[0]
    assert details.count(">Source<") == 1 and ">source<" not in details
    assert "manual" in details and "the file said “referral”" in details


def test_undoing_the_run_is_in_the_log(app, admin_client):
    w = _world(app)
    with app.app_context():
        account_id = db.session.scalar(sa.select(Account.id).where(Account.slug == "acme"))
        with account_scope(account_id):
            dedup_service.undo(db.session.get(DedupJob, w["job"]))
            db.session.commit()
            assert db.session.get(Lead, w["old"]).status == "open"
    log = _log(admin_client.get(f"/leads/{w['old']}").get_data(as_text=True))
    assert "Put back in the pool Spring list: the dedup job “Nightly clean-up” was undone." in log
