"""Numbers in URLs (leadapp/routing.py): an id past an INTEGER column (2**31 - 1, PostgreSQL's
limit) names no object (404, never a database error), and ``?page=`` stays a page a query
can ask for."""

from __future__ import annotations

import pytest

from leadapp.models.base import ID_MAX, is_id
from tests.conftest import csrf_from


@pytest.mark.parametrize("number", [ID_MAX + 1, 2**63, 2**64, 10**40])
def test_an_id_too_large_for_a_column_is_not_found(admin_client, number):
    assert admin_client.get(f"/leads/{number}").status_code == 404
    assert admin_client.get(f"/pools/{number}").status_code == 404
    token = csrf_from(admin_client, "/leads")
    response = admin_client.post(f"/leads/{number}/delete", data={"csrf_token": token})
    assert response.status_code == 404


def test_the_largest_id_a_column_holds_is_looked_up(admin_client):
    assert admin_client.get(f"/leads/{ID_MAX}").status_code == 404  # no such lead, no error


@pytest.mark.parametrize("page", [str(2**63), str(2**64), "-5", "abc"])
def test_a_page_number_out_of_range_shows_a_page(admin_client, page):
    for path in ("/leads", "/leads/do-not-call", "/dedup"):
        assert admin_client.get(f"{path}?page={page}").status_code == 200, path


def test_ids_are_positive_64_bit_integers():
    assert is_id(1) and is_id(ID_MAX)
    assert not any(is_id(v) for v in (0, -1, ID_MAX + 1, 2**63, True, "1", None, 1.0))
