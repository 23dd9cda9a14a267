"""The crawler (issue 14): every route the app registers, in every state of a fully populated
instance (tests/crawler/populate.py), as anonymous and as the supervisor and the admin of
each of two accounts (API routes with each one's token). It fails on any 5xx, on any HTML
answer that does not parse (html5lib, strict), on any answer to one account's user that
shows the other account's object (every object's name carries its account's marker,
``ALPHA-`` or ``BETA-``), and on any 4xx answer without a sentence.

Routes come from ``app.url_map``: a new route is crawled without anyone listing it, and a
new URL variable the crawler cannot fill fails it with a sentence saying what to add
(``VARIABLE_KINDS`` in tests/crawler/crawl.py).

Each URL variable takes one object of each state of the account under test, the other
account's objects and absurd values (0, -1, 2**63 and more, text); the variables of a route
are varied one at a time around the first object of each kind, not as a cross product.
POST routes get the fields their pages' forms carry, filled with hostile values (blank,
10,000 characters, CR/LF, 2**63, wrong types), with a valid CSRF token; GET routes get the
query keys the pages' links and search forms use, filled the same way. Each request runs in
a savepoint that is rolled back after it, and the import staging folders are put back, so
no request changes what the next one sees.

``make test`` runs the bounded pass (about two minutes; in CI's PostgreSQL pass only the
hostile values whose fate depends on the database, as three of the five principals); the
slow test sweeps every object of every state, the other account's objects of each state and
hostile forms as each principal.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadapp.extensions import QUEUE_NAMES, db, redis_connection
from tests.crawler.crawl import (
    HOSTILE,
    QUERY_HOSTILE,
    Crawler,
    Principal,
    absurd_values,
    fixed_values,
    hostile_query,
    kind_of,
    principals,
    url_for_rule,
)
from tests.crawler.populate import World, build

pytestmark = pytest.mark.database

# Known faults being fixed elsewhere, (endpoint, method, what) → the reason. Strict: a
# listed case that answers well fails the crawler until its entry is removed.
KNOWN: dict[tuple[str, str, str], str] = {}

API_FIELDS = (
    "first_name",
    "last_name",
    "phone1",
    "email",
    "customer_key",
    "pool_id",
    "wrap_code",
    "outcome",
    "notes",
    "direction",
    "at",
    "called_number",
    "caller_number",
    "completed",
)


def routes(app):
    """(endpoint, rule, methods) of every registered route, static files included."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        yield rule.endpoint, rule, sorted(rule.methods - {"HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Reach:
    """How much of the instance one principal is shown: every state of the own account's
    objects or the first, the other account's likewise, absurd values or not."""

    own_every_state: bool
    other_every_state: bool
    absurd: bool


def reach(p: Principal, every: bool) -> Reach:
    """The bounded pass: alpha's users see every state of their objects, everyone else the
    first of each kind; everyone sees the other account's first object; absurd values for
    alpha's admin and beta's supervisor. The slow pass: everything for everyone."""
    if every:
        return Reach(True, True, True)
    alpha = p.world is not None and p.world.slug == "alpha"
    return Reach(alpha, False, p.name in ("alpha admin", "beta supervisor"))


def variable_values(endpoint, variable, p: Principal, worlds, r: Reach):
    """(what, value) for one URL variable as ``p`` sees it: the own account's objects of
    each state, the other account's, absurd values."""
    kind = kind_of(endpoint, variable)
    assert kind, (
        f"The crawler cannot fill <{variable}> of {endpoint}: add it to VARIABLE_KINDS in "
        "tests/crawler/crawl.py (and its objects to tests/crawler/populate.py)."
    )
    own = p.world or worlds["alpha"]
    other = next(w for w in worlds.values() if w is not own)
    values = [(f"{own.slug} {s}", str(v)) for s, v in fixed_values(endpoint, kind, own)]
    values += [(f"{own.slug} {kind} {s}", str(v)) for s, v in states_of(own, kind, r)]
    values += [(f"{other.slug} {kind} {s}", str(v)) for s, v in states_of(other, kind, r, True)]
    assert values, f"no {kind} objects for <{variable}> of {endpoint}"
    if r.absurd:
        values += absurd_values(kind)
    return values


def states_of(w: World, kind: str, r: Reach, other: bool = False):
    """The account's objects of a kind: one per state, or only the first."""
    every = r.other_every_state if other else r.own_every_state
    seen: set[str] = set()
    for state, value in w.objects.get(kind, []):
        if state not in seen and (every or not seen):
            seen.add(state)
            yield state, value


def combinations(endpoint, rule, p, worlds, r: Reach):
    """The URLs to try: each variable varied around the first value of every other."""
    variables = sorted(rule.arguments)
    if not variables:
        yield "no variables", url_for_rule(rule.rule, {})
        return
    options = {v: variable_values(endpoint, v, p, worlds, r) for v in variables}
    base = {v: values[0][1] for v, values in options.items()}
    seen = set()
    for variable in variables:
        for what, value in options[variable]:
            url = url_for_rule(rule.rule, {**base, variable: value})
            if url not in seen:
                seen.add(url)
                yield f"{variable}={what}", url


# Hostile values for the bounded pass: all of them on the first object, these on the others
# (and, as a supervisor, on the first only).
HOSTILE_ON_EVERY_STATE = ("spaces", "2**31")
# CI's PostgreSQL pass sends the values whose fate depends on the database (a column's
# length, INTEGER and BIGINT range, a number column given text); the SQLite pass sends all.
HOSTILE_FOR_THE_DATABASE = ("long", "2**31", "2**63", "wrong type")


# CI's PostgreSQL pass crawls as these: who may see what is decided the same way on both
# databases (the SQLite pass crawls as all five); what differs is the SQL, which these reach
# (every state of alpha's objects, the other account's, absurd values). A crawl of five
# principals on PostgreSQL took 143 s of CI's 621.
PRINCIPALS_FOR_THE_DATABASE = ("anonymous", "alpha admin", "beta supervisor")


def crawled_principals(people: list[Principal], dialect: str, every: bool) -> list[Principal]:
    if every or dialect == "sqlite":
        return people
    return [p for p in people if p.name in PRINCIPALS_FOR_THE_DATABASE]


def hostile_values(dialect: str, every: bool) -> dict[str, str]:
    if every or dialect == "sqlite":
        return HOSTILE
    return {k: v for k, v in HOSTILE.items() if k in HOSTILE_FOR_THE_DATABASE}


def post_reach(p: Principal, every: bool) -> Reach:
    """As ``reach``, but in the bounded pass only alpha's admin posts to absurd URL values:
    each POST route is still refused those by someone, and beta's supervisor reads them in
    the GETs (a POST with them answers the same 404 a GET does)."""
    if every:
        return reach(p, every)
    r = reach(p, every)
    return Reach(r.own_every_state, r.other_every_state, p.name == "alpha admin")


def crawl(app, worlds: dict[str, World], tmp_path: Path, every: bool) -> Crawler:
    with app.app_context():
        connection = db.session.bind  # the test's connection (tests/conftest.py)
        dialect = connection.dialect.name
        hostile = hostile_values(dialect, every)
    backup = tmp_path / "staging-backup"
    backup.mkdir()
    crawler = Crawler(app, connection, worlds, backup)
    people = crawled_principals(principals(app, worlds), dialect, every)
    crawler.principals = [p.name for p in people]
    alpha_admin = next(p for p in people if p.name == "alpha admin")
    table = list(routes(app))
    try:
        # 1. Every GET, every principal; the pages anonymous and alpha's users get are read
        #    for their forms and links.
        for endpoint, rule, methods in table:
            if "GET" not in methods:
                continue
            api = endpoint.startswith("api.")
            for p in people:
                read = p.world is None or p.world.slug == "alpha"
                urls = list(combinations(endpoint, rule, p, worlds, reach(p, every)))
                for what, url in urls:
                    crawler.request(endpoint, "GET", url, p, what, api=api, read_pages=read)
                if not api and (p is alpha_admin or every):  # as htmx asks for it
                    for what, url in urls if every else urls[:1]:
                        crawler.request(endpoint, "GET", url, p, f"{what} htmx", htmx=True)
        # 2. GET with hostile query strings: the keys of the pages' links and search forms.
        forms, public = crawler.forms["user"], crawler.forms["anonymous"]
        keys = forms.query_keys | public.query_keys | {"page", "pool", "upload", "view", "q"}
        for endpoint, rule, methods in table:
            if "GET" not in methods or endpoint.endswith("static"):
                continue
            for p in people if every else [people[0], alpha_admin]:
                what, url = next(combinations(endpoint, rule, p, worlds, Reach(0, 0, 0)))
                for name, value in QUERY_HOSTILE.items():
                    query = hostile_query(url, keys, value)
                    api = endpoint.startswith("api.")
                    crawler.request(endpoint, "GET", query, p, f"{what} query {name}", api=api)
        # 3. Every POST (PUT, PATCH, DELETE): an empty form as everyone, then the fields
        #    of its forms with hostile values as alpha's users (anonymous: the public
        #    forms, e.g. the login page's).
        for endpoint, rule, methods in table:
            api = endpoint.startswith("api.")
            fields = set(API_FIELDS if api else forms.fields.get(endpoint) or forms.all_fields())
            for method in (m for m in methods if m != "GET"):
                for p in people:
                    urls = list(combinations(endpoint, rule, p, worlds, post_reach(p, every)))
                    answered = {
                        url: crawler.request(endpoint, method, url, p, f"{what} empty", api=api)
                        for what, url in urls
                    }
                    if p.world is None and endpoint in public.fields:
                        for name, value in HOSTILE.items():
                            what, url = urls[0]
                            data = public.typed(endpoint, value) or {}
                            crawler.request(endpoint, method, url, p, f"{what} {name}", data=data)
                    if p.world is None or (p.world.slug != "alpha" and not every):
                        continue
                    own = [(w, u) for w, u in urls if " alpha " in f" {w.split('=')[-1]}"]
                    own = own or urls[:1]
                    if p.role == "supervisor" and not every:
                        # Refused by role (403) before any field is read: hostile values
                        # would only be refused the same way.
                        own = [(w, u) for w, u in own[:1] if answered.get(u) != 403]
                    for i, (what, url) in enumerate(own):
                        for name, value in hostile.items():
                            later = i or p.role == "supervisor"
                            if later and not every and name not in HOSTILE_ON_EVERY_STATE:
                                continue
                            data = dict.fromkeys(fields, value)
                            crawler.request(
                                endpoint, method, url, p, f"{what} {name}", data=data, api=api
                            )
                            # The page's own form with the value typed in its text fields:
                            # a valid form reaches the code after the choices are checked.
                            typed = forms.typed(endpoint, value)
                            if typed is not None:
                                what_typed = f"{what} typed {name}"
                                crawler.request(endpoint, method, url, p, what_typed, data=typed)
                    if api and own:
                        for name, body in (("a list", [1, 2]), ("a number", 2**64)):
                            what, url = own[0]
                            crawler.request(endpoint, method, url, p, name, data=body, api=True)
    finally:
        crawler.close()
    return crawler


def report(crawler: Crawler) -> None:
    failures = [f for f in crawler.findings if f.key not in KNOWN]
    known = {f.key for f in crawler.findings if f.key in KNOWN}
    fixed = sorted(set(KNOWN) - known)
    lines = []
    grouped: dict[tuple, list] = {}
    for f in failures:
        grouped.setdefault((f.endpoint, f.method, f.problem[:70]), []).append(f)
    for (endpoint, method, _), found in sorted(grouped.items()):
        first = found[0]
        lines.append(
            f"{endpoint} {method} as {first.principal}, {first.what} ({len(found)} like it): "
            f"{first.request}\n    {first.problem}"
        )
    message = [f"{len(failures)} of {crawler.count} requests answered wrongly:", *lines]
    if fixed:
        message.append(f"Listed in KNOWN but answering well (remove them): {fixed}")
    assert not failures and not fixed, "\n".join(message)
    # Not a vacuous crawl: each user was shown their own account's objects, many times.
    for name in crawler.principals:
        if name != "anonymous":
            assert crawler.own_seen.get(name, 0) >= 50, (name, crawler.own_seen)
    if known:
        pytest.xfail("; ".join(f"{'/'.join(k)}: {KNOWN[k]}" for k in sorted(known)))


@pytest.fixture
def worlds(app, tmp_path, redis_untouched):
    staging = Path(app.config["STAGING_DIR"])
    before = set(staging.rglob("*")) if staging.exists() else set()
    built = build(app, tmp_path)
    yield built
    for w in built.values():
        for path in w.outbox:
            path.unlink(missing_ok=True)
        for path in w.staging.values():
            shutil.rmtree(path, ignore_errors=True)
    for path in sorted(set(staging.rglob("*")) - before, reverse=True):
        if path.is_file():
            path.unlink(missing_ok=True)


@pytest.fixture
def redis_untouched(app):
    """Jobs the requests hand to RQ are taken off again (their rows are rolled back)."""
    with app.app_context():
        client = redis_connection.client()
        before = set(client.keys("*"))
        ids_before = {name: set(redis_connection.queue(name).job_ids) for name in QUEUE_NAMES}
    yield
    with app.app_context():
        client = redis_connection.client()
        for name in QUEUE_NAMES:
            queue = redis_connection.queue(name)
            for job_id in set(queue.job_ids) - ids_before[name]:
                queue.remove(job_id)
        new = set(client.keys("*")) - before
        if new:
            client.delete(*new)


@pytest.mark.timeout(600)  # thousands of requests: a loaded CI machine, not a hang
def test_every_route_in_every_state_answers_without_error(app, worlds, tmp_path):
    crawler = crawl(app, worlds, tmp_path, every=False)
    report(crawler)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # tens of thousands of requests: 18 minutes on a busy machine
def test_every_route_with_every_object_and_hostile_forms_as_everyone(app, worlds, tmp_path):
    crawler = crawl(app, worlds, tmp_path, every=True)
    report(crawler)


def test_a_route_variable_the_crawler_cannot_fill_is_named(app):
    """A new URL variable fails the crawl with what to add, rather than being skipped."""
    from werkzeug.routing import Map, Rule

    rule = Rule("/things/<int:thing_id>", endpoint="things.show")
    Map([rule])  # a rule knows its variables once bound
    fake = Principal("alpha admin", None, "admin", None)
    with pytest.raises(AssertionError, match="add it to VARIABLE_KINDS"):
        list(combinations("things.show", rule, fake, {"alpha": None}, Reach(0, 0, 0)))
