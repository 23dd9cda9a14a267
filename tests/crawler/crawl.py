"""The crawler's machinery: which value fills each URL variable, the principals, one request
in a savepoint rolled back after it, and the checks on every answer (no 5xx, HTML that
parses, no other account's marker, a refusal with a sentence)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import html5lib
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models.account import UserSession
from leadapp.models.base import utcnow
from tests.conftest import csrf_from, login

from .populate import World

# Zero, past a 32-bit INTEGER column (PostgreSQL's ids), past 64 bits (SQLite's); -1 and
# "abc" do not match an <int> converter (a 404 from routing) but are tried all the same.
ABSURD_INTS = ("0", "-1", "abc", str(2**31), str(2**63 - 1), str(2**63), str(2**64))
ABSURD_TEXT = ("", "x" * 300, "..%2F..%2Fconfig.py", "%0D%0Ax")

# URL variable → the kind of object it names (``job_id`` depends on the blueprint). A new
# route whose variable is not here fails the crawler with a sentence saying what to add.
VARIABLE_KINDS = {
    "user_id": "user",
    "campaign_id": "campaign",
    "project_id": "project",
    "code": "code",
    "pool_id": "pool",
    "lead_id": "lead",
    "import_id": "import",
    "view_id": "view",
    "token_id": "token",
    "number_id": "dnc",
    "field_id": "field_definition",
    "template_id": "template",
    "wrap_code_id": "wrap_code",
    "name": "outbox",
    "row": "row",
    "field": "field",
    "kind": "kind",
    "rest": "rest",
    "filename": "filename",
    "session_id": "session",
    "secret": "password_link",
    "lease_id": "lease",
}

HOSTILE = {
    "blank": "",
    "spaces": "   ",
    "long": "x" * 10_000,
    "crlf": "/\r\n/x",  # a path with a line break: a next= that a redirect would carry
    "2**31": str(2**31),
    "2**63": str(2**63),
    "2**64": str(2**64),
    "negative": "-1",
    "wrong type": "abc",
}
QUERY_HOSTILE = {
    "2**31": str(2**31),
    "2**63": str(2**63),
    "wrong type": "abc",
    "long": "x" * 10_000,
    "crlf next": "/\r\n/x",
}
SENTENCE = re.compile(r"[A-Z][^.!?<>]{3,}[.!?]")
JSON_SENTENCE = re.compile(r"[A-Z].{3,}[.!?]", re.S)  # an API error may quote "<token>"

TAGS = re.compile(r"<[^>]+>")


def kind_of(endpoint: str, variable: str) -> str | None:
    if variable == "job_id":
        if endpoint.startswith("dedup."):
            return "dedup"
        return "dnc_upload" if endpoint.startswith("leads.dnc") else "job"
    return VARIABLE_KINDS.get(variable)


def fixed_values(endpoint: str, kind: str, w: World) -> list[tuple[str, str]]:
    """Values of the variables that name no object of the account: (state, value)."""
    from leadapp.pools.details import DOWNLOADS
    from leadapp.services.imports.report import KINDS

    if kind == "row":
        return [("staged", str(w.rows[0])), ("last", str(w.rows[-1]))]
    if kind == "field":
        return [("first_name", "first_name"), ("phone1", "phone1"), ("unknown", "no_such")]
    if kind == "kind":
        kinds = KINDS if endpoint.startswith("imports.") else DOWNLOADS
        return [(k, k) for k in kinds] + [("unknown", "no_such")]
    if kind == "rest":
        return [("unknown", "no/such/thing")]
    if kind == "filename":
        return [("css", "app.css"), ("missing", "no_such.css"), ("outside", "../config.py")]
    return []


def absurd_values(kind: str) -> list[tuple[str, str]]:
    if kind in ("code", "outbox", "field", "kind", "rest", "filename", "password_link"):
        return [(f"absurd {v!r}"[:20], v) for v in ABSURD_TEXT]
    return [(f"absurd {v}", v) for v in ABSURD_INTS]


RULE_VARIABLE = re.compile(r"<(?:([a-zA-Z_]+)(?:\([^)]*\))?:)?([a-zA-Z_]+)>")


def url_for_rule(rule: str, values: dict[str, str]) -> str:
    """The rule's path with each variable replaced, quoted (path variables keep '/')."""

    def sub(match):
        converter, name = match.group(1), match.group(2)
        value = values[name]
        if value.startswith(("..%2F", "%0D")):  # already encoded on purpose
            return value
        return quote(value, safe="/" if converter == "path" else "")

    return RULE_VARIABLE.sub(sub, rule)


@dataclass
class Principal:
    name: str  # "anonymous", "alpha admin", ...
    world: World | None
    role: str | None
    client: object
    csrf: str | None = None

    @property
    def foreign_markers(self) -> tuple[str, ...]:
        markers = ("ALPHA-", "BETA-")
        if self.world is None:
            return markers
        return tuple(m for m in markers if m != f"{self.world.marker}-")


def principals(app, worlds: dict[str, World]) -> list[Principal]:
    anonymous = app.test_client()
    found = [Principal("anonymous", None, None, anonymous, csrf_from(anonymous, "/login"))]
    for w in worlds.values():
        for role in ("supervisor", "admin"):
            client = app.test_client()
            assert login(client, w.emails[role]).status_code == 302, w.emails[role]
            found.append(
                Principal(f"{w.slug} {role}", w, role, client, csrf_from(client, "/leads"))
            )
    # Each request is rolled back, its session's "last seen" with it: every request would
    # store it again (a commit before the view). Seen a day ahead, no request needs to.
    with app.app_context():
        ahead = utcnow() + dt.timedelta(days=1)
        db.session.execute(sa.update(UserSession).values(last_seen_at=ahead))
        db.session.commit()
    return found


@dataclass
class Finding:
    endpoint: str
    method: str
    principal: str
    what: str
    request: str
    problem: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.endpoint, self.method, self.what)


@dataclass
class Forms:
    """What the pages offer: POST forms' fields by endpoint, and the query keys of links and
    GET forms (filled with hostile values later)."""

    fields: dict[str, dict[str, tuple[bool, str]]] = field(default_factory=dict)
    query_keys: set[str] = field(default_factory=set)

    def all_fields(self) -> set[str]:
        return {name for fields in self.fields.values() for name in fields}

    def typed(self, endpoint: str, value: str) -> dict[str, str] | None:
        """The form as the page fills it, with ``value`` in every field a user types in
        (choices, check boxes and hidden fields keep the page's values)."""
        fields = self.fields.get(endpoint)
        if not fields or not any(typed for typed, _ in fields.values()):
            return None
        return {name: value if typed else default for name, (typed, default) in fields.items()}


VOID = {"input", "select", "textarea", "button"}
TYPED = {"text", "email", "number", "date", "datetime-local", "time", "search", "tel", "url"}


def _field(element) -> tuple[bool, str] | None:
    """(typed by the user, the page's value) of a form control; None when not sent."""
    if element.tag == "textarea":
        return True, element.text or ""
    if element.tag == "select":
        options = [o for o in element.iter() if isinstance(o.tag, str) and o.tag == "option"]
        chosen = [o for o in options if o.get("selected") is not None] or options[:1]
        value = chosen[0].get("value", chosen[0].text or "") if chosen else ""
        return False, value
    kind = (element.get("type") or "text").lower()
    if kind in ("checkbox", "radio") and element.get("checked") is None:
        return None
    if element.tag == "button" or kind in ("submit", "button"):
        return None  # which button is pressed is the form's choice, not typed data
    return kind in TYPED, element.get("value") or ""


def read_forms(app, tree, forms: Forms, page: str) -> None:
    """Record the forms (and hx-post elements) of a parsed page (at the path ``page``: a
    form without an action posts there)."""
    adapter = app.url_map.bind("localhost")
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        href = element.get("href")
        if href and "?" in href:
            forms.query_keys.update(k for k, _ in parse_qsl(urlsplit(href).query))
        action = element.get("hx-post") or (
            element.get("action") if element.tag == "form" else None
        )
        method = "post" if element.get("hx-post") else (element.get("method") or "get").lower()
        if element.tag != "form" and not element.get("hx-post"):
            continue
        controls = {}
        for child in element.iter():
            if isinstance(child.tag, str) and child.tag in VOID and child.get("name"):
                described = _field(child)
                if described is not None and child.get("name") != "csrf_token":
                    controls.setdefault(child.get("name"), described)
        if method == "get":
            forms.query_keys.update(controls)
            continue
        try:
            endpoint, _ = adapter.match(urlsplit(action or page).path, method="POST")
        except Exception:  # noqa: S112 - an action outside the app (none expected)
            continue
        forms.fields.setdefault(endpoint, {}).update(controls)


# A partial that starts with table rows or cells is parsed where htmx puts it.
CONTAINERS = {"tr": "tbody", "td": "tr", "th": "tr", "option": "select", "tbody": "table"}
FIRST_TAG = re.compile(r"\s*(?:<!--.*?-->\s*)*<([a-zA-Z0-9]+)", re.S)


TEMPLATE = re.compile(r"<template\b[^>]*>(.*?)</template>", re.S | re.I)


# The same answer is often sent again (a refusal page, a page that ignores a hostile query
# key), or the same page for another object of the same state, which differs only in its
# text and attribute values (names, ids, counts, dates, the value a hostile query echoes):
# it parses the same, so it is parsed once. html5lib is pure Python and was half of the
# crawl's time. The page's skeleton (tags and attribute names; Jinja escapes every value,
# and tests/hostile/ sends the markup that would break out of one) is only the cache's
# key: what is parsed is always the answer itself.
_PARSED: dict[tuple[str, bool], object] = {}
_SKELETONS: set[tuple[str, bool]] = set()
TEXT = re.compile(r">[^<]+<")
ATTRIBUTE_VALUE = re.compile(r'="[^"]*"')


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def parse_html(text: str, fragment: bool, tree_wanted: bool = True):
    """Parse strictly (html5lib: the first parse error raises, with its position); an
    answer already parsed gives its tree again. Without ``tree_wanted`` (only whether it
    parses), an answer of a skeleton already parsed is not parsed again (returns None)."""
    key = (_digest(text), fragment)
    if key in _PARSED:
        return _PARSED[key]
    skeleton = (_digest(ATTRIBUTE_VALUE.sub('=""', TEXT.sub("><", text))), fragment)
    if not tree_wanted and skeleton in _SKELETONS:
        return None
    tree = _parse(text, fragment)
    _SKELETONS.add(skeleton)
    if tree_wanted:
        _PARSED[key] = tree
    return tree


def _parse(text: str, fragment: bool):
    """html5lib predates ``<template>``: each template's content is parsed on its own, where
    it would stand (a ``<tr>`` in a table body), and the rest without it."""
    for inner in TEMPLATE.findall(text):
        _parse_fragment(inner)
    text = TEMPLATE.sub("", text)
    if not fragment:
        return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)
    return _parse_fragment(text)


def _parse_fragment(text: str):
    first = FIRST_TAG.match(text)
    container = CONTAINERS.get(first.group(1).lower(), "div") if first else "div"
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parseFragment(text, container=container)


class Crawler:
    """Sends requests, each in a savepoint rolled back after it, and checks the answers."""

    def __init__(self, app, connection, worlds: dict[str, World], backup: Path):
        self.app = app
        self.connection = connection
        self.worlds = worlds
        self.backup = backup
        self.findings: list[Finding] = []
        self.forms = {"anonymous": Forms(), "user": Forms()}  # what each audience is offered
        self.own_seen: dict[str, int] = {}  # principal → answers showing its own objects
        self.count = 0
        self.principals: list[str] = []  # who the crawl was made as
        self.staging = {i: p for w in worlds.values() for i, p in w.staging.items()}
        for path in self.staging.values():
            if path.exists():
                shutil.copytree(path, backup / path.name)
        self.errors = ErrorLog()
        logging.getLogger("leadapp.errors").addHandler(self.errors)

    def close(self) -> None:
        logging.getLogger("leadapp.errors").removeHandler(self.errors)

    def restore_staging(self, url: str) -> None:
        """Put back the staging folder of the import the URL names (a request changes only
        its own import's files; a new import's folder is removed with the test's)."""
        match = re.match(r"/imports/(\d+)/", url)
        path = self.staging.get(int(match.group(1))) if match else None
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)
            if (self.backup / path.name).exists():
                shutil.copytree(self.backup / path.name, path)

    def request(
        self,
        endpoint: str,
        method: str,
        url: str,
        p: Principal,
        what: str,
        data: dict | None = None,
        htmx: bool = False,
        api: bool = False,
        read_pages: bool = False,
    ) -> int | None:
        headers, kwargs = {}, {}
        if htmx:
            headers["HX-Request"] = "true"
        if api and p.world is not None:
            headers["Authorization"] = f"Bearer {p.world.tokens[p.role]}"
        if method != "GET":
            if api:
                kwargs["json"] = data or {}
            else:
                form = dict(data or {})
                if p.csrf:
                    headers["X-CSRFToken"] = p.csrf
                    form["csrf_token"] = p.csrf
                kwargs["data"] = form
        cookie = p.client.get_cookie("session")
        nested = self.connection.begin_nested()
        self.errors.last = None
        response, problem = None, None
        self.count += 1
        try:
            response = p.client.open(url, method=method, headers=headers, **kwargs)
            body = response.get_data(as_text=False)
        except Exception as exc:  # a propagated error is a 500 for the user
            problem = f"5xx: raised {type(exc).__name__}: {str(exc)[:300]}"
        finally:
            with self.app.app_context():
                db.session.remove()
            nested.rollback()
            # ROLLBACK TO keeps the savepoint: released too, or each request nests one level
            # deeper and PostgreSQL keeps a lock per level written in (the slow crawl filled
            # the server's lock table). SQLAlchemy has no call for it.
            self.connection.exec_driver_sql(f"RELEASE SAVEPOINT {nested._savepoint}")
            if method != "GET" and endpoint.startswith("imports."):
                self.restore_staging(url)
            if cookie is not None:  # logout (or a refused session) must not end the crawl
                p.client.set_cookie(cookie.key, cookie.value)
        shown = url if len(url) < 160 else url[:160] + "…"
        if problem is None:
            problem = self.check(response, body, p, method, htmx, read_pages and url)
        if problem:
            self.findings.append(Finding(endpoint, method, p.name, what, shown, problem))
        return None if response is None else response.status_code

    def check(self, response, body: bytes, p: Principal, method, htmx, read_pages) -> str | None:
        code = response.status_code
        text = body.decode("utf-8", errors="replace")
        if code >= 500:
            cause = self.errors.last or " ".join(TAGS.sub(" ", text).split())[:200]
            return f"5xx: answered {code}: {cause}"
        if p.world is not None and f"{p.world.marker}-" in text:
            self.own_seen[p.name] = self.own_seen.get(p.name, 0) + 1
        for marker in p.foreign_markers:
            if marker in text:
                at = text.index(marker)
                return f"shows another account's object: …{text[max(0, at - 60) : at + 60]}…"
        if response.mimetype == "text/html" and text.strip():
            fragment = not text.lstrip()[:15].lower().startswith("<!doctype")
            read = bool(read_pages and code == 200)
            try:
                tree = parse_html(text, fragment, tree_wanted=read)
            except Exception as exc:
                return f"HTML does not parse: {exc}"
            if read:
                audience = "anonymous" if p.world is None else "user"
                read_forms(self.app, tree, self.forms[audience], read_pages)
        if 400 <= code < 500:  # every refusal says what happened in a sentence
            if response.is_json:
                message = str((response.get_json(silent=True) or {}).get("error", ""))
                sentence = JSON_SENTENCE
            else:
                message = " ".join(TAGS.sub(" ", text).split())
                sentence = SENTENCE
            if not sentence.search(message):
                return f"{code} without a sentence: {message[:200]!r}"
        return None


class ErrorLog(logging.Handler):
    """The last unhandled error the app logged (its error page hides it from the client)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.last = f"{type(exc).__name__}: {str(exc).splitlines()[0][:250]}"


def hostile_query(url: str, keys: set[str], value: str) -> str:
    query = dict(parse_qsl(urlsplit(url).query))
    query.update(dict.fromkeys(sorted(keys), value))
    query["next"] = "/\r\n/x" if "\n" in value else value
    return f"{urlsplit(url).path}?{urlencode(query)}"
