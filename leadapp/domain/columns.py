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

A field is used once, except phones: every phone column found goes into phone1, phone2... in
order, a main phone (``Phone``, ``Phone Number``, ``Phone 1``) before secondary ones (``Alt
Phone``, ``Mobile Phone Number``, ``Phone 2``). Headers known to be something else
(``phone_code``, ``Phone 1 - Type``, ``list_id``...) stay unmapped.
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

from leadapp.domain.fields import PHONE_FIELDS, STANDARD_FIELDS
from leadapp.domain.phones import normalise_phones

__all__ = [
    "ALIASES",
    "ColumnSuggestion",
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
    "user", "entry list id", "gmt offset now", "called since last reset", "name", "full name",
    "company", "organization", "street", "website",
}  # fmt: skip

# Phone aliases that name a secondary number (they go after the main phone).
_SECONDARY_WORDS = {"alt", "alternate", "alternative", "other", "second", "secondary", "mobile",
                    "cell", "home", "work", "business", "office", "fax", "handy", "mobil",
                    "portable", "movil", "celular", "cellulare", "mobiel", "gsm", "telemovel",
                    "komorka", "komorkowy", "mobiltelefon", "2", "3", "4", "5"}  # fmt: skip

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ColumnSuggestion:
    field: str | None
    confidence: float
    reason: str  # history, alias, custom, contains, fuzzy, values, not_a_field, none


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
        return index[norm], 0.95, "alias"
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
        if norm in history and (history[norm] in keys or history[norm] is None):
            raw.append((history[norm], 1.0, "history"))
            continue
        field, conf, why = _by_name(norm, custom)
        if field is None and why != "not_a_field" and rows:
            values = [r[pos] if pos < len(r) else "" for r in rows]
            field = _by_values(values, region)
            conf, why = (0.7, "values") if field else (0.0, "none")
        raw.append((field, conf, why))

    details: dict[str, ColumnSuggestion] = {}
    # Phones: main phones first, then secondary ones, each group in column order.
    phone_cols = [
        (i, h)
        for i, (h, (f, _, _)) in enumerate(zip(headers, raw, strict=True))
        if f == "phone" or (f in PHONE_FIELDS and raw[i][2] != "history")
    ]
    taken = {f for f, _, why in raw if why == "history" and f}
    free_phones = [p for p in PHONE_FIELDS if p in keys and p not in taken]
    phone_cols.sort(key=lambda ih: (_is_secondary_phone(normalise_header(ih[1])), ih[0]))
    phone_target = {}
    for (i, _), target in zip(phone_cols, free_phones, strict=False):
        phone_target[i] = target

    # Other fields: once each, the most confident column wins (earlier column on ties).
    best: dict[str, tuple[float, int]] = {}
    for i, (f, conf, why) in enumerate(raw):
        plain = f and f != "phone" and f not in PHONE_FIELDS and why != "history"
        if plain and (f not in best or conf > best[f][0]):
            best[f] = (conf, i)
    for i, header in enumerate(headers):
        f, conf, why = raw[i]
        if why == "history":
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

    A column may feed several fields; two columns may not feed the same field. Unmapped
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
    return pd.DataFrame(out, index=df.index)
