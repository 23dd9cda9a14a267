"""LeadApp's own lead generator: a realistic, messy lead CSV with known ground truth.

Same shape and truth model as the project's reference generator (``gen_leads.py``): for a
given seed and options it writes the same rows. Each *person* gets one canonical phone;
duplicates re-use a person's phone written in another format (sometimes with a shortened
first name or an upper-cased email). The truth it returns is computed from its own model:

* ``rows``, ``persons``
* ``rows_with_valid_phone`` / ``invalid_phone_rows`` (a value from ``INVALID`` replaced the
  phone),
* ``duplicate_rows``: rows whose canonical E.164 phone was already seen earlier in the file
  (on a valid row),
* ``unique_valid_phones``.

``quirks=True`` adds real-world noise: a UTF-8 BOM, blank lines, quoted newlines and commas
in notes, formula-like text, markup and very long notes.

CLI: ``python -m leadapp.domain.leadgen ROWS OUT.csv [--seed N] [--region US|AU|UK|MIX]
[--dup-rate 0.15] [--invalid-rate 0.04] [--truth OUT.json] [--quirks]``. UK numbers parse
with the phone region ``GB`` (see ``phone_region``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
from pathlib import Path

import phonenumbers

__all__ = ["HEADER", "INVALID", "REGIONS", "generate", "phone_region", "main"]

US_AREAS = ["212", "310", "415", "512", "602", "617", "702", "713", "786", "801",
            "907", "808", "503", "206", "305", "404", "312", "215", "646", "971"]  # fmt: skip
US_STATE = {"212": "NY", "646": "NY", "310": "CA", "415": "CA", "512": "TX", "713": "TX",
            "602": "AZ", "617": "MA", "702": "NV", "786": "FL", "305": "FL", "801": "UT",
            "907": "AK", "808": "HI", "503": "OR", "971": "OR", "206": "WA", "404": "GA",
            "312": "IL", "215": "PA"}  # fmt: skip
FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "Wei",
         "Aroha", "Siobhán", "José", "Zoë", "Nguyễn", "Olivia", "Liam", "Noah", "Ava", "Mia",
         "Ethan"]  # fmt: skip
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "O'Brien",
        "Nguyen", "Tāne", "Müller", "Kowalski", "Singh", "Chen", "Taylor", "Wilson",
        "Moore"]  # fmt: skip
SOURCES = ["outbound", "web", "inbound", "referral"]
INVALID = ["555-0143", "12345", "N/A", "", "000-000-0000", "1234567890123456", "call me",
           "+1 (999) 000-0000", "0"]  # fmt: skip
HEADER = ["Customer ID", "First Name", "Last Name", "Phone", "Alt Phone", "Email", "State",
          "Created", "Last Called", "Source", "Notes"]  # fmt: skip
REGIONS = ("US", "AU", "UK", "MIX")
_CC = {"+1": 1, "+6": 61, "+4": 44}


def phone_region(region: str) -> str:
    """The phonenumbers region to parse a generated file with (UK -> GB, MIX -> US)."""
    return {"UK": "GB", "MIX": "US"}.get(region.upper(), region.upper())


def _us_number(rng: random.Random):
    area = rng.choice(US_AREAS)
    exch = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    if exch[1:] == "11":
        exch = exch[0] + "21"
    line = f"{rng.randint(0, 9999):04d}"
    return "+1" + area + exch + line, area, exch, line


def _us_format(rng: random.Random, area: str, exch: str, line: str) -> str:
    return rng.choice(
        [
            f"({area}) {exch}-{line}",
            f"{area}-{exch}-{line}",
            f"{area}{exch}{line}",
            f"+1 {area} {exch} {line}",
            f"1-{area}-{exch}-{line}",
            f"{area}.{exch}.{line}",
            f"+1{area}{exch}{line}",
            f" {area} {exch} {line} ",
            f"1 ({area}) {exch}-{line}",
        ]
    )


def _au_number(rng: random.Random):
    if rng.random() < 0.7:
        rest = f"4{rng.randint(0, 99):02d}{rng.randint(0, 999999):06d}"
        nat = "0" + rest
        fmts = [
            nat,
            f"{nat[:4]} {nat[4:7]} {nat[7:]}",
            "+61" + rest,
            f"+61 {rest[:3]} {rest[3:6]} {rest[6:]}",
        ]
    else:
        rest = f"2{rng.choice(['9', '8'])}{rng.randint(0, 999):03d}{rng.randint(0, 9999):04d}"
        nat = "0" + rest
        fmts = [nat, f"(02) {nat[2:6]} {nat[6:]}", "+61" + rest, f"+61 2 {nat[2:6]} {nat[6:]}"]
    return "+61" + rest, fmts


def _uk_number(rng: random.Random):
    rest = f"7{rng.choice(['4', '5', '7', '8', '9'])}{rng.randint(0, 99999999):08d}"
    nat = "0" + rest
    return "+44" + rest, [nat, f"{nat[:5]} {nat[5:]}", "+44" + rest, f"+44 {rest[:4]} {rest[4:]}"]


def _valid(e164: str) -> bool:
    cc = _CC[e164[:2]]
    number = phonenumbers.PhoneNumber(
        country_code=cc, national_number=int(e164[len(str(cc)) + 1 :])
    )
    return phonenumbers.is_valid_number(number)


def _person(rng: random.Random, region: str, i: int, base: dt.datetime) -> dict:
    # Re-draw until the canonical number is valid, so the truth counts stay honest.
    while True:
        reg = region if region != "MIX" else rng.choice(["US", "US", "US", "AU", "UK"])
        if reg == "US":
            e164, area, exch, line = _us_number(rng)
            fmts = [_us_format(rng, area, exch, line) for _ in range(4)]
            state = US_STATE[area]
        elif reg == "AU":
            e164, fmts = _au_number(rng)
            state = rng.choice(["NSW", "VIC", "QLD", "WA", "SA", "TAS"])
        else:
            e164, fmts = _uk_number(rng)
            state = ""
        fn, ln = rng.choice(FIRST), rng.choice(LAST)
        created = base + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        if _valid(e164):
            email = f"{fn.lower()}.{ln.lower()}{i}@example.com".replace("'", "")
            return dict(
                e164=e164, fmts=fmts, region=reg, first=fn, last=ln, state=state,
                email=email, created=created,
            )  # fmt: skip


def generate(
    rows: int,
    path: str | Path,
    seed: int = 1,
    region: str = "US",
    dup_rate: float = 0.15,
    invalid_rate: float = 0.04,
    quirks: bool = False,
) -> dict:
    """Write ``rows`` generated leads to ``path`` and return the truth counts.

    ``region`` is US, AU, UK or MIX (GB is accepted for UK). The same arguments always write
    the same file.
    """
    region = region.upper()
    if region == "GB":
        region = "UK"
    if region not in REGIONS:
        raise ValueError(f"Unknown generator region {region!r}: use one of {', '.join(REGIONS)}.")
    rng = random.Random(seed)
    base = dt.datetime(2025, 1, 1)
    people: list[dict] = []
    seen: set[str] = set()
    dup_rows = invalid_rows = valid_rows = 0
    enc = "utf-8-sig" if quirks else "utf-8"
    with open(path, "w", newline="", encoding=enc) as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            if people and rng.random() < dup_rate:
                p = rng.choice(people)
                phone = rng.choice(p["fmts"])
                email = p["email"].upper() if rng.random() < 0.3 else p["email"]
                first = p["first"] if rng.random() < 0.7 else p["first"][:3]
                is_dup_person = True
            else:
                p = _person(rng, region, i, base)
                people.append(p)
                phone, email, first = rng.choice(p["fmts"]), p["email"], p["first"]
                is_dup_person = False
            if rng.random() < invalid_rate:
                phone = rng.choice(INVALID)
                invalid_rows += 1
            else:
                valid_rows += 1
                if p["e164"] in seen:
                    dup_rows += 1
                seen.add(p["e164"])
            alt = ""
            if rng.random() < 0.3:
                alt = _person(rng, p["region"], i, base)["fmts"][0]
            created = p["created"]
            if is_dup_person:
                created = created + dt.timedelta(days=rng.randint(0, 30))
            last_called = (
                ""
                if rng.random() < 0.4
                else (created + dt.timedelta(days=rng.randint(0, 60))).strftime("%Y-%m-%d %H:%M")
            )
            notes = ""
            if quirks:
                r = rng.random()
                if r < 0.02:
                    notes = 'said: "call back",\nafter 5pm'
                elif r < 0.03:
                    notes = '=HYPERLINK("http://x.invalid","click")'
                elif r < 0.035:
                    notes = "<script>alert(1)</script>"
                elif r < 0.04:
                    notes = "x" * 5000
            w.writerow(
                [
                    f"C{i:08d}", first, p["last"], phone, alt, email, p["state"],
                    created.strftime("%Y-%m-%d %H:%M:%S"), last_called, rng.choice(SOURCES),
                    notes,
                ]
            )  # fmt: skip
            if quirks and rng.random() < 0.001:
                f.write("\r\n")
    return dict(
        rows=rows,
        persons=len(people),
        rows_with_valid_phone=valid_rows,
        invalid_phone_rows=invalid_rows,
        duplicate_rows=dup_rows,
        unique_valid_phones=len(seen),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m leadapp.domain.leadgen", description=__doc__)
    ap.add_argument("rows", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--region", default="US", help="US, AU, UK (parse with GB) or MIX")
    ap.add_argument("--dup-rate", type=float, default=0.15)
    ap.add_argument("--invalid-rate", type=float, default=0.04)
    ap.add_argument("--truth", help="write the truth counts to this JSON file")
    ap.add_argument("--quirks", action="store_true")
    a = ap.parse_args(argv)
    truth = generate(
        a.rows, a.out, seed=a.seed, region=a.region, dup_rate=a.dup_rate,
        invalid_rate=a.invalid_rate, quirks=a.quirks,
    )  # fmt: skip
    if a.truth:
        Path(a.truth).write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
