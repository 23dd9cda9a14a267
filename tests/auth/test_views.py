from tests.conftest import PASSWORD, csrf_from, login


def test_login_page_shows_the_form(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html and "csrf_token" in html


def test_admin_logs_in_and_reaches_the_pool_grid(client, make_account):
    make_account("acme")
    response = login(client, "admin@acme.test")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/pools")
    page = client.get("/pools").get_data(as_text=True)
    assert 'data-testid="pool-grid"' in page
    assert "Inactive" in page  # every account has its system pool


def test_wrong_password_is_refused_with_a_sentence(client, make_account):
    make_account("acme")
    response = login(client, "admin@acme.test", "not the password")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/pools").status_code == 302  # still logged out


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, make_account):
    make_account("acme")
    response = login(client, "nobody@acme.test", PASSWORD)
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)


def test_inactive_user_cannot_log_in(client, make_account, make_user):
    account_id = make_account("acme")
    make_user(account_id, "gone@acme.test", active=False)
    response = login(client, "gone@acme.test")
    assert response.status_code == 401
    assert "deactivated" in response.get_data(as_text=True)
    assert client.get("/pools").status_code == 302


def test_login_post_without_csrf_token_is_refused(client, make_account):
    make_account("acme")
    response = client.post("/login", data={"email": "admin@acme.test", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/pools").status_code == 302


def test_logout_needs_post_with_token(admin_client):
    assert admin_client.get("/logout").status_code == 405
    assert admin_client.post("/logout").status_code == 400  # no CSRF token
    token = csrf_from(admin_client, "/pools")
    response = admin_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert admin_client.get("/pools").status_code == 302


def test_next_parameter_never_leaves_the_site(client, make_account):
    make_account("acme")
    token = csrf_from(client, "/login")
    response = client.post(
        "/login?next=//evil.example/x",
        data={"email": "admin@acme.test", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/pools")


def test_pages_need_a_login(client):
    for path in ("/pools", "/imports", "/leads", "/dedup", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_failed_logins_are_rate_limited_per_address_and_email(client, make_account):
    make_account("limits", admin_email="boss@limits.test")
    for _ in range(5):
        assert login(client, "boss@limits.test", "wrong password").status_code == 401
    refused = login(client, "boss@limits.test", PASSWORD)  # even the right one, for now
    assert refused.status_code == 429
    assert b"Too many failed logins. Wait a few minutes, then try again." in refused.data
    # another email from the same address is not locked out by someone else's attempts
    assert login(client, "nobody@limits.test", "wrong password").status_code == 401


def test_successful_logins_do_not_count_towards_the_limit(client, make_account):
    make_account("many", admin_email="boss@many.test")
    for _ in range(7):
        assert login(client, "boss@many.test", PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_from(client, "/pools")})
