"""Matching CSV columns to lead fields, and applying a mapping.

Business rules for suggestions, strongest first:

1. the account's earlier mappings (``history``: normalised header -> field) are reused;
2. a header equal to a known alias of a field, in English, German, French, Spanish, Italian,
   Dutch, Portuguese or Polish, after normalising case, accents and punctuation
   (``E-mail 1 - Value`` ~ ``email 1 value``), or to a custom field's key or label;
3. a header containing an alias as whole words (``Mailing Zip/Postal Code``), or close to one
   by fuzzy matching (difflib), e.g. ``Telefonnumer``;
4. the values themselves: a column whose sample values normalise as phone numbers is a phone,
   values like ``a@b.com`` are an email, IANA names like ``Europe/Berlin`` a time zone.

A field is used once, except phones: every phone column found goes into phone1, phone2...
Phone 1 is the number most worth dialling: the column with the most valid numbers for the
campaign's region in the sample rows (a tenth fewer or less is a tie); on a tie, mobile
numbers before landlines; then a main
phone (``Phone``, ``Phone Number``, ``Phone 1``) before secondary ones (``Alt Phone``,
``Phone 2``); then column order. Without sample values, only the names decide. Headers known
to be something else (``phone_code``, ``Phone 1 - Type``, ``list_id``...) stay unmapped.

A ``Name`` / ``Full name`` column maps to ``full_name``, which is not a lead field: applying
the mapping splits it into first and last name (``split_full_name``). It is suggested only
when no column is taken for the first or last name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import phonenumbers

from leadapp.domain.fields import PHONE_FIELDS, STANDARD_FIELDS, STANDARD_KEYS
from leadapp.domain.phones import normalise_phones

__all__ = [
    "ALIASES",
    "FULL_NAME",
    "ColumnSuggestion",
    "PhoneColumn",
    "phone_columns",
    "split_full_name",
    "Suggestions",
    "apply_mapping",
    "normalise_header",
    "suggest_mapping",
]

# Aliases per standard field; "phone" stands for phone1..phone5.
ALIASES: dict[str, list[str]] = {
    "customer_key": [
        "customer id", "customer key", "customer number", "customer no", "client id",
        "client number", "contact id", "lead id", "record id", "id", "external id", "crm id",
        "vendor lead code", "account number", "reference", "ref",
        "custkey", "cust key", "cust id", "custid", "cust no", "cust num", "cust number",
        "cust ref", "customer ref", "customer reference", "customer code", "client ref",
        "client code", "account no", "account id", "account ref", "account code", "acct no",
        "acct id", "acct number", "acct num", "accountno", "member id", "member number",
        "lead key", "acct",
        "kundennummer", "kunden id", "kundennr", "kunden nr",  # de
        "identifiant client", "numero client", "id client", "reference client",  # fr
        "id cliente", "numero de cliente", "codigo cliente", "codigo de cliente",  # es / it
        "codice cliente", "numero cliente",  # it
        "klantnummer", "klant id", "klantnr",  # nl
        "codigo do cliente", "id do cliente", "numero do cliente",  # pt
        "id klienta", "numer klienta", "nr klienta",  # pl
    ],
    "first_name": [
        "first name", "firstname", "given name", "forename", "first", "fname",
        "vorname",  # de
        "prenom",  # fr
        "nombre", "nombres",  # es
        "nome proprio",  # it / pt ("nome" alone is ambiguous, see below)
        "voornaam", "roepnaam",  # nl
        "primeiro nome",  # pt
        "imie",  # pl
    ],
    "full_name": [
        "name", "full name", "fullname", "contact name", "customer name", "client name",
        "lead name",
        "vollstandiger name", "kundenname",  # de
        "nom complet",  # fr
        "nombre completo",  # es
        "nome completo",  # it / pt
        "volledige naam",  # nl
        "imie i nazwisko",  # pl
    ],
    "last_name": [
        "last name", "lastname", "surname", "family name", "last", "lname",
        "nachname", "familienname", "zuname",  # de
        "nom", "nom de famille",  # fr
        "apellido", "apellidos",  # es
        "cognome",  # it
        "achternaam", "familienaam",  # nl
        "sobrenome", "apelido", "ultimo nome",  # pt
        "nazwisko",  # pl
    ],
    "email": [
        "email", "e mail", "email address", "e mail address", "mail", "email 1 value",
        "e mail 1 value", "primary email", "work email", "personal email",
        "e mail adresse", "emailadresse", "mailadresse",  # de
        "courriel", "adresse e mail", "adresse email", "adresse mail", "mel",  # fr
        "correo", "correo electronico", "email de contacto",  # es
        "posta elettronica", "indirizzo email", "indirizzo e mail",  # it
        "e mailadres", "emailadres", "mailadres",  # nl
        "correio eletronico", "endereco de email", "endereco de e mail",  # pt
        "adres e mail", "adres email", "poczta", "poczta e mail",  # pl
    ],
    "phone": [
        "phone", "phone number", "telephone", "telephone number", "tel", "phone 1",
        "phone 1 value", "phone1", "primary phone", "main phone", "contact number",
        "number", "phone no", "tel no", "mobile", "mobile phone", "mobile number", "cell",
        "cell phone", "cellphone", "mobile phone number", "home phone", "work phone",
        "business phone", "office phone", "alt phone", "alternate phone", "alternative phone",
        "other phone", "second phone", "secondary phone", "phone 2", "phone 3", "phone 4",
        "phone 5", "phone 2 value", "phone 3 value", "phone 4 value", "phone 5 value",
        "landline", "land line", "landline number", "fixed line", "home number", "work number",
        "mobile no", "cell number", "dial number", "phone no 1", "phone no 2",
        "phone2", "phone3", "phone4", "phone5", "phone number 2", "alt phone 2", "fax",
        "telefon", "telefonnummer", "handy", "handynummer", "mobil", "mobilnummer",
        "mobiltelefon", "rufnummer", "festnetz", "telefon 2",  # de
        "telephone portable", "portable", "numero de telephone", "tel portable",
        "telephone fixe", "mobile 2",  # fr
        "telefono", "movil", "celular", "numero de telefono", "telefono movil",  # es
        "cellulare", "numero di telefono", "telefono cellulare", "recapito telefonico",  # it
        "telefoon", "telefoonnummer", "mobiel", "mobiel nummer", "gsm",  # nl
        "telefone", "telemovel", "numero de telefone", "telefone celular",  # pt
        "numer telefonu", "telefon komorkowy", "komorka", "nr telefonu",  # pl
    ],
    "timezone": [
        "timezone", "time zone", "tz", "time zone name", "zone",
        "zeitzone", "fuseau horaire", "zona horaria", "fuso orario", "tijdzone",
        "fuso horario", "strefa czasowa",
    ],
    "state": [
        "state", "state region", "region", "province", "state province", "county",
        "billing state province", "mailing state province", "state code",
        "bundesland", "bundesstaat", "kanton",  # de
        "etat", "departement", "province", "region",  # fr
        "provincia", "comunidad", "comunidad autonoma", "estado",  # es / pt
        "regione",  # it
        "provincie", "staat", "regio",  # nl
        "distrito", "regiao",  # pt
        "wojewodztwo", "stan",  # pl
    ],
    "postal_code": [
        "postal code", "zip", "zip code", "zipcode", "postcode", "post code", "postal",
        "mailing zip postal code", "billing zip postal code", "zip postal code",
        "plz", "postleitzahl",  # de
        "code postal", "cp",  # fr / es
        "codigo postal",  # es / pt
        "cap", "codice postale", "codice avviamento postale",  # it
        "postcode",  # nl
        "cep",  # pt
        "kod pocztowy",  # pl
    ],
    "country": [
        "country", "country code", "country region", "nation", "mailing country",
        "billing country", "land", "landescode",  # de / nl
        "pays",  # fr
        "pais",  # es / pt
        "paese", "nazione",  # it
        "kraj",  # pl
    ],
    "source": [
        "source", "lead source", "source id", "origin", "channel", "original source",
        "quelle", "herkunft", "leadquelle",  # de
        "origine", "provenance",  # fr / it
        "fuente", "origen",  # es
        "fonte",  # it / pt
        "bron", "herkomst",  # nl
        "origem",  # pt
        "zrodlo",  # pl
    ],
    "status": [
        "status", "lead status", "contact status", "stage", "lifecycle stage",
        "statut", "estatus", "estado del lead", "stato del lead", "situacao",
    ],
    "created_at": [
        "created", "created at", "created date", "create date", "date created",
        "creation date", "created time", "created on", "date added", "entry date",
        "erstellt", "erstellt am", "erstelldatum", "angelegt am",  # de
        "cree le", "date de creation",  # fr
        "creado", "fecha de creacion", "fecha creacion", "fecha de alta",  # es
        "creato", "data di creazione", "data creazione",  # it
        "aangemaakt", "aanmaakdatum", "aangemaakt op",  # nl
        "criado em", "data de criacao",  # pt
        "utworzono", "data utworzenia",  # pl
    ],
    "last_called_at": [
        "last called", "last call", "last call date", "last called at", "last contacted",
        "last local call time", "last call time", "last dialed", "last activity date",
        "zuletzt angerufen", "letzter anruf", "letzter kontakt",  # de
        "dernier appel", "date du dernier appel",  # fr
        "ultima llamada", "fecha ultima llamada",  # es
        "ultima chiamata",  # it
        "laatst gebeld", "laatste oproep", "laatste gesprek",  # nl
        "ultima chamada", "ultima ligacao",  # pt
        "ostatnie polaczenie", "ostatni kontakt",  # pl
    ],
    "notes": [
        "notes", "note", "comments", "comment", "remarks", "description", "memo",
        "notizen", "notiz", "bemerkung", "bemerkungen", "kommentar",  # de
        "remarques", "commentaire", "commentaires",  # fr
        "notas", "comentarios", "observaciones",  # es
        "commenti", "osservazioni",  # it
        "notities", "opmerkingen", "opmerking",  # nl
        "observacoes",  # pt
        "notatki", "uwagi", "komentarz",  # pl
    ],
}  # fmt: skip

# Headers that look like a field but are something else: never mapped by name.
NOT_FIELDS = {
    "phone code", "phone type", "phone 1 type", "phone 2 type", "phone 3 type",
    "e mail 1 type", "e mail 2 type", "email type", "list id", "title", "middle initial",
    "gender", "date of birth", "security phrase", "rank", "owner", "called count",
    "address1", "address2", "address3", "address", "city", "lead owner", "modified time",
    "last modified date", "last modified", "modified", "phone extension", "ext",
    "user", "entry list id", "gmt offset now", "called since last reset",
    "company", "organization", "street", "website", "company name", "account name",
    "business name", "organisation", "organization name", "campaign name", "list name",
    "agent name", "user name", "username", "file name", "pool name", "owner name",
}  # fmt: skip

# Names that are often a system's own row number: a more specific column wins over them
# (a dialer's lead_id beside the CRM's vendor_lead_code).
_WEAK_ALIASES = {"id", "lead id", "record id", "reference", "ref", "number"}
TIE_SHARE = 0.9  # phone columns with at least this share of the most valid numbers tie
FIXED = ("history", "key")  # suggestions taken as they are: no ranking, no competition
FULL_NAME = "full_name"  # a mapping target, not a lead field: split into first and last name
_NAME_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "herr", "frau", "mme",
                "mlle", "m", "sr", "sra", "srta", "dott", "dottssa", "pan", "pani"}  # fmt: skip

# Header words saying a phone column holds mobiles, or landlines (used on a tie of valid
# numbers when the region's numbers do not tell mobiles from landlines, as in the US).
_MOBILE_WORDS = {"mobile", "cell", "cellphone", "handy", "mobil", "mobiltelefon", "portable",
                 "movil", "celular", "cellulare", "mobiel", "gsm", "telemovel", "komorka",
                 "komorkowy"}  # fmt: skip
_LANDLINE_WORDS = {"landline", "land", "fixed", "home", "work", "office", "business", "fax",
                   "festnetz", "fixe"}  # fmt: skip

# Phone aliases that name a secondary number (they go after the main phone).
_SECONDARY_WORDS = {"alt", "alternate", "alternative", "other", "second", "secondary", "mobile",
                    "cell", "home", "work", "business", "office", "fax", "handy", "mobil",
                    "landline", "land", "fixed",
                    "portable", "movil", "celular", "cellulare", "mobiel", "gsm", "telemovel",
                    "komorka", "komorkowy", "mobiltelefon", "2", "3", "4", "5"}  # fmt: skip

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ColumnSuggestion:
    field: str | None
    confidence: float
    reason: str  # history, key, alias, custom, contains, fuzzy, values, not_a_field, none


class Suggestions(dict):
    """header -> field key (or None); ``details[header]`` says how sure and why."""

    def __init__(self, details: dict[str, ColumnSuggestion]) -> None:
        super().__init__({h: s.field for h, s in details.items()})
        self.details = details


def normalise_header(text: str) -> str:
    """Lower case, accents removed, punctuation and underscores as single spaces.

    Use it for the keys of mapping history, so "E-mail 1 - Value" and "email_1_value" agree.
    """
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("ł", "l").replace("Ł", "L").replace("ß", "ss")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for field, names in ALIASES.items():
        for name in names:
            index.setdefault(normalise_header(name), field)
    return index


def _field_attr(f, name: str):
    return f.get(name) if isinstance(f, Mapping) else getattr(f, name, None)


def _is_secondary_phone(norm: str) -> bool:
    words = set(norm.split())
    if norm in ("phone 1", "phone 1 value", "phone1", "telefon 1"):
        return False
    return bool(words & _SECONDARY_WORDS) or norm in {"phone2", "phone3", "phone4", "phone5"}


def _by_name(norm: str, custom: dict[str, str]) -> tuple[str | None, float, str]:
    if not norm:
        return None, 0.0, "none"
    if norm in NOT_FIELDS:
        return None, 1.0, "not_a_field"
    if norm in custom:
        return custom[norm], 0.95, "custom"
    index = _alias_index()
    if norm in index:
        return index[norm], 0.9 if norm in _WEAK_ALIASES else 0.95, "alias"
    compact = norm.replace(" ", "")
    for alias, field in index.items():
        if alias.replace(" ", "") == compact:
            return field, 0.9, "alias"
    # An alias of two or more words, or a long single word, inside the header.
    padded = f" {norm} "
    words = set(norm.split())
    if not words & {"type", "label", "code", "id"} or "postal" in words:
        best = None
        for alias, field in index.items():
            fits = (" " in alias or len(alias) >= 5) and f" {alias} " in padded
            if fits and (best is None or len(alias) > len(best[0])):
                best = (alias, field)
        if best:
            return best[1], 0.8, "contains"
    candidates = list(index) + list(custom)
    close = difflib.get_close_matches(norm, candidates, n=1, cutoff=0.84)
    if close and len(norm) >= 4:
        target = custom.get(close[0]) or index[close[0]]
        ratio = difflib.SequenceMatcher(None, norm, close[0]).ratio()
        return target, round(0.85 * ratio, 2), "fuzzy"
    return None, 0.0, "none"


def _by_values(values: list[str], region: str) -> str | None:
    values = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    if len(values) < 2:
        return None
    n = len(values)
    if sum(bool(_EMAIL_RE.match(v)) for v in values) >= 0.6 * n:
        return "email"
    zones = _zones()
    if sum(v in zones for v in values) >= 0.6 * n:
        return "timezone"
    digits = [v for v in values if sum(c.isdigit() for c in v) >= 6]
    if len(digits) >= 0.6 * n:
        ok = normalise_phones(values, region)["e164"].notna().sum()
        if ok >= 0.6 * n:
            return "phone"
    return None


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass(frozen=True)
class PhoneColumn:
    """A phone column's evidence for the Phone 1 choice, in the order the columns rank."""

    key: object  # the caller's name for the column (its index or header)
    header: str
    valid: int  # valid numbers for the region among the sample values
    sampled: int  # sample values given (blanks included)
    mobiles: int  # of the valid ones, numbers known to be mobiles
    kind: str  # "mobile", "landline" or "" (unknown: e.g. US numbers, no values)


def _phone_kind(header: str, valid: list[str], mobiles: int) -> str:
    """Mobile or landline: from the numbers when their region tells, else from the name."""
    typed = sum(
        phonenumbers.number_type(phonenumbers.parse(v))
        in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
        for v in valid
    )
    if typed >= max(1, len(valid) // 2):
        return "mobile" if mobiles * 2 >= typed else "landline"
    words = set(normalise_header(header).split())
    if words & _MOBILE_WORDS:
        return "mobile"
    return "landline" if words & _LANDLINE_WORDS else ""


def phone_columns(
    values: Mapping[object, Sequence[str]], headers: Mapping[object, str], region: str
) -> list[PhoneColumn]:
    """Phone columns ranked for Phone 1, Phone 2...: most valid numbers for ``region``
    first (within a tenth of each other counts as a tie); on a tie mobile before landline;
    then a main phone's name before a secondary one's; then column order (the order of
    ``values``)."""
    out = []
    for position, (key, column) in enumerate(values.items()):
        column = ["" if v is None else str(v) for v in column]
        e164 = normalise_phones(column, region)["e164"].dropna().tolist() if column else []
        sample = e164[:200]  # the kind of a column shows in its first numbers
        mobiles = sum(
            phonenumbers.number_type(phonenumbers.parse(v)) == phonenumbers.PhoneNumberType.MOBILE
            for v in sample
        )
        kind = _phone_kind(headers[key], sample, mobiles)
        out.append(
            (
                position,
                PhoneColumn(key, headers[key], len(e164), len(column), mobiles, kind),
            )
        )

    def preference(item):
        position, col = item
        # Without valid numbers there is no evidence of kind: the names decide.
        kind = (0 if col.kind == "mobile" else 1 if col.kind == "" else 2) if col.valid else 0
        return (kind, _is_secondary_phone(normalise_header(col.header)), position)

    # Repeatedly the best of the columns left: those with about as many valid numbers as
    # the most (a tenth fewer at most) tie, and the tie goes to mobiles, then the names.
    ranked, left = [], list(out)
    while left:
        most = max(col.valid for _, col in left)
        tied = [item for item in left if item[1].valid >= TIE_SHARE * most]
        best = min(tied, key=preference)
        ranked.append(best[1])
        left.remove(best)
    return ranked


def split_full_name(names: pd.Series) -> pd.DataFrame:
    """``first_name`` and ``last_name`` from full names: "Smith, John" (last name first when
    a comma says so), "John Smith", "Mary Ann Smith" (the last word is the last name), with
    titles (Mr, Dr...) dropped; a single word is a first name."""
    text = names.astype("object").where(names.notna(), "").astype(str).str.strip()
    first, last = [], []
    for value in text:
        if "," in value:
            surname, _, given = value.partition(",")
            words = _without_titles(given.split())
            first.append(" ".join(words) or None)
            last.append(surname.strip() or None)
            continue
        words = _without_titles(value.split())
        if len(words) <= 1:
            first.append(words[0] if words else None)
            last.append(None)
        else:
            first.append(" ".join(words[:-1]))
            last.append(words[-1])
    return pd.DataFrame({"first_name": first, "last_name": last}, index=names.index)


def _without_titles(words: list[str]) -> list[str]:
    while len(words) > 1 and words[0].lower().rstrip(".") in _NAME_TITLES:
        words = words[1:]
    return words


def suggest_mapping(
    headers: Sequence[str],
    sample_rows: Sequence[Sequence[str]] | None,
    field_definitions: Iterable | None = None,
    history: Mapping[str, str] | None = None,
    region: str = "US",
) -> Suggestions:
    """Suggest a field for every CSV header (None = leave unmapped).

    ``sample_rows`` are preview rows aligned with ``headers``; ``field_definitions`` are the
    account's fields (objects or dicts with key/label/type; STANDARD_FIELDS when None);
    ``history`` maps ``normalise_header(header)`` to the field chosen last time.
    """
    fields = list(field_definitions) if field_definitions is not None else list(STANDARD_FIELDS)
    keys = {_field_attr(f, "key") for f in fields}
    custom: dict[str, str] = {}
    for f in fields:
        key = _field_attr(f, "key")
        if key in ALIASES or key in PHONE_FIELDS:
            continue
        for text in (key, _field_attr(f, "label") or ""):
            if normalise_header(text):
                custom.setdefault(normalise_header(text), key)
    history = {normalise_header(k): v for k, v in (history or {}).items()}
    rows = [list(r) for r in (sample_rows or [])]

    raw: list[tuple[str | None, float, str]] = []
    for pos, header in enumerate(headers):
        norm = normalise_header(header)
        if norm in history and (history[norm] in keys | {FULL_NAME} or history[norm] is None):
            raw.append((history[norm], 1.0, "history"))
            continue
        # A standard field's own key (LeadApp's export, a dialer's) is that field.
        if str(header).strip() in keys & STANDARD_KEYS:
            raw.append((str(header).strip(), 1.0, "key"))
            continue
        field, conf, why = _by_name(norm, custom)
        if field is None and why != "not_a_field" and rows:
            values = [r[pos] if pos < len(r) else "" for r in rows]
            field = _by_values(values, region)
            conf, why = (0.7, "values") if field else (0.0, "none")
        raw.append((field, conf, why))

    details: dict[str, ColumnSuggestion] = {}
    # Phones: the most valid numbers first (see the module's rules).
    phone_cols = [
        i
        for i, (f, _, why) in enumerate(raw)
        if f == "phone" or (f in PHONE_FIELDS and why not in FIXED)
    ]
    ranked = phone_columns(
        {i: [r[i] if i < len(r) else "" for r in rows] for i in phone_cols},
        {i: headers[i] for i in phone_cols},
        region,
    )
    taken = {f for f, _, why in raw if why in FIXED and f}
    free_phones = [p for p in PHONE_FIELDS if p in keys and p not in taken]
    phone_target = {}
    for column, target in zip(ranked, free_phones, strict=False):
        phone_target[column.key] = target
    # A full name only when nothing else gives the first or last name.
    names_elsewhere = any(f in ("first_name", "last_name") for f, _, _ in raw)
    keys = keys | ({FULL_NAME} if not names_elsewhere and FULL_NAME not in taken else set())

    # Other fields: once each, the most confident column wins (earlier column on ties).
    best: dict[str, tuple[float, int]] = {}
    for i, (f, conf, why) in enumerate(raw):
        plain = f and f != "phone" and f not in PHONE_FIELDS and why not in FIXED
        if plain and (f not in best or conf > best[f][0]):
            best[f] = (conf, i)
    for i, header in enumerate(headers):
        f, conf, why = raw[i]
        if why in FIXED:
            target = f
        elif f == "phone" or f in PHONE_FIELDS:
            target = phone_target.get(i)
        elif f and f in keys and best[f][1] == i and f not in taken:
            target = f
        else:
            target = None
        if target is None and f is not None and why != "not_a_field":
            conf, why = 0.0, "taken"
        details[header] = ColumnSuggestion(target, conf, why)
    return Suggestions(details)


def apply_mapping(
    df: pd.DataFrame, mapping: Mapping[str, str | Sequence[str] | None]
) -> pd.DataFrame:
    """Lead fields from CSV columns: ``mapping`` is header -> field, or header -> [fields].

    A column may feed several fields; two columns may not feed the same field. A column
    mapped to ``full_name`` fills first_name and last_name (``split_full_name``). Unmapped
    columns are left out; the result keeps the rows (and index) of ``df``.
    """
    out: dict[str, pd.Series] = {}
    source: dict[str, str] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if header not in df.columns:
            raise KeyError(f"The file has no column {header!r}.")
        targets = [target] if isinstance(target, str) else list(target)
        for field in targets:
            if field in out:
                raise ValueError(
                    f"Columns {source[field]!r} and {header!r} are both mapped to {field!r}."
                )
            out[field] = df[header]
            source[field] = header
    if FULL_NAME in out:
        split = split_full_name(out.pop(FULL_NAME))
        for field in ("first_name", "last_name"):
            if field in out:
                raise ValueError(
                    f"Column {source[FULL_NAME]!r} is a full name: it fills the first and "
                    f"last name, so {source[field]!r} cannot be mapped to {field!r} too."
                )
            out[field] = split[field]
    return pd.DataFrame(out, index=df.index)
