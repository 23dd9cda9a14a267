"""Exports of real CRMs and dialers import with ``--auto-map``: the right mapping and counts.

Each file is written here in the exact column layout the product exports (Google Contacts,
HubSpot, VICIdial's standard list layout, a German spreadsheet saved as semicolon CSV in
Windows-1252). The expected counts are worked out in the test with ``phonenumbers`` itself,
not with the app's code: a row is valid when its main phone is a valid number for the
campaign's region (or its own ``+`` code) and its e-mail, if any, looks like one.
"""

from __future__ import annotations

import csv
import io
import json
import re

import phonenumbers
import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool

EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def e164(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def expected_counts(rows: list[dict], phone: str, region: str, email: str | None = None):
    """The counts of DESIGN.md §7 for a fresh campaign (scope campaign, discard-new)."""
    keys, invalid = [], 0
    for row in rows:
        key = e164(row[phone], region)
        bad_email = bool(email and row[email] and not EMAIL.fullmatch(row[email]))
        if key is None or bad_email:
            invalid += 1
        else:
            keys.append(key)
    counts = {
        "rows": len(rows),
        "valid": len(keys),
        "invalid": invalid,
        "duplicates_in_file": len(keys) - len(set(keys)),
        "duplicates_existing": 0,
        "imported": len(set(keys)),
    }
    return counts, sorted(set(keys))


def write_csv(path, header, rows, *, delimiter=",", encoding="utf-8", prefix="", bom=False):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    data = prefix + buffer.getvalue()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode(encoding))
    return path


@pytest.fixture
def account(app, runner, make_account):
    make_account("acme")
    return "acme"


def make_campaign(runner, name, region):
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", name, "--region", region]
    )
    assert result.exit_code == 0, result.output


def auto_import(runner, path, campaign, pool):
    result = runner.invoke(
        args=[
            "leads",
            "import",
            str(path),
            "--account",
            "acme",
            "--campaign",
            campaign,
            "--pool",
            pool,
            "--auto-map",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def pool_leads(app, pool_id) -> list[Lead]:
    with app.app_context():
        leads = list(db.session.scalars(sa.select(Lead).where(Lead.pool_id == pool_id)))
        db.session.expunge_all()
        return leads


def check(app, counts, expected, keys):
    assert {k: counts[k] for k in expected} == expected
    assert counts["valid"] + counts["invalid"] == counts["rows"]
    leads = pool_leads(app, counts["pool_id"])
    assert sorted(lead.phone1 for lead in leads) == keys
    return {lead.phone1: lead for lead in leads}


# ---------------------------------------------------------------------------------------
# Google Contacts


GOOGLE_LEGACY = [
    "Name", "Given Name", "Additional Name", "Family Name", "Yomi Name", "Given Name Yomi",
    "Additional Name Yomi", "Family Name Yomi", "Name Prefix", "Name Suffix", "Initials",
    "Nickname", "Short Name", "Maiden Name", "Birthday", "Gender", "Location",
    "Billing Information", "Directory Server", "Mileage", "Occupation", "Hobby", "Sensitivity",
    "Priority", "Subject", "Notes", "Language", "Photo", "Group Membership", "E-mail 1 - Type",
    "E-mail 1 - Value", "E-mail 2 - Type", "E-mail 2 - Value", "Phone 1 - Type",
    "Phone 1 - Value", "Phone 2 - Type", "Phone 2 - Value", "Address 1 - Type",
    "Address 1 - Formatted", "Address 1 - Street", "Address 1 - City", "Address 1 - PO Box",
    "Address 1 - Region", "Address 1 - Postal Code", "Address 1 - Country",
    "Address 1 - Extended Address", "Organization 1 - Type", "Organization 1 - Name",
    "Organization 1 - Yomi Name", "Organization 1 - Title", "Organization 1 - Department",
    "Organization 1 - Symbol", "Organization 1 - Location", "Organization 1 - Job Description",
    "Website 1 - Type", "Website 1 - Value",
]  # fmt: skip

# The layout Google Contacts exports today ("Google CSV", 2023 and later).
GOOGLE_NEW = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Phonetic Middle Name",
    "Phonetic Last Name", "Name Prefix", "Name Suffix", "Nickname", "File As",
    "Organization Name", "Organization Title", "Organization Department", "Birthday", "Notes",
    "Photo", "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label",
    "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label",
    "Phone 2 - Value", "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street",
    "Address 1 - City", "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code",
    "Address 1 - Country", "Address 1 - Extended Address", "Website 1 - Label",
    "Website 1 - Value",
]  # fmt: skip

# given, family, email, phone 1, phone 2, city, region, postal code
PEOPLE = [
    ("Ada", "Lovelace", "ada@example.com", "(415) 867-5309", "", "San Francisco", "CA", "94107"),
    ("Grace", "Hopper", "grace@navy.example", "+1 212-734-8812", "212.734.8813", "New York",
     "NY", "10001"),
    ("Alan", "Turing", "", "312 622 4410", "", "Chicago", "IL", "60601"),
    ("Katherine", "Johnson", "kj@nasa.example", "+1 (757) 864-1000", "757-864-1001",
     "Hampton", "VA", "23666"),
    ("Ada", "L.", "ada.l@example.com", "415.867.5309", "", "", "", ""),  # Ada again
    ("Nobody", "Wrong", "", "12345", "", "", "", ""),  # too short
    ("Tim", "Berners-Lee", "tbl@example.org", "+44 20 7946 0958", "", "London", "", "EC1A"),
    ("Margaret", "Hamilton", "", "(617) 253-1000", "+1 617 253 1001", "Cambridge", "MA", "02139"),
    ("Linus", "O'Neil", "linus@example.com", "", "", "", "", ""),  # no phone at all
    ("Edsger", "Dijkstra", "", "1-800-275-2273", "", "Austin", "TX", "78701"),
    ("Barbara", "Liskov", "barbara@example.edu", "(303) 499-7111 ext. 204", "", "Boulder",
     "CO", "80301"),
    ("Grace", "H.", "", "+12127348812", "", "", "", ""),  # Grace again, E.164 this time
    ("Frances", "Allen", "fran@example.com", "N/A", "", "", "", ""),
    ("Dennis", "Ritchie", "dmr@example.com", "+1 908 582 3000", "", "Summit", "NJ", "07901"),
]  # fmt: skip


def google_rows(legacy: bool) -> list[dict]:
    rows = []
    for i, (given, family, email, ph1, ph2, city, region, postal) in enumerate(PEOPLE):
        row = {
            "Given Name" if legacy else "First Name": given,
            "Family Name" if legacy else "Last Name": family,
            "Notes": 'Met at "ACM", said:\ncall after 5pm' if i == 1 else "",
            "E-mail 1 - Type" if legacy else "E-mail 1 - Label": "* Home" if email else "",
            "E-mail 1 - Value": email,
            "Phone 1 - Type" if legacy else "Phone 1 - Label": "Mobile" if ph1 else "",
            "Phone 1 - Value": ph1,
            "Phone 2 - Type" if legacy else "Phone 2 - Label": "Work" if ph2 else "",
            "Phone 2 - Value": ph2,
            "Address 1 - Type" if legacy else "Address 1 - Label": "Home" if city else "",
            "Address 1 - Formatted": f"{city}, {region} {postal}" if city else "",
            "Address 1 - City": city,
            "Address 1 - Region": region,
            "Address 1 - Postal Code": postal,
            "Address 1 - Country": "US" if region else "",
            "Birthday": "1815-12-10" if i == 0 else "",
        }
        if legacy:
            row["Name"] = f"{given} {family}"
            row["Group Membership"] = "* myContacts ::: Leads"
        else:
            row["Labels"] = "* myContacts ::: Leads"
            row["Organization Name"] = "Acme, Inc." if i % 3 == 0 else ""
        rows.append(row)
    return rows


@pytest.mark.parametrize("legacy", [True, False], ids=["google-csv-legacy", "google-csv"])
def test_google_contacts_export(app, runner, account, tmp_path, legacy):
    make_campaign(runner, "Spring", "US")
    header = GOOGLE_LEGACY if legacy else GOOGLE_NEW
    rows = google_rows(legacy)
    path = write_csv(tmp_path / "contacts.csv", header, rows)
    expected, keys = expected_counts(rows, "Phone 1 - Value", "US", "E-mail 1 - Value")
    # The file was made to hold 3 rows without a valid phone and 2 repeated people.
    assert (expected["invalid"], expected["duplicates_in_file"]) == (3, 2)

    counts = auto_import(runner, path, "Spring", "Google")

    first, last = ("Given Name", "Family Name") if legacy else ("First Name", "Last Name")
    assert counts["mapping"] == {
        first: "first_name",
        last: "last_name",
        "Notes": "notes",
        "E-mail 1 - Value": "email",
        "Phone 1 - Value": "phone1",
        "Phone 2 - Value": "phone2",
        "Address 1 - Region": "state",
        "Address 1 - Postal Code": "postal_code",
        "Address 1 - Country": "country",
    }
    leads = check(app, counts, expected, keys)
    grace = leads["+12127348812"]
    assert (grace.first_name, grace.last_name, grace.phone2) == ("Grace", "Hopper", "+12127348813")
    assert grace.custom["notes"] == 'Met at "ACM", said:\ncall after 5pm'
    assert (grace.state, grace.postal_code, grace.country) == ("NY", "10001", "US")
    assert leads["+442079460958"].last_name == "Berners-Lee"  # its own +44 country code
    assert leads["+13034997111"].first_name == "Barbara"  # "ext. 204" is not the number


# ---------------------------------------------------------------------------------------
# HubSpot


HUBSPOT = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
    "Lifecycle Stage", "Lead Status", "Contact owner", "Create Date", "Last Activity Date",
    "Company Name", "Job Title", "City", "State/Region", "Postal Code", "Marketing contact status",
    "Associated Company", "Street Address",
]  # fmt: skip

# record id, first, last, email, phone, mobile, stage, state, created
HUBSPOT_PEOPLE = [
    ("51234501", "Olivia", "Martinez", "olivia.martinez@example.com", "+1 602-914-2207",
     "(602) 914-2208", "Lead", "AZ", "2024-03-05 14:22"),
    ("51234502", "Liam", "Chen", "liam.chen@example.com", "(702) 386-4410", "", "Subscriber",
     "NV", "2024-03-06 09:01"),
    ("51234503", "Noah", "Smith", "noah@", "801 555 0199", "", "Lead", "UT",
     "2024-03-07 11:45"),  # the e-mail is broken: the row is invalid
    ("51234504", "Emma", "Brown", "emma.brown@example.com", "5129441830", "+15129441831",
     "Marketing Qualified Lead", "TX", "2024-03-08 16:30"),
    ("51234505", "Ava", "Davis", "ava.davis@example.com", "+1 512 944 1830", "", "Customer",
     "TX", "2024-03-09 10:10"),  # Emma's office number again
    ("51234506", "Mia", "Wilson", "mia.wilson@example.com", "555-0143", "", "Lead", "OR",
     "2024-03-10 08:00"),  # no area code
    ("51234507", "Ethan", "Moore", "ETHAN.MOORE@EXAMPLE.COM", "+61 2 9374 4000", "",
     "Opportunity", "NSW", "2024-03-11 23:59"),
    ("51234508", "Sophia", "Taylor", "sophia.taylor@example.com", "(206) 386-4636 x12", "",
     "Lead", "WA", "2024-03-12 07:15"),
    ("51234509", "Lucas", "Anderson", "", "404.656.1776", "404-656-1777", "Lead", "GA",
     "2024-03-13 13:13"),
    ("51234510", "Amelia", "Thomas", "amelia.thomas@example.com", "(305) 375-5111", "",
     "Evangelist", "FL", "2024-03-14 12:00"),
    ("51234511", "Olivia", "Martinez", "olivia.martinez@example.com", "6029142207", "", "Lead",
     "AZ", "2024-03-15 15:00"),  # Olivia exported twice
]  # fmt: skip


def hubspot_rows() -> list[dict]:
    rows = []
    for i, (rid, first, last, email, phone, mobile, stage, state, created) in enumerate(
        HUBSPOT_PEOPLE
    ):
        rows.append(
            {
                "Record ID": rid,
                "First Name": first,
                "Last Name": last,
                "Email": email,
                "Phone Number": phone,
                "Mobile Phone Number": mobile,
                "Lifecycle Stage": stage,
                "Lead Status": ["New", "Open", "In Progress", "Attempted to contact"][i % 4],
                "Contact owner": "Dana Scully",
                "Create Date": created,
                "Last Activity Date": "" if i % 3 else "2024-04-01 10:00",
                "Company Name": "Acme, Inc.",
                "Job Title": "Buyer",
                "City": "Springfield",
                "State/Region": state,
                "Postal Code": f"{85000 + i}",
                "Marketing contact status": "Marketing contact",
                "Associated Company": "Acme, Inc.",
                "Street Address": f"{i + 1} Main St",
            }
        )
    return rows


def test_hubspot_contacts_export(app, runner, account, tmp_path):
    make_campaign(runner, "Spring", "US")
    rows = hubspot_rows()
    path = write_csv(tmp_path / "hubspot-crm-exports-all-contacts-2024-04-02.csv", HUBSPOT, rows)
    expected, keys = expected_counts(rows, "Phone Number", "US", "Email")
    assert (expected["invalid"], expected["duplicates_in_file"]) == (2, 2)

    counts = auto_import(runner, path, "Spring", "HubSpot")

    mapping = counts["mapping"]
    assert {h: mapping.get(h) for h in HUBSPOT if mapping.get(h)} == mapping
    assert mapping["Record ID"] == "customer_key"
    assert mapping["First Name"] == "first_name" and mapping["Last Name"] == "last_name"
    assert mapping["Email"] == "email"
    assert mapping["Phone Number"] == "phone1" and mapping["Mobile Phone Number"] == "phone2"
    assert mapping["State/Region"] == "state" and mapping["Postal Code"] == "postal_code"
    assert mapping["Create Date"] == "created_at"
    for header in ("Contact owner", "Company Name", "Job Title", "City", "Street Address"):
        assert header not in mapping, header
    leads = check(app, counts, expected, keys)
    emma = leads["+15129441830"]
    assert (emma.customer_key, emma.phone2, emma.state) == ("51234504", "+15129441831", "TX")
    # Written without a zone: the account's wall clock (Los Angeles, PST), stored in UTC.
    assert emma.created_at.strftime("%Y-%m-%d %H:%M") == "2024-03-09 00:30"
    assert leads["+61293744000"].email.lower() == "ethan.moore@example.com"


# ---------------------------------------------------------------------------------------
# VICIdial


VICIDIAL = [
    "vendor_lead_code", "source_id", "list_id", "phone_code", "phone_number", "title",
    "first_name", "middle_initial", "last_name", "address1", "address2", "address3", "city",
    "state", "province", "postal_code", "country_code", "gender", "date_of_birth", "alt_phone",
    "email", "security_phrase", "comments", "rank", "owner",
]  # fmt: skip

# vendor code, phone_number, alt_phone, first, last, state, email, comments
VICI_PEOPLE = [
    ("V000101", "3126224410", "3126224411", "John", "Smith", "IL", "jsmith@example.com", ""),
    ("V000102", "7134381000", "", "Maria", "Garcia", "TX", "", "Spanish speaker"),
    ("V000103", "9074651234", "", "Wei", "Chen", "AK", "wei.chen@example.com", ""),
    ("V000104", "13126224410", "", "Johnny", "Smith", "IL", "", "dup of V000101, 1+ prefix"),
    ("V000105", "0", "", "Bad", "Number", "", "", "placeholder"),
    ("V000106", "8085861000", "8085861001", "Keala", "Kahale", "HI", "", "HST"),
    ("V000107", "9999999999", "", "Nine", "Nines", "", "", ""),
    ("V000108", "2155551234", "", "Robert", "Brown", "PA", "rb@example.com",
     "said: \"call back\", Tuesday"),
    ("V000109", "5036084000", "", "Linda", "Jones", "OR", "", ""),
    ("V000110", "", "", "Nora", "Empty", "OR", "", "no number yet"),
    ("V000111", "7134381000", "", "Maria", "Garcia", "TX", "", "loaded twice"),
    ("V000112", "3055551234", "", "José", "Núñez", "FL", "jose@example.com", ""),
]  # fmt: skip


def vicidial_rows() -> list[dict]:
    rows = []
    for i, (code, phone, alt, first, last, state, email, comments) in enumerate(VICI_PEOPLE):
        rows.append(
            {
                "vendor_lead_code": code,
                "source_id": "VENDOR-A",
                "list_id": "101",
                "phone_code": "1",
                "phone_number": phone,
                "title": "Mr." if i % 2 else "Ms.",
                "first_name": first,
                "middle_initial": "Q" if i == 3 else "",
                "last_name": last,
                "address1": f"{100 + i} Elm St",
                "city": "Springfield",
                "state": state,
                "postal_code": f"{60600 + i}",
                "country_code": "US",
                "gender": "U",
                "date_of_birth": "0000-00-00" if i % 2 else "1970-01-01",
                "alt_phone": alt,
                "email": email,
                "security_phrase": "",
                "comments": comments,
                "rank": "0",
                "owner": "",
            }
        )
    return rows


@pytest.mark.parametrize("delimiter", [",", "\t", "|"], ids=["csv", "tab", "pipe"])
def test_vicidial_standard_list_layout(app, runner, account, tmp_path, delimiter):
    make_campaign(runner, "Outbound", "US")
    rows = vicidial_rows()
    path = write_csv(tmp_path / "vicidial_list_101.csv", VICIDIAL, rows, delimiter=delimiter)
    expected, keys = expected_counts(rows, "phone_number", "US", "email")
    assert (expected["invalid"], expected["duplicates_in_file"]) == (3, 2)

    counts = auto_import(runner, path, "Outbound", "List 101")

    assert counts["mapping"] == {
        "vendor_lead_code": "customer_key",
        "source_id": "source",
        "phone_number": "phone1",
        "first_name": "first_name",
        "last_name": "last_name",
        "state": "state",
        "postal_code": "postal_code",
        "country_code": "country",
        "alt_phone": "phone2",
        "email": "email",
        "comments": "notes",
    }
    leads = check(app, counts, expected, keys)
    john = leads["+13126224410"]
    assert (john.customer_key, john.phone2, john.country) == ("V000101", "+13126224411", "US")
    assert leads["+12155551234"].custom["notes"] == 'said: "call back", Tuesday'
    assert leads["+13055551234"].last_name == "Núñez"


# ---------------------------------------------------------------------------------------
# A German spreadsheet saved as "CSV (Trennzeichen-getrennt)": semicolons, Windows-1252


GERMAN = ["Kundennummer", "Anrede", "Vorname", "Nachname", "Telefon", "Mobil", "E-Mail",
          "Straße", "PLZ", "Ort", "Bundesland", "Bemerkung"]  # fmt: skip

# customer no, first, last, phone, mobile, email, city, state, remark
GERMAN_PEOPLE = [
    ("K-1001", "Jürgen", "Müller", "030 12345678", "0171 2345678", "j.mueller@example.de",
     "Berlin", "Berlin", "Rückruf „nach 18 Uhr“"),
    ("K-1002", "Käthe", "Weiß", "+49 89 1234567", "", "kaethe@example.de", "München", "Bayern",
     "Preis: 49 €"),
    ("K-1003", "Günther", "Bräuer", "(0221) 123456", "", "", "Köln", "Nordrhein-Westfalen", ""),
    ("K-1004", "Zoë", "Groß", "0049 40 1234567", "0151/23456789", "zoe@example.de", "Hamburg",
     "Hamburg", ""),
    ("K-1005", "Jürgen", "Müller", "+49 (0)30 12345678", "", "j.mueller@example.de", "Berlin",
     "Berlin", "doppelt"),  # K-1001 again
    ("K-1006", "Ömer", "Yılmaz", "12345", "", "", "Essen", "Nordrhein-Westfalen", "zu kurz"),
    ("K-1007", "Françoise", "Lefèvre", "+33 1 42 68 53 00", "", "f.lefevre@example.fr", "Paris",
     "", "Frankreich"),
    ("K-1008", "Björn", "Schäfer", "069 / 13 38 00", "", "bjoern@example", "Frankfurt",
     "Hessen", "E-Mail ohne Domain"),  # invalid e-mail
    ("K-1009", "Ute", "Öztürk", "0341 9876543", "", "", "Leipzig", "Sachsen", ""),
    ("K-1010", "Käthe", "Weiß", "089-1234567", "", "", "München", "Bayern", "nochmal"),
]  # fmt: skip


def german_rows() -> list[dict]:
    rows = []
    for code, first, last, phone, mobile, email, city, state, remark in GERMAN_PEOPLE:
        rows.append(
            {
                "Kundennummer": code,
                "Anrede": "Herr" if first in ("Jürgen", "Günther", "Björn", "Ömer") else "Frau",
                "Vorname": first,
                "Nachname": last,
                "Telefon": phone,
                "Mobil": mobile,
                "E-Mail": email,
                "Straße": "Hauptstraße 1",
                "PLZ": "10115",
                "Ort": city,
                "Bundesland": state,
                "Bemerkung": remark,
            }
        )
    return rows


@pytest.mark.parametrize("sep_line", [False, True], ids=["plain", "sep-line"])
def test_german_semicolon_windows_1252_spreadsheet(app, runner, account, tmp_path, sep_line):
    make_campaign(runner, "Herbst", "DE")
    rows = [r for r in german_rows() if r["Vorname"] != "Ömer"]  # "ı" is not in cp1252
    rows.insert(5, {**german_rows()[5], "Nachname": "Yilmaz"})
    path = write_csv(
        tmp_path / "Kunden.csv",
        GERMAN,
        rows,
        delimiter=";",
        encoding="cp1252",
        prefix="sep=;\r\n" if sep_line else "",
    )
    raw = path.read_bytes()
    assert "ü".encode("cp1252") in raw and b"\xc3" not in raw  # really Windows-1252
    expected, keys = expected_counts(rows, "Telefon", "DE", "E-Mail")
    assert (expected["invalid"], expected["duplicates_in_file"]) == (2, 2)

    counts = auto_import(runner, path, "Herbst", "Kunden")

    assert counts["mapping"] == {
        "Kundennummer": "customer_key",
        "Vorname": "first_name",
        "Nachname": "last_name",
        "Telefon": "phone1",
        "Mobil": "phone2",
        "E-Mail": "email",
        "PLZ": "postal_code",
        "Bundesland": "state",
        "Bemerkung": "notes",
    }
    leads = check(app, counts, expected, keys)
    juergen = leads["+493012345678"]
    assert (juergen.first_name, juergen.last_name) == ("Jürgen", "Müller")
    assert juergen.phone2 == "+491712345678"
    assert juergen.custom["notes"] == "Rückruf „nach 18 Uhr“"
    assert leads["+49891234567"].custom["notes"] == "Preis: 49 €"
    assert leads["+33142685300"].first_name == "Françoise"
    with app.app_context():
        pool = db.session.get(LeadPool, counts["pool_id"])
        assert pool.source_file_name == "Kunden.csv"


# ---------------------------------------------------------------------------------------
# Multi-value cells and country names (once known gaps, now handled by the domain).


def test_google_multi_value_cells_use_their_first_value(app, runner, account, tmp_path):
    make_campaign(runner, "Spring", "US")
    rows = google_rows(legacy=True)[:1]
    rows[0]["Phone 1 - Value"] = "(617) 253-1000 ::: (617) 253-1001"
    rows[0]["E-mail 1 - Value"] = "ada@example.com ::: ada@work.example"
    path = write_csv(tmp_path / "contacts.csv", GOOGLE_LEGACY, rows)
    counts = auto_import(runner, path, "Spring", "Google")
    assert (counts["valid"], counts["imported"]) == (1, 1)


def test_country_names_become_country_codes(app, runner, account, tmp_path):
    make_campaign(runner, "Spring", "US")
    rows = [{**hubspot_rows()[0], "Country/Region": "United States"}]
    path = write_csv(tmp_path / "hubspot.csv", [*HUBSPOT, "Country/Region"], rows)
    counts = auto_import(runner, path, "Spring", "HubSpot")
    assert counts["mapping"]["Country/Region"] == "country"
    (lead,) = pool_leads(app, counts["pool_id"])
    assert lead.country == "US"
