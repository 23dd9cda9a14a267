"""Demo data: an account a new user can click through right after ``make run``."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from leadapp.domain import leadgen
from leadapp.domain.phones import normalise_phones
from leadapp.domain.timezones import resolve_timezones
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


# A few demo leads live away from their number's area (a moved mobile): their state is
# replaced by one in another zone, so the demo shows "zones disagree" (issue 15).
MOVED_SHARE = 0.03
MOVED_TO = {"US": ("CA", "NY"), "AU": ("WA", "NSW")}


def _demo_zones(frame: pd.DataFrame, e164: pd.Series, campaign, rng) -> pd.DataFrame:
    """Each demo lead's state and zone, resolved as an import would (the lead's state,
    else its number, else the campaign's default); a few states moved to disagree."""
    states = frame["State"].tolist()
    west, east = MOVED_TO.get(campaign.default_region, ("", ""))
    if west:
        for i in range(len(states)):
            if rng.random() < MOVED_SHARE:
                states[i] = east if states[i] == west else west
    evidence = pd.DataFrame(
        {"state": states, "country": campaign.default_region}, index=frame.index, dtype="str"
    )
    out = resolve_timezones(
        evidence,
        tz_field=None,
        e164=e164,
        default_zone=campaign.timezone,
        region=campaign.default_region,
    )
    out["state"] = states
    return out.astype(object).where(out.notna(), None)


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
    zones = _demo_zones(frame, phones["e164"], campaign, rng)
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
                "state": state or None,
                "country": campaign.default_region,
                "timezone": zone["timezone"],
                "timezone_source": zone["zone_source"],
                "timezone_note": zone["timezone_note"],
                "zone_key": zone["zone_key"],
                "source": row["Source"]
                if row["Source"] in ("outbound", "inbound", "web")
                else "outbound",
                "status": rng.choices(["open", "closed"], [0.8, 0.2])[0],
                "dial_order": rng.randint(0, 1_000_000),
                "custom": {},
            }
            for row, e164, state, zone in zip(
                frame.to_dict("records"),
                phones["e164"],
                zones["state"],
                zones.to_dict("records"),
                strict=True,
            )
        ],
    )
    pool.valid_count = int(valid.sum())
    pool.invalid_count = int((~valid).sum())
    db.session.flush()
    return pool
