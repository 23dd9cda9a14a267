"""Failed-login limits (issue 16 item 4): per client address across emails as well as per
address and email; behind a trusted proxy each client is limited by its own forwarded
address, a forwarded header from anyone else is ignored; a locked email tells its owner."""

import itertools

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from leadapp.extensions import redis_connection
from tests.conftest import PASSWORD, csrf_from

# Each test its own addresses: the limits live in Redis for the whole run.
_addresses = (f"198.51.100.{n}" for n in itertools.count(10))


def _client(app, address, forwarded=None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return client


WRONG = "wrong password"


def _login(client, email, password=WRONG):
    token = csrf_from(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def mail_queue(app):
    with app.app_context():
        queue = Queue("mail", connection=redis_connection.client(), serializer=JSONSerializer)
    queue.empty()
    yield queue
    queue.empty()


def test_one_address_spraying_many_emails_meets_a_429(app, make_account):
    make_account("spray")
    client = _client(app, next(_addresses))
    answers = [_login(client, f"user{n}@spray.test").status_code for n in range(40)]
    assert answers[0] == 401
    assert 429 in answers
    first = answers.index(429)
    assert first == 20  # LOGIN_ADDRESS_RATE_LIMIT: 20 failures a minute
    assert set(answers[first:]) == {429}
    refused = _login(client, "admin@spray.test", PASSWORD)  # the right password too, for now
    assert refused.status_code == 429
    assert "Too many failed logins from your network" in refused.get_data(as_text=True)
    # Another address is not locked out by this one.
    assert _login(_client(app, next(_addresses)), "admin@spray.test", PASSWORD).status_code == 302


@pytest.fixture
def proxied_app(app_environ):
    from leadapp import create_app

    return create_app(
        "testing", environ={**app_environ, "TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16"}
    )


def test_behind_a_trusted_proxy_clients_are_limited_by_their_own_address(proxied_app, make_account):
    make_account("proxied")
    one = _client(proxied_app, "10.0.0.5", forwarded=next(_addresses))
    two_address = next(_addresses)
    two = _client(proxied_app, "10.0.0.5", forwarded=two_address)
    for _ in range(5):
        assert _login(one, "admin@proxied.test").status_code == 401
    assert _login(one, "admin@proxied.test", PASSWORD).status_code == 429
    # The other client behind the same proxy may still log in as the same email.
    assert _login(two, "admin@proxied.test", PASSWORD).status_code == 302
    # A proxy in a trusted network counts too; the session shows the client's address.
    three_address = next(_addresses)
    three = _client(proxied_app, "10.1.2.3", forwarded=f"{three_address}")
    assert _login(three, "admin@proxied.test", PASSWORD).status_code == 302
    sessions = three.get("/settings/sessions").get_data(as_text=True)
    assert two_address in sessions and three_address in sessions and "10.0.0.5" not in sessions


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(proxied_app, app, make_account):
    make_account("spoof")
    peer = next(_addresses)
    for n in range(5):
        # A new forwarded address each time: were it believed, no limit would ever hold.
        client = _client(proxied_app, peer, forwarded=f"203.0.113.{n}")
        assert _login(client, "admin@spoof.test").status_code == 401
    last = _client(proxied_app, peer, forwarded="203.0.113.99")
    assert _login(last, "admin@spoof.test", PASSWORD).status_code == 429
    # Without TRUSTED_PROXIES nobody's forwarded header is believed.
    peer = next(_addresses)
    for n in range(5):
        client = _client(app, peer, forwarded=f"203.0.113.{n}")
        assert _login(client, "admin@spoof.test").status_code == 401
    assert _login(_client(app, peer), "admin@spoof.test", PASSWORD).status_code == 429


def test_a_locked_email_tells_its_owner_once(app, make_account, mail_queue):
    make_account("locked", admin_email="boss@locked.test")
    address = next(_addresses)
    client = _client(app, address)
    client.environ_base["HTTP_HOST"] = "evil.example"  # the attacker's Host header
    for _ in range(5):
        assert _login(client, "boss@locked.test").status_code == 401
    assert mail_queue.count == 0
    for _ in range(3):
        assert _login(client, "boss@locked.test").status_code == 429
    (job,) = mail_queue.get_jobs()
    to, subject, text, _html, _delivery = job.args
    assert to == ["boss@locked.test"]
    assert subject == "LeadApp: logins to your account are paused after failed attempts"
    assert address in text and "tell your administrator" in text
    assert "evil.example" not in text + _html  # no link built from the attacker's request
    # An unknown email is locked too, and nobody is written to.
    for _ in range(6):
        _login(client, "nobody@locked.test")
    assert mail_queue.count == 1
