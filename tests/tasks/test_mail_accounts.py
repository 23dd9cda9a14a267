"""The mail job records which account each message belongs to, by its Message-ID, as it
writes it (issue 16 item 3): the outbox page lists by that, never by recipient."""

import sqlalchemy as sa
from rq import Queue
from rq.serializers import JSONSerializer

from leadapp.extensions import db, redis_connection
from leadapp.models.mail import OutboxMessage
from leadapp.services.mail import queue_email


def test_a_sent_message_is_recorded_as_its_accounts(
    committed, make_account, smtp_server, run_worker
):
    app = committed
    acme = make_account("acme")
    other = make_account("other")
    with app.app_context():  # only this test's messages are sent by the worker below
        Queue("mail", connection=redis_connection.client(), serializer=JSONSerializer).empty()
    before = len(smtp_server.handler.messages)
    with app.test_request_context():
        for account_id, to in ((acme, "partner@crm.example"), (other, "partner@crm.example")):
            queue_email(
                to,
                "welcome",
                account_id=account_id,
                name="Partner",
                email=to,
                role="supervisor",
                account_name="Acme",
                inviter="Dana",
                login_url="http://127.0.0.1:5000/login",
            )
    result = run_worker()
    assert result.returncode == 0, result.stdout
    arrived = smtp_server.handler.messages[before:]
    assert len(arrived) == 2
    ids = [m["message"]["Message-ID"] for m in arrived]
    assert len(set(ids)) == 2
    with app.app_context():
        recorded = dict(
            db.session.execute(sa.select(OutboxMessage.message_id, OutboxMessage.account_id)).all()
        )
    assert sorted(recorded[i] for i in ids) == sorted([acme, other])
