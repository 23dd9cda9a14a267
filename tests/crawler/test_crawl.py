"""The crawler's own parse cache: a page is skipped only when a page of the same skeleton
parsed already, and a page that breaks the markup is always parsed (and fails)."""

import pytest
from html5lib.html5parser import ParseError

from tests.crawler import crawl


def page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"


def test_a_page_of_a_skeleton_parsed_before_is_not_parsed_again(monkeypatch):
    monkeypatch.setattr(crawl, "_PARSED", {})
    monkeypatch.setattr(crawl, "_SKELETONS", set())
    parsed = []
    real = crawl._parse
    monkeypatch.setattr(
        crawl, "_parse", lambda text, fragment: parsed.append(text) or real(text, fragment)
    )

    crawl.parse_html(page('<p class="a">Pool 1</p>'), False, tree_wanted=False)
    crawl.parse_html(page('<p class="b">Pool 22 &amp; more</p>'), False, tree_wanted=False)
    assert len(parsed) == 1
    # A tree asked for is the page's own: parsed.
    tree = crawl.parse_html(page('<p class="b">Pool 22 &amp; more</p>'), False)
    assert len(parsed) == 2 and tree.find(".//p").get("class") == "b"


def test_a_page_that_breaks_the_markup_is_parsed_and_fails(monkeypatch):
    monkeypatch.setattr(crawl, "_PARSED", {})
    monkeypatch.setattr(crawl, "_SKELETONS", set())
    crawl.parse_html(page('<p title="x">ok</p>'), False, tree_wanted=False)
    with pytest.raises(ParseError):
        crawl.parse_html(page('<p title="x">ok</p></div>'), False, tree_wanted=False)
    with pytest.raises(ParseError):
        # A value that leaks out of its attribute changes the skeleton.
        crawl.parse_html(page('<p title="x" y"z">ok</p>'), False, tree_wanted=False)


@pytest.mark.database
def test_requests_rolled_back_leave_postgresql_no_lock_behind(
    app, make_account, make_user, tmp_path
):
    """Each request runs in a savepoint rolled back after it. ROLLBACK TO keeps the
    savepoint, so without its release every request nested one level deeper and PostgreSQL
    kept a lock per written level: the slow crawl filled the server's lock table ("out of
    shared memory") after about 10,000 requests, failing itself and every other client."""
    import sqlalchemy as sa

    from leadapp.extensions import db
    from leadapp.models import User
    from leadapp.services import api_tokens
    from tests.crawler.populate import World

    with app.app_context():
        connection = db.session.bind
        if connection.dialect.name != "postgresql":
            pytest.skip("the lock table is PostgreSQL's (CI's second pass)")
        account_id = make_account()
        user_id = make_user(account_id, "crawler@acme.test", role="admin")
        _, secret = api_tokens.create_token(db.session.get(User, user_id), "crawler")
        db.session.commit()
    world = World("acme", "ACME", account_id, {}, tokens={"admin": secret})
    who = crawl.Principal("acme admin", world, "admin", app.test_client())
    crawler = crawl.Crawler(app, connection, {}, tmp_path)

    def locks_held() -> int:
        sql = "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()"
        return connection.execute(sa.text(sql)).scalar()

    try:
        # Each writes (the token's last use), then is refused (404) and rolled back.
        crawler.request("api.not_found", "GET", "/api/v1/nothing", who, "first", api=True)
        before = locks_held()
        for i in range(20):
            crawler.request("api.not_found", "GET", "/api/v1/nothing", who, str(i), api=True)
        assert locks_held() == before
    finally:
        crawler.close()
