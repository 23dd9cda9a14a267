"""Demo data carries real zones and their sources, a few disagreeing (issue 15)."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead
from leadapp.services.demo import create_demo


def test_demo_leads_have_zones_sources_and_a_few_disagreements(app_ctx):
    create_demo(400)
    leads = db.session.scalars(sa.select(Lead)).all()
    assert len(leads) > 400
    assert all(lead.timezone and lead.timezone_source and lead.zone_key for lead in leads)
    sources = Counter(lead.timezone_source for lead in leads)
    assert sources["state"] > len(leads) / 2
    disagree = [lead for lead in leads if (lead.timezone_note or "").startswith("zones disagree")]
    assert 1 <= len(disagree) <= len(leads) / 10
    # Each keeps its address's zone and is called only when every zone allows.
    assert all("," in lead.zone_key.partition("|")[0] for lead in disagree)
    alaska = [lead for lead in leads if lead.state == "AK" and lead.phone1.startswith("+1907")]
    assert alaska and {lead.timezone for lead in alaska} == {"America/Anchorage"}
