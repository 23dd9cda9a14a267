"""Issue 15 through `flask leads import`: each lead in the zone its best evidence says,
disagreements flagged, an invalid zone a cell error (files generated here)."""

import json

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead


def _campaign(runner, name, region, zone):
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", name, "--region", region,
              "--timezone", zone]
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _import(runner, tmp_path, campaign, text) -> dict:
    path = tmp_path / f"{campaign}.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(
        args=["leads", "import", str(path), "--account", "acme", "--campaign", campaign,
              "--pool", campaign, "--scope", "none", "--auto-map", "--json"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def _leads(app) -> dict[str, Lead]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Lead)).all()
        for lead in rows:
            db.session.expunge(lead)
        return {lead.last_name: lead for lead in rows}


def test_us_leads_take_the_zone_of_their_zip_state_or_number(app, runner, make_account, tmp_path):
    make_account("acme")
    _campaign(runner, "US", "US", "America/Los_Angeles")
    out = _import(
        runner,
        tmp_path,
        "US",
        "First Name,Last Name,Phone,State,Zip\n"
        "A,alaska,(907) 555-0101,AK,\n"
        "B,hawaii,808-555-0101,HI,\n"
        "C,pensacola,850-555-0101,FL,32501\n"
        "D,tallahassee,850-555-0102,FL,32301\n"
        "E,disagree,212-555-0101,CA,90001\n"
        "F,unsure,850-555-0103,FL,\n",
    )
    assert out["imported"] == 6
    leads = _leads(app)
    zones = {k: (v.timezone, v.timezone_source) for k, v in leads.items()}
    assert zones == {
        "alaska": ("America/Anchorage", "state"),
        "hawaii": ("Pacific/Honolulu", "state"),
        "pensacola": ("America/Chicago", "postal"),
        "tallahassee": ("America/New_York", "postal"),
        "disagree": ("America/Los_Angeles", "postal"),
        "unsure": ("America/New_York", "default"),
    }
    assert leads["disagree"].timezone_note == (
        "zones disagree: number says America/New_York, address says America/Los_Angeles"
    )
    assert leads["disagree"].zone_key == "America/Los_Angeles,America/New_York|US|CA"
    assert leads["unsure"].timezone_note.startswith("zone unsure: the number may be in 2 zones")
    assert leads["alaska"].zone_key == "America/Anchorage|US|AK"
    assert leads["alaska"].timezone_note is None


def test_australian_leads_go_by_state_postcode_or_landline(app, runner, make_account, tmp_path):
    make_account("acme")
    _campaign(runner, "AU", "AU", "Australia/Sydney")
    _import(
        runner,
        tmp_path,
        "AU",
        "First Name,Last Name,Phone,State,Postcode\n"
        "A,wa,0412 345 678,WA,\n"
        "B,perth,0412 345 679,,6000\n"
        "C,qld,0412 345 670,QLD,\n"
        "D,landline,08 9234 5678,,\n",
    )
    zones = {k: (v.timezone, v.timezone_source) for k, v in _leads(app).items()}
    assert zones == {
        "wa": ("Australia/Perth", "state"),
        "perth": ("Australia/Perth", "postal"),
        "qld": ("Australia/Brisbane", "state"),
        "landline": ("Australia/Perth", "number"),
    }


def test_an_invalid_zone_in_the_file_is_a_cell_error(app, runner, make_account, tmp_path):
    make_account("acme")
    _campaign(runner, "Z", "US", "America/Los_Angeles")
    out = _import(
        runner,
        tmp_path,
        "Z",
        "Last Name,Phone,Time Zone\nok,212-555-0101,America/Chicago\nbad,212-555-0102,Mars/Base\n",
    )
    assert out["imported"] == 1 and out["invalid"] == 1
    assert {k: v.timezone for k, v in _leads(app).items()} == {"ok": "America/Chicago"}


def test_updating_existing_leads_moves_their_zone_note_and_key(app, runner, make_account, tmp_path):
    make_account("acme")
    _campaign(runner, "U", "US", "America/Los_Angeles")
    text = "Last Name,Phone,State\nmoved,(907) 555-0101,{}\n"
    _import(runner, tmp_path, "U", text.format("WA"))
    (lead,) = _leads(app).values()
    assert lead.timezone_note.startswith("zones disagree")
    for mode in ("overwrite", "fill-blanks"):
        path = tmp_path / f"again-{mode}.csv"
        path.write_text(text.format("AK"), encoding="utf-8")
        result = runner.invoke(
            args=["leads", "import", str(path), "--account", "acme", "--campaign", "U",
                  "--pool", "U", "--scope", "campaign", "--action", "update-existing",
                  "--update-mode", mode, "--auto-map", "--json"]
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        (lead,) = _leads(app).values()
        if mode == "fill-blanks":  # the zone was not blank: zone, note and key stay as one
            assert (lead.timezone, lead.state) == ("America/Anchorage", "AK")
            assert (lead.timezone_note, lead.zone_key) == (None, "America/Anchorage|US|AK")
        else:
            assert (lead.timezone, lead.timezone_source, lead.state) == (
                "America/Anchorage", "state", "AK",
            )  # fmt: skip
            assert (lead.timezone_note, lead.zone_key) == (None, "America/Anchorage|US|AK")
