"""Error pages for people, short text for htmx requests (shown in the page's modal)."""

from tests.conftest import csrf_from, login

HX = {"HX-Request": "true"}
NOT_FOUND = "This page or record does not exist, or it belongs to another account."


def test_404_is_the_friendly_page(admin_client):
    response = admin_client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<p class="lead" data-testid="error-message">{NOT_FOUND}</p>' in html
    assert 'href="/pools"' in html and "Back to lead pools" in html
    assert 'data-testid="whoami"' in html  # the normal layout, navigation included


def test_404_page_works_when_logged_out(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert NOT_FOUND in response.get_data(as_text=True)


def test_missing_record_is_the_same_friendly_page(admin_client):
    response = admin_client.get("/leads/999999")
    assert response.status_code == 404
    assert NOT_FOUND in response.get_data(as_text=True)


def test_htmx_request_to_a_missing_page_gets_plain_text(admin_client):
    response = admin_client.get("/no/such/page", headers=HX)
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == NOT_FOUND


def test_htmx_403_is_plain_text(client, make_account, make_user):
    account_id = make_account("acme")
    make_user(account_id, "sup@acme.test", role="supervisor")
    login(client, "sup@acme.test")
    response = client.get("/admin/users", headers=HX)
    assert response.status_code == 403
    assert response.mimetype == "text/plain"
    assert "Your role does not allow this." in response.get_data(as_text=True)


def test_htmx_post_with_a_bad_csrf_token_is_400_text(admin_client):
    response = admin_client.post("/pools/refresh-counts", headers={**HX, "X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == (
        "Your form expired or was not sent from this site. Reload the page."
    )
    response = admin_client.post("/pools/refresh-counts", headers=HX)
    assert response.status_code == 400 and response.mimetype == "text/plain"


def test_htmx_post_with_the_right_token_gets_through(admin_client):
    token = csrf_from(admin_client, "/pools")
    response = admin_client.post("/admin/users", headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 422  # past CSRF: the empty form is refused by validation


def test_a_bad_csrf_token_on_a_normal_form_is_the_friendly_page(admin_client):
    response = admin_client.post("/admin/users", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Your form expired" in response.get_data(as_text=True)


def test_wrong_method_is_405(admin_client):
    response = admin_client.get("/pools/refresh-counts", headers=HX)
    assert response.status_code == 405
    assert response.get_data(as_text=True) == "This action is not available here."


def test_a_locked_database_is_a_503_sentence_and_the_app_keeps_serving(
    committed, app_environ, make_account
):
    import sqlite3

    import pytest

    from leadapp import create_app
    from tests.conftest import csrf_from, login

    url = app_environ["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's single writer lock; PostgreSQL takes row locks instead")
    make_account("acme")
    impatient = create_app("testing", environ={**app_environ, "SQLITE_TIMEOUT_SECONDS": "0.1"})
    client = impatient.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    token = csrf_from(client, "/pools")
    holder = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the writer lock
    try:
        busy = client.post(
            "/pools/views",
            data={"name": "Mine", "csrf_token": token},
            headers={"HX-Request": "true"},
        )
    finally:
        holder.rollback()
        holder.close()
    assert busy.status_code == 503
    assert "The database is busy or unreachable right now. Nothing was saved" in busy.text
    assert client.get("/pools").status_code == 200
