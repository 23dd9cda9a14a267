"""Lead files in the shapes of real systems' exports (issue 17), generated so the repository
stands alone, each with the mapping a supervisor expects without touching anything.

``LAYOUTS`` name -> Layout(data, region, expected): ``expected`` is header -> field (None =
left unmapped); ``phone1`` is the header that must become Phone 1 (the column with the most
valid numbers for the region)."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass

FIRST = ["Olivia", "Jack", "Amelia", "Noah", "Isla", "Leo", "Mia", "Oscar", "Ava", "Harry"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright", "Green"]


@dataclass(frozen=True)
class Layout:
    data: bytes
    region: str
    expected: dict[str, str | None]
    phone1: str
    rows: int


def _csv(header: list[str] | None, rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _gb_mobile(rng: random.Random) -> str:
    return f"07{rng.choice('4578')}{rng.randint(10, 99)} {rng.randint(100000, 999999)}"


def _gb_landline(rng: random.Random) -> str:
    return f"020 {rng.randint(7000, 8999)} {rng.randint(1000, 9999)}"


def crm_export(rows: int = 2000, seed: int = 17) -> Layout:
    """A CRM's contact export (GB): Landline a third filled, Mobile almost all, Work a few —
    the file of item 1 (Landline as Phone 1 left 624 valid rows of 2,000, not 1,928)."""
    rng = random.Random(seed)
    header = ["CustKey", "Title", "First Name", "Surname", "Landline", "Mobile", "Work",
              "Email Address", "Postcode", "Account Manager", "Date Added"]  # fmt: skip
    data = []
    for i in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        data.append([
            f"CK{100000 + i}", rng.choice(["Mr", "Mrs", "Ms", "Dr"]), first, last,
            _gb_landline(rng) if i % 3 == 0 else "",
            _gb_mobile(rng) if i % 28 else "",
            f"0161 {rng.randint(200, 999)} {rng.randint(1000, 9999)}" if i % 10 == 0 else "",
            f"{first}.{last}{i}@example.co.uk".lower(), f"SW1A {rng.randint(1, 9)}AA",
            "J. Carter", f"2026-0{1 + i % 9}-{1 + i % 28:02d}",
        ])  # fmt: skip
    expected = {
        "CustKey": "customer_key", "Title": None, "First Name": "first_name",
        "Surname": "last_name", "Landline": "phone2", "Mobile": "phone1", "Work": "phone3",
        "Email Address": "email", "Postcode": "postal_code", "Account Manager": None,
        "Date Added": "created_at",
    }  # fmt: skip
    return Layout(_csv(header, data), "GB", expected, "Mobile", rows)


def dialer_export(rows: int = 1500, seed: int = 18) -> Layout:
    """A dialer's list export (US, VICIdial-like names): the main number always filled,
    alt_phone half, address3 used for a third number by some centres."""
    rng = random.Random(seed)
    header = ["lead_id", "entry_date", "status", "vendor_lead_code", "list_id",
              "phone_code", "phone_number", "title", "first_name", "last_name", "address1",
              "city", "state", "postal_code", "alt_phone", "email",
              "last_local_call_time", "called_count", "comments"]  # fmt: skip
    data = []
    for i in range(rows):
        data.append([
            str(5000 + i), "2026-10-01 09:00:00", rng.choice(["NEW", "NA", "B"]),
            f"V{i:06d}", "1001", "1", f"{rng.choice(['415', '212', '646'])}"
            f"{rng.randint(2, 9)}{rng.randint(10, 99)}{rng.randint(1000, 9999)}",
            "", rng.choice(FIRST), rng.choice(LAST), f"{i} Main St", "Springfield",
            rng.choice(["CA", "NY", "TX"]), f"{rng.randint(10000, 99999)}",
            f"(702) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}" if i % 2 else "",
            f"lead{i}@example.com", "2026-11-02 10:15:00", str(rng.randint(0, 5)), "",
        ])  # fmt: skip
    expected = {
        "lead_id": None, "entry_date": "created_at", "status": "status",
        "vendor_lead_code": "customer_key", "list_id": None, "phone_code": None,
        "phone_number": "phone1", "title": None, "first_name": "first_name",
        "last_name": "last_name", "address1": None, "city": None, "state": "state",
        "postal_code": "postal_code", "alt_phone": "phone2", "email": "email",
        "last_local_call_time": "last_called_at", "called_count": None, "comments": "notes",
    }  # fmt: skip
    return Layout(_csv(header, data), "US", expected, "phone_number", rows)


def full_name_sheet(rows: int = 800, seed: int = 19) -> Layout:
    """A spreadsheet kept by hand (AU): one "Full name" column, Home phone filled for half,
    Mobile for nearly everyone, "Account No" as the customer's number."""
    rng = random.Random(seed)
    header = ["Account No", "Full name", "Home phone", "Mobile", "Email", "State", "Notes"]
    data = []
    for i in range(rows):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        data.append([
            f"{70000 + i}", name if i % 5 else f"{name.split()[1]}, {name.split()[0]}",
            f"(02) 9{rng.randint(100, 999)} {rng.randint(1000, 9999)}" if i % 2 else "",
            f"04{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
            if i % 20 else "",
            f"p{i}@example.com.au", rng.choice(["NSW", "VIC", "QLD"]), "",
        ])  # fmt: skip
    expected = {
        "Account No": "customer_key", "Full name": "full_name", "Home phone": "phone2",
        "Mobile": "phone1", "Email": "email", "State": "state", "Notes": "notes",
    }  # fmt: skip
    return Layout(_csv(header, data), "AU", expected, "Mobile", rows)


def headerless_file(rows: int = 600, seed: int = 20) -> Layout:
    """No row of names (US): name, name, a sparse second number, the main number, email,
    time zone — mapped from the values alone."""
    rng = random.Random(seed)
    data = []
    for i in range(rows):
        data.append([
            rng.choice(FIRST), rng.choice(LAST),
            f"+1 702 {rng.randint(200, 999)} {rng.randint(1000, 9999)}" if i % 4 == 0 else "",
            f"+1 415 {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
            f"h{i}@example.com", "America/Los_Angeles",
        ])  # fmt: skip
    expected = {
        "Column 1": None, "Column 2": None, "Column 3": "phone2", "Column 4": "phone1",
        "Column 5": "email", "Column 6": "timezone",
    }  # fmt: skip
    return Layout(_csv(None, data), "US", expected, "Column 4", rows)


LEADAPP_COLUMNS = [
    "id", "customer_key", "first_name", "last_name", "email",
    "phone1", "phone2", "phone3", "phone4", "phone5", "timezone", "state", "postal_code",
    "country", "source", "status", "completed", "do_not_call", "dial_order", "call_count",
    "last_called_at", "last_outcome", "wrap_code", "created_at",
]  # fmt: skip
# The export's columns that are not lead fields one can import (ids and call results).
LEADAPP_NOT_IMPORTED = {"id", "completed", "do_not_call", "dial_order", "call_count",
                        "last_outcome", "wrap_code"}  # fmt: skip


def leadapp_export(rows: int = 1000, seed: int = 21) -> Layout:
    """LeadApp's own pool export (the Leads CSV of a pool page), as downloaded."""
    rng = random.Random(seed)
    data = []
    for i in range(rows):
        data.append([
            str(900 + i), f"C{i:05d}", rng.choice(FIRST), rng.choice(LAST), f"x{i}@example.com",
            f"+1415{rng.randint(2000000, 9999999)}",
            f"+1702{rng.randint(2000000, 9999999)}" if i % 2 else "", "", "", "",
            "America/Los_Angeles", "CA", "94107", "US", "outbound", "open", "False", "False",
            str(i), "0", "", "", "", "2026-11-30 12:00:00",
        ])  # fmt: skip
    expected = {c: (None if c in LEADAPP_NOT_IMPORTED else c) for c in LEADAPP_COLUMNS}
    return Layout(b"\xef\xbb\xbf" + _csv(LEADAPP_COLUMNS, data), "US", expected, "phone1", rows)


LAYOUTS = {
    "CRM export (Landline / Mobile / Work)": crm_export,
    "Dialer export (VICIdial names)": dialer_export,
    "Spreadsheet with a Full name": full_name_sheet,
    "File without column names": headerless_file,
    "LeadApp's own pool export": leadapp_export,
}


# The shared samples (/work/shared/samples): gen_leads' header, one region each.
SAMPLE_EXPECTED = {
    "Customer ID": "customer_key", "First Name": "first_name", "Last Name": "last_name",
    "Phone": "phone1", "Alt Phone": "phone2", "Email": "email", "State": "state",
    "Created": "created_at", "Last Called": "last_called_at", "Source": "source",
    "Notes": "notes",
}  # fmt: skip
SAMPLE_REGIONS = {"us": "US", "uk": "GB", "au": "AU"}


def shared_samples(folder) -> dict[str, Layout]:
    """The shared samples found in ``folder`` (none when it is absent)."""
    from pathlib import Path

    out = {}
    for path in sorted(Path(folder).glob("leads_*.csv")) if Path(folder).is_dir() else []:
        region = SAMPLE_REGIONS.get(path.stem.split("_")[1], "US")
        data = path.read_bytes()
        out[f"Shared sample {path.name}"] = Layout(
            data, region, SAMPLE_EXPECTED, "Phone", data.count(b"\n") - 1
        )
    return out


@dataclass(frozen=True)
class Guess:
    columns: int
    right: int  # columns mapped as expected without help
    wrong: dict[str, tuple[str | None, str | None]]  # header -> (expected, suggested)
    phone1: str | None  # the header suggested as Phone 1


def guess(layout: Layout) -> Guess:
    """The wizard's suggestion for ``layout`` (read as the mapping step reads it), compared
    with what a supervisor expects."""
    from leadapp.domain.columns import suggest_mapping
    from leadapp.domain.csv_io import sniff
    from leadapp.domain.fields import STANDARD_FIELDS

    info = sniff(layout.data, preview_rows=SUGGEST_ROWS)
    suggested = suggest_mapping(info.headers, info.preview, STANDARD_FIELDS, region=layout.region)
    wrong = {
        h: (layout.expected.get(h), suggested.get(h))
        for h in info.headers
        if suggested.get(h) != layout.expected.get(h)
    }
    phone1 = next((h for h, f in suggested.items() if f == "phone1"), None)
    return Guess(len(info.headers), len(info.headers) - len(wrong), wrong, phone1)


SUGGEST_ROWS = 1000  # = leadapp.services.imports.SUGGEST_SAMPLE_ROWS
