"""Email goes through the mail queue and a real SMTP server (aiosmtpd); results emails
say on their import's or dedup job's page whether they are pending, sent or failed."""

import datetime as dt
import html
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from rq.job import Job
from rq.serializers import JSONSerializer

from leadapp.domain.leadgen import generate
from leadapp.extensions import db, redis_connection
from leadapp.models import (
    Account,
    Campaign,
    DedupJob,
    EmailDelivery,
    Import,
    Lead,
    LeadPool,
    User,
)
from leadapp.security import account_scope
from leadapp.services import jobs as job_rows
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import read as import_read
from leadapp.services.mail import queue_email, render_email
from leadapp.tasks import dispatch
from leadapp.tasks.dedup import dedup_test_run
from leadapp.tasks.imports import run_import
from tests.conftest import free_port, login, process_env
from tests.processes import burst_worker


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
    result = burst_worker(env)
    assert result.returncode == 0, result.stdout
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
        result = burst_worker(env)
        assert result.returncode == 0, result.stdout
        assert time.monotonic() - started < 30  # gave up long before RQ's 60 s limit
        assert "timed out" in result.stdout
    finally:
        silent.close()
    with app.app_context():
        job = Job.fetch(rq_job.id, connection=redis_connection.client(), serializer=JSONSerializer)
        assert job.get_status() == "scheduled"
        assert job.retries_left == 2
        job.cancel()
        job.delete()


# ---------------------------------------------------------------------------------------
# Results emails are tracked, and the pages that report the results say what became of
# them: an import's summary (its page), a dedup job's test run and run (the job's page).

ODD_ADDRESS = "o'brien&co@acme.test"  # a valid address that must be escaped in HTML


def burst(app_environ, **env) -> None:
    """One real worker in burst mode with ``env`` over the test app's environment."""
    out = burst_worker(process_env({**app_environ, **env}))
    assert out.returncode == 0, out.stdout


def retry_now(app, delivery_id: int) -> int:
    """Make RQ's scheduled retry of delivery ``delivery_id`` due now (instead of 10 s, 60 s
    or 5 min later) and return how many retries RQ has left for it; other mail is left."""
    with app.app_context():
        registry = redis_connection.queue("mail").scheduled_job_registry
        client = redis_connection.client()
        ours = [
            job
            for job in Job.fetch_many(
                registry.get_job_ids(), connection=client, serializer=JSONSerializer
            )  # fmt: skip
            if job is not None and job.args[4:5] == [delivery_id]
        ]
        assert len(ours) == 1, "no retry of this email is scheduled"
        registry.requeue(ours[0])
        return ours[0].retries_left


def delivery_of(app, account_id: int, **about) -> EmailDelivery:
    with app.app_context(), account_scope(account_id):
        (delivery,) = db.session.scalars(sa.select(EmailDelivery).filter_by(**about)).all()
        db.session.expunge(delivery)
        return delivery


def email_states(client, url: str) -> tuple[str, str]:
    """The email lines of a page: as shown (unescaped) and as sent (raw HTML)."""
    page = client.get(url)
    assert page.status_code == 200
    raw = page.get_data(as_text=True)
    lines = re.findall(r'<li class="email-state[^>]*>(.*?)</li>', raw, re.DOTALL)
    assert lines, f"no email state on {url}"
    shown = " ".join(" ".join(re.sub(r"<[^>]+>", " ", line).split()) for line in lines)
    return html.unescape(shown), raw


@pytest.fixture
def acme(committed, make_account, runner):
    """Account acme (committed: the worker sees it) with the campaign Spring, its admin
    logged in; returns (account id, client)."""
    account_id = make_account("acme")
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", "Spring", "--region", "US"]
    )
    assert result.exit_code == 0, result.output
    client = committed.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    return account_id, client


def test_an_import_summary_shows_its_email_pending_then_sent(
    committed, acme, app_environ, smtp_server, tmp_path
):
    """SMTP down when the import ends: the leads are in, the page says the summary email
    is pending and why; once the server is back and RQ's retry went out, it says sent."""
    app = committed
    account_id, client = acme
    path = tmp_path / "summer.csv"
    generate(200, path, seed=3)
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring"))
        imp = import_read.create_import(
            account, admin, campaign, pool_name="Summer",
            settings={"notify_me": True, "notify_emails": [ODD_ADDRESS]},
        )  # fmt: skip
        info = import_read.attach_file(imp, path, path.name)
        import_mapping.set_mapping(imp, import_mapping.suggest(imp, info), info.headers)
        job = job_rows.create_job(account_id, "import", "Import summer.csv", "imports")
        imp.job_id, imp.status = job.id, "queued"
        db.session.commit()
        dispatch(job, run_import, imp.id)
        import_id = imp.id
    down = free_port()  # nothing listens there
    burst(app_environ, MAIL_PORT=str(down))

    with app.app_context(), account_scope(account_id):
        assert db.session.get(Import, import_id).status == "completed"
    delivery = delivery_of(app, account_id, import_id=import_id)
    assert (delivery.status, delivery.tries, delivery.template) == ("pending", 1, "import_done")
    assert delivery.recipients == ["admin@acme.test", ODD_ADDRESS]
    shown, raw = email_states(client, f"/imports/{import_id}")
    assert shown == (
        "Summary email: Email pending (will retry); the last try failed: The mail server at "
        f"127.0.0.1:{down} could not be reached; ask your administrator to check that it is "
        f"running and the mail settings. — to admin@acme.test, {ODD_ADDRESS}"
    )
    assert "o&#39;brien&amp;co@acme.test" in raw and ODD_ADDRESS not in raw

    before = len(smtp_server.handler.messages)
    assert retry_now(app, delivery.id) == 2
    burst(app_environ)  # the real SMTP server again
    arrived = [
        m for m in smtp_server.handler.messages[before:]
        if str(m["message"]["Subject"]).startswith("Import finished: summer.csv")
    ]  # fmt: skip
    assert len(arrived) == 1 and sorted(arrived[0]["rcpt"]) == sorted(delivery.recipients)
    delivery = delivery_of(app, account_id, import_id=import_id)
    assert (delivery.status, delivery.tries, delivery.error) == ("sent", 2, None)
    shown, _ = email_states(client, f"/imports/{import_id}")
    assert shown == (
        f"Summary email: Email sent at {shown_time(app, account_id, delivery.sent_at)} "
        f"— to admin@acme.test, {ODD_ADDRESS}"
    )


def shown_time(app, account_id: int, when: dt.datetime) -> str:
    """A stored UTC time as the pages show it: in the account's zone."""
    with app.app_context():
        zone = ZoneInfo(db.session.get(Account, account_id).timezone)
    return when.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@pytest.fixture
def dedup_job(acme, committed):
    """A dedup job of acme over 2 phones × 2 copies, emailing two addresses."""
    account_id, client = acme
    with committed.app_context(), account_scope(account_id):
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        for phone in ["+14155550301", "+14155550302"] * 2:
            db.session.add(Lead(pool_id=pool.id, phone1=phone))
        job = DedupJob(name=f"Tidy {uuid.uuid4().hex[:8]}", emails=["ops@acme.test", ODD_ADDRESS])
        db.session.add(job)
        db.session.commit()
        return account_id, client, job.id


def start_test_run(app, account_id: int, job_id: int) -> None:
    with app.app_context(), account_scope(account_id):
        row = job_rows.create_job(account_id, "dedup_test", "Dedup test run", "dedup")
        db.session.get(DedupJob, job_id).job_id = row.id
        db.session.commit()
        dispatch(row, dedup_test_run, job_id)


def test_a_dedup_test_run_shows_its_email_pending_then_sent(
    committed, dedup_job, app_environ, smtp_server
):
    app = committed
    account_id, client, job_id = dedup_job
    start_test_run(app, account_id, job_id)
    down = free_port()
    burst(app_environ, MAIL_PORT=str(down))

    with app.app_context(), account_scope(account_id):
        assert db.session.get(DedupJob, job_id).status == "tested"
    delivery = delivery_of(app, account_id, dedup_job_id=job_id)
    assert (delivery.status, delivery.tries, delivery.template) == ("pending", 1, "dedup_test_run")
    shown, raw = email_states(client, f"/dedup/{job_id}")
    assert shown == (
        "Test run email: Email pending (will retry); the last try failed: The mail server at "
        f"127.0.0.1:{down} could not be reached; ask your administrator to check that it is "
        f"running and the mail settings. — to ops@acme.test, {ODD_ADDRESS}"
    )
    assert "o&#39;brien&amp;co@acme.test" in raw and ODD_ADDRESS not in raw

    before = len(smtp_server.handler.messages)
    retry_now(app, delivery.id)
    burst(app_environ)
    assert len([m for m in smtp_server.handler.messages[before:] if ODD_ADDRESS in m["rcpt"]]) == 1
    delivery = delivery_of(app, account_id, dedup_job_id=job_id)
    assert (delivery.status, delivery.tries) == ("sent", 2)
    shown, _ = email_states(client, f"/dedup/{job_id}")
    assert shown == (
        f"Test run email: Email sent at {shown_time(app, account_id, delivery.sent_at)} "
        f"— to ops@acme.test, {ODD_ADDRESS}"
    )


def test_an_email_whose_last_try_fails_shows_failed_with_the_reason(
    committed, dedup_job, app_environ
):
    """A server that never answers, four times (the first try and RQ's three retries): the
    row says failed after 4 tries, why, and RQ gives up too."""
    import socket

    app = committed
    account_id, client, job_id = dedup_job
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts (the kernel does), never answers
    port = silent.getsockname()[1]
    try:
        start_test_run(app, account_id, job_id)
        burst(app_environ, MAIL_PORT=str(port), MAIL_TIMEOUT="1")
        delivery = delivery_of(app, account_id, dedup_job_id=job_id)
        for tries in (1, 2, 3):
            assert (delivery.status, delivery.tries) == ("pending", tries)
            assert retry_now(app, delivery.id) == 3 - tries
            burst(app_environ, MAIL_PORT=str(port), MAIL_TIMEOUT="1")
            delivery = delivery_of(app, account_id, dedup_job_id=job_id)
    finally:
        silent.close()
    assert (delivery.status, delivery.tries) == ("failed", 4)
    sentence = (
        f"The mail server at 127.0.0.1:{port} did not answer in time; "
        "ask your administrator to check that it is working."
    )
    assert delivery.error == sentence
    shown, _ = email_states(client, f"/dedup/{job_id}")
    assert shown == (
        f"Test run email: Email failed after 4 tries: {sentence} — to ops@acme.test, {ODD_ADDRESS}"
    )
    with app.app_context():
        failed = redis_connection.queue("mail").failed_job_registry
        client_ = redis_connection.client()
        ours = [
            j for j in Job.fetch_many(failed.get_job_ids(), connection=client_,
                                      serializer=JSONSerializer)
            if j is not None and j.args[4:5] == [delivery.id]
        ]  # fmt: skip
        assert len(ours) == 1  # RQ gave up as well: no retry left
        ours[0].delete()


def test_an_email_a_killed_worker_never_queued_is_sent_once_by_the_next_worker(
    committed, dedup_job, app_environ, smtp_server, runner
):
    """A worker killed between the results' commit and the queueing of their email: the
    delivery row, message and all, was in that commit, so the next worker to start queues
    it; it arrives once, and neither `flask jobs requeue` nor a second queueing of the same
    delivery sends it again."""
    from leadapp.services import dedup as dedup_service
    from leadapp.services import results_emails
    from leadapp.tasks.mail import prepare_results_email, send_results_email

    app = committed
    account_id, client, job_id = dedup_job
    # What the test-run job commits, up to where the kill comes: figures and email row.
    with app.test_request_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        figures = dedup_service.test_run(job)
        job.status = "tested"
        content = results_emails.dedup_test_run(job, figures)
        prepare_results_email(job, job.emails, "dedup_test_run", e=content)
        db.session.commit()
    delivery = delivery_of(app, account_id, dedup_job_id=job_id)
    assert (delivery.status, delivery.tries) == ("pending", 0)
    with app.app_context():
        assert redis_connection.queue("mail").count == 0  # nothing was queued

    before = len(smtp_server.handler.messages)
    burst(app_environ)  # starting, the worker queues it; then it sends it
    ours = lambda: [m for m in smtp_server.handler.messages[before:] if ODD_ADDRESS in m["rcpt"]]  # noqa: E731
    assert len(ours()) == 1
    assert str(ours()[0]["message"]["Subject"]) == delivery.subject
    delivery = delivery_of(app, account_id, dedup_job_id=job_id)
    assert (delivery.status, delivery.tries) == ("sent", 1)
    shown, _ = email_states(client, f"/dedup/{job_id}")
    assert shown.startswith("Test run email: Email sent at ")

    result = runner.invoke(args=["jobs", "requeue", "--json"])
    assert result.exit_code == 0, result.output
    assert '"emails_requeued": []' in result.output  # sent: nothing to queue again
    with app.app_context(), account_scope(account_id):
        send_results_email(db.session.get(EmailDelivery, delivery.id))  # queued twice after all
    burst(app_environ)
    assert len(ours()) == 1
    assert delivery_of(app, account_id, dedup_job_id=job_id).tries == 1
