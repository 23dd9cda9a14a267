"""The local SMTP sink keeps every message it receives as an .eml file."""

import email
import email.policy
import smtplib
from email.message import EmailMessage

import pytest

from leadapp.mailsink import start_sink
from tests.conftest import free_port


@pytest.fixture
def sink(tmp_path):
    outbox = tmp_path / "outbox"
    controller = start_sink(outbox, port=free_port())
    yield controller, outbox
    controller.stop()


def _send(port, to, subject="Hello", body="Hi there.\n", cc=None):
    msg = EmailMessage()
    msg["From"] = "LeadApp <leadapp@localhost>"
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)


def test_a_sent_message_becomes_an_eml_file(sink):
    controller, outbox = sink
    _send(controller.port, "agent@acme.test", subject="Your import finished", body="12 rows.\n")
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1
    assert not list(outbox.glob("*.part"))
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "agent@acme.test"
    assert msg["Subject"] == "Your import finished"
    assert msg.get_content().strip() == "12 rows."


def test_every_message_gets_its_own_file(sink):
    controller, outbox = sink
    for i in range(3):
        _send(controller.port, f"u{i}@acme.test", subject=f"n{i}")
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 3
    subjects = {
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Subject"]
        for f in files
    }
    assert subjects == {"n0", "n1", "n2"}


def test_the_outbox_folder_is_created(tmp_path):
    outbox = tmp_path / "deep" / "outbox"
    controller = start_sink(outbox, port=free_port())
    try:
        assert outbox.is_dir()
    finally:
        controller.stop()
