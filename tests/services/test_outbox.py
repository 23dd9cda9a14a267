"""Reading the sink's outbox: filtered by the account each message was recorded for when it
was written (issue 16: never by recipient), never outside the folder."""

import os
import shutil
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from leadapp.mailsink import start_sink
from leadapp.services.outbox import list_messages, read_message
from tests.conftest import free_port


def _message(to, subject, body="Hello.\n", cc=None, html=None, message_id=None):
    msg = EmailMessage()
    msg["Message-ID"] = message_id or f"<{subject.replace(' ', '-')}@test.local>"
    msg["From"] = "LeadApp <leadapp@localhost>"
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = "Mon, 03 Mar 2025 10:00:00 +0000"
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def _send(port, msg):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)


@pytest.fixture
def sink(tmp_path):
    outbox = tmp_path / "outbox"
    controller = start_sink(outbox, port=free_port())
    yield controller.port, outbox
    controller.stop()


def _only(*ids):
    """The ``mine`` of an account whose messages are ``ids``."""
    return lambda asked: set(asked) & set(ids)


def test_list_messages_lists_the_accounts_own_messages(sink):
    port, outbox = sink
    _send(port, _message("Agent <Agent@Acme.test>", "For acme", message_id="<a1@t>"))
    _send(port, _message("boss@other.test", "For other", message_id="<o1@t>"))
    _send(port, _message("agent@acme.test", "Other's, to acme's address", message_id="<o2@t>"))
    found = list_messages(str(outbox), _only("<a1@t>"))
    assert [m["subject"] for m in found] == ["For acme"]
    assert {m["name"] for m in found} <= {p.name for p in outbox.glob("*.eml")}
    others = list_messages(str(outbox), _only("<o1@t>", "<o2@t>"))
    assert sorted(m["subject"] for m in others) == ["For other", "Other's, to acme's address"]
    assert list_messages(str(outbox), _only()) == []


def test_list_messages_newest_first_with_a_limit(sink):
    port, outbox = sink
    for i in range(3):
        _send(port, _message("a@acme.test", f"m{i}", message_id=f"<m{i}@t>"))
    # File times decide the order; make them distinct.
    paths = {read_message(str(outbox), p.name)["subject"]: p for p in outbox.glob("*.eml")}
    now = time.time()
    for i in range(3):
        os.utime(paths[f"m{i}"], (now - 100 + i * 10, now - 100 + i * 10))
    mine = _only("<m0@t>", "<m1@t>", "<m2@t>")
    found = list_messages(str(outbox), mine)
    assert [m["subject"] for m in found] == ["m2", "m1", "m0"]
    assert [m["subject"] for m in list_messages(str(outbox), mine, limit=2)] == ["m2", "m1"]
    assert [m["subject"] for m in list_messages(str(outbox), _only("<m0@t>"), limit=1)] == ["m0"]


def test_missing_outbox_is_an_empty_list(tmp_path):
    assert list_messages(str(tmp_path / "nope"), _only("<x@t>")) == []


def test_read_message_gives_text_and_html(sink):
    port, outbox = sink
    _send(port, _message("a@acme.test", "Both", body="Plain body.\n", html="<p>Rich body.</p>"))
    (path,) = outbox.glob("*.eml")
    message = read_message(str(outbox), path.name)
    assert message["subject"] == "Both"
    assert message["recipients"] == ["a@acme.test"]
    assert message["text"].strip() == "Plain body."
    assert "<p>Rich body.</p>" in message["html"]


def test_read_message_refuses_names_outside_the_outbox(tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    secret = tmp_path / "secret.eml"
    secret.write_bytes(bytes(_message("a@acme.test", "Secret")))
    (outbox / "notes.txt").write_text("not mail")
    (outbox / "ok.eml").write_bytes(bytes(_message("a@acme.test", "Fine")))
    assert read_message(str(outbox), "ok.eml")["subject"] == "Fine"
    for name in ("../secret.eml", str(secret), "..", "notes.txt", "missing.eml", "./../secret.eml"):
        assert read_message(str(outbox), name) is None, name


# --- the admin page -----------------------------------------------------------------------


@pytest.fixture
def app_outbox(app):
    outbox = Path(app.config["OUTBOX_DIR"])
    assert outbox.is_relative_to(Path(app.instance_path))
    shutil.rmtree(outbox, ignore_errors=True)
    outbox.mkdir(parents=True)
    yield outbox
    shutil.rmtree(outbox, ignore_errors=True)


def _write(outbox: Path, name: str, msg: EmailMessage) -> None:
    (outbox / name).write_bytes(bytes(msg))


def _record(app, account_id, message_id):
    from leadapp.extensions import db
    from leadapp.security import account_scope
    from leadapp.services.mail import record_outbox_message

    with app.app_context(), account_scope(account_id):
        record_outbox_message(account_id, message_id)
        db.session.commit()


@pytest.fixture
def mail_queue(app):
    """Creating a user queues a welcome email: a later worker test must not send it."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    from leadapp.extensions import redis_connection

    with app.app_context():
        queue = Queue("mail", connection=redis_connection.client(), serializer=JSONSerializer)
    yield queue
    queue.empty()


def test_outbox_page_lists_only_the_accounts_messages_whatever_users_it_creates(
    app, admin_client, app_outbox, make_account, make_user, mail_queue
):
    """Issue 16 item 3: admin A creates a user with the external address account B sent
    its import summary to, and still cannot read B's message."""
    from leadapp.models import Account, User
    from tests.conftest import csrf_from

    with app.app_context():
        import sqlalchemy as sa

        from leadapp.extensions import db

        acme = db.session.scalar(sa.select(Account.id).where(Account.slug == "acme"))
    other = make_account("other")
    make_user(other, "agent@other.test")
    _write(app_outbox, "1-own.eml", _message("admin@acme.test", "Welcome to Acme"))
    _write(app_outbox, "2-other.eml", _message("partner@crm.example", "Other's import summary"))
    _write(app_outbox, "3-unknown.eml", _message("admin@acme.test", "Never recorded"))
    _record(app, acme, "<Welcome-to-Acme@test.local>")
    _record(app, other, "<Other's-import-summary@test.local>")
    created = admin_client.post(
        "/admin/users",
        data={
            "name": "Partner",
            "email": "partner@crm.example",
            "role": "supervisor",
            "password": "a long enough password",
            "csrf_token": csrf_from(admin_client, "/admin/users"),
        },
    )
    assert created.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(sa.select(User.account_id).where(User.email == "partner@crm.example"))
            == acme
        )
    admin_client.get("/admin/users")  # shows (and uses up) the "can now log in" message
    html = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert "Welcome to Acme" in html
    assert "import summary" not in html and "partner@crm.example" not in html
    assert "Never recorded" not in html

    response = admin_client.get("/admin/outbox/1-own.eml")
    assert response.status_code == 200
    assert "Hello." in response.get_data(as_text=True)
    assert admin_client.get("/admin/outbox/2-other.eml").status_code == 404
    assert admin_client.get("/admin/outbox/3-unknown.eml").status_code == 404
    assert admin_client.get("/admin/outbox/missing.eml").status_code == 404


def test_outbox_page_shows_mail_delivered_through_the_sink(app, admin_client, app_outbox):
    controller = start_sink(app_outbox, port=free_port())
    try:
        _send(controller.port, _message("admin@acme.test", "Import <done>", message_id="<d@t>"))
    finally:
        controller.stop()
    with app.app_context():
        import sqlalchemy as sa

        from leadapp.extensions import db
        from leadapp.models import Account

        acme = db.session.scalar(sa.select(Account.id).where(Account.slug == "acme"))
    _record(app, acme, "<d@t>")
    html = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert "Import &lt;done&gt;" in html and "Import <done>" not in html


def test_outbox_page_is_empty_without_mail(admin_client, app_outbox):
    html = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert "The outbox is empty." in html
