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
