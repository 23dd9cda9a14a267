"""Demo data: an account a new user can click through right after ``make run``."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from leadapp.domain import leadgen
from leadapp.domain.phones import normalise_phones
from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import accounts, pools

DEMO_SLUG = "demo"
ADMIN_EMAIL = "admin@demo.example"
SUPERVISOR_EMAIL = "supervisor@demo.example"
DEMO_PASSWORD = "demo-password"  # noqa: S105 (printed to the user; demo data only)


def create_demo(lead_count: int = 2000) -> dict:
    """Create the demo account (once); return what to print about logging in."""
    existing = db.session.scalar(sa.select(Account).where(Account.slug == DEMO_SLUG))
    if existing is None:
        account = accounts.create_account(
            "Demo Contact Centre", DEMO_SLUG, ADMIN_EMAIL, DEMO_PASSWORD, admin_name="Dana Admin"
        )
        with account_scope(account.id):
            accounts.create_user(
                account, SUPERVISOR_EMAIL, "Sam Supervisor", DEMO_PASSWORD, role="supervisor"
            )
            sales = accounts.create_campaign(account, "Spring Sales", project="Outbound")
            survey = accounts.create_campaign(
                account, "Customer Survey", project="Outbound", purpose="survey"
            )
            _load_sample_pool(account, sales, "Spring prospects", lead_count, seed=7)
            _load_sample_pool(account, survey, "Survey panel", max(lead_count // 4, 10), seed=8)
            pools.refresh_counts(pools.list_pools())
    return {
        "message": (
            "Demo account ready. Log in at http://127.0.0.1:5000/login with\n"
            f"  admin:      {ADMIN_EMAIL} / {DEMO_PASSWORD}\n"
            f"  supervisor: {SUPERVISOR_EMAIL} / {DEMO_PASSWORD}"
        )
    }


def _load_sample_pool(account, campaign, name: str, rows: int, seed: int) -> LeadPool:
    """Generated leads (the project's own generator) with valid phones, into a new pool."""
    pool = LeadPool(
        account_id=account.id, name=name, source_file_name=f"{name.lower().replace(' ', '_')}.csv"
    )
    db.session.add(pool)
    db.session.flush()
    db.session.add(PoolAssignment(account_id=account.id, pool_id=pool.id, campaign_id=campaign.id))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leads.csv"
        leadgen.generate(rows, str(path), seed=seed, region=campaign.default_region)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    phones = normalise_phones(frame["Phone"], campaign.default_region)
    valid = phones["e164"].notna()
    frame, phones = frame[valid], phones[valid]
    rng = random.Random(seed)
    db.session.execute(
        sa.insert(Lead),
        [
            {
                "account_id": account.id,
                "pool_id": pool.id,
                "customer_key": row["Customer ID"],
                "first_name": row["First Name"],
                "last_name": row["Last Name"],
                "email": row["Email"] or None,
                "email_key": row["Email"].strip().lower() or None,
                "phone1": e164,
                "phone1_raw": row["Phone"],
                "state": row["State"] or None,
                "source": row["Source"]
                if row["Source"] in ("outbound", "inbound", "web")
                else "outbound",
                "status": rng.choices(["open", "closed"], [0.8, 0.2])[0],
                "dial_order": rng.randint(0, 1_000_000),
                "custom": {},
            }
            for row, e164 in zip(frame.to_dict("records"), phones["e164"], strict=True)
        ],
    )
    pool.valid_count = int(valid.sum())
    pool.invalid_count = int((~valid).sum())
    db.session.flush()
    return pool
