"""Email goes through the mail queue and a real SMTP server (aiosmtpd)."""

import subprocess
import sys

from rq.job import Job
from rq.serializers import JSONSerializer

from leadapp.extensions import redis_connection
from leadapp.services.mail import queue_email, render_email
from tests.conftest import ROOT, free_port, process_env


def _welcome(app, to="new.agent@acme.test"):
    with app.test_request_context():
        return queue_email(
            to,
            "welcome",
            name="New Agent",
            email=to,
            role="supervisor",
            account_name="Acme <Sales>",
            inviter="Dana",
            login_url="http://127.0.0.1:5000/login",
        )


def test_email_is_delivered_to_a_real_smtp_server(app, smtp_server, run_worker):
    before = len(smtp_server.handler.messages)
    rq_job = _welcome(app)
    assert rq_job.origin == "mail"

    result = run_worker()
    assert result.returncode == 0, result.stdout

    arrived = smtp_server.handler.messages[before:]
    assert len(arrived) == 1
    message = arrived[0]["message"]
    assert arrived[0]["rcpt"] == ["new.agent@acme.test"]
    assert message["Subject"] == "Your LeadApp login for Acme <Sales>"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Dana added you to Acme <Sales>" in text
    assert "Acme &lt;Sales&gt;" in html  # HTML is escaped, text is not


def test_unreachable_smtp_server_means_a_retry_not_a_lost_email(app, app_environ):
    rq_job = _welcome(app, "retry@acme.test")
    env = process_env({**app_environ, "MAIL_PORT": str(free_port())})  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with app.app_context():
        conn = redis_connection.client()
        job = Job.fetch(rq_job.id, connection=conn, serializer=JSONSerializer)
        assert job.get_status() == "scheduled"  # RQ will try again later
        assert job.retries_left == 2
        job.cancel()
        job.delete()


def test_every_email_template_has_a_subject_line(app):
    with app.test_request_context():
        subject, text, html = render_email(
            "welcome",
            name="A",
            email="a@x.test",
            role="admin",
            account_name="X",
            inviter="B",
            login_url="http://x/login",
        )
    assert subject.startswith("Your LeadApp login")
    assert not text.startswith("Subject:") and "<p>" in html


def test_a_hanging_smtp_server_times_out_and_the_email_is_retried(app, app_environ):
    """A server that accepts the connection and never says a word: the send gives up after
    MAIL_TIMEOUT (not RQ's minute), and RQ schedules the email again."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts (the kernel does), never answers
    try:
        rq_job = _welcome(app, "hanging@acme.test")
        env = process_env(
            {**app_environ, "MAIL_PORT": str(silent.getsockname()[1]), "MAIL_TIMEOUT": "1"}
        )
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 30  # gave up long before RQ's 60 s limit
        assert "timed out" in result.stderr + result.stdout
    finally:
        silent.close()
    with app.app_context():
        job = Job.fetch(rq_job.id, connection=redis_connection.client(), serializer=JSONSerializer)
        assert job.get_status() == "scheduled"
        assert job.retries_left == 2
        job.cancel()
        job.delete()
