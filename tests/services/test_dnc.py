"""The do-not-call list: numbers in any format, set-based marking, audited removal, CSV
upload, and imports marking the leads they write."""

import json

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, AuditLog, DoNotCallNumber, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import dnc
from leadapp.services.pools import pool_counts, refresh_counts


@pytest.fixture
def acme(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        yield db.session.get(Account, account_id)


def _pool(name, phones_per_lead):
    pool = LeadPool(name=name)
    db.session.add(pool)
    db.session.flush()
    leads = []
    for phones in phones_per_lead:
        lead = Lead(pool_id=pool.id, **{f"phone{i + 1}": p for i, p in enumerate(phones)})
        db.session.add(lead)
        leads.append(lead)
    db.session.flush()
    refresh_counts([pool])
    return pool, leads


def _assert_counters(*pools):
    fresh = pool_counts([p.id for p in pools])
    for pool in pools:
        db.session.refresh(pool)
        c = fresh[pool.id]
        assert (pool.total_count, pool.ready_count, pool.open_count) == (
            c["total"],
            c["ready"],
            c["open"],
        )


def test_add_normalises_marks_every_phone_slot_and_refreshes(acme):
    pool, (a, b, c) = _pool(
        "Spring",
        [
            ["+14155550132"],
            ["+12125550100", None, "+14155550132"],  # listed number in phone3
            ["+12125550101"],
        ],
    )
    assert pool.ready_count == 3
    entry, added, marked = dnc.add_number(acme, "(415) 555-0132", user_id=None, note="asked")
    assert (entry.phone, added, marked) == ("+14155550132", True, 2)
    for lead in (a, b, c):
        db.session.refresh(lead)
    assert (a.do_not_call, b.do_not_call, c.do_not_call) == (True, True, False)
    assert pool.ready_count == 1
    _assert_counters(pool)
    again = dnc.add_number(acme, "+1 415 555 0132", user_id=None)
    assert again[1] is False and again[0].id == entry.id
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.object_id == entry.id))


@pytest.mark.parametrize(
    "typed,sentence",
    [("555-01", "too few digits"), ("hello", "not a valid phone number"), ("", "Type")],
)
def test_bad_number_is_one_sentence(acme, typed, sentence):
    with pytest.raises(dnc.DncError, match=sentence):
        dnc.add_number(acme, typed, user_id=None)
    assert db.session.scalar(sa.select(sa.func.count(DoNotCallNumber.id))) == 0


def test_remove_unmarks_only_leads_with_no_other_listed_number(acme):
    pool, (a, b) = _pool("Spring", [["+14155550132"], ["+14155550132", "+12125550100"]])
    first, _, _ = dnc.add_number(acme, "4155550132", user_id=None)
    dnc.add_number(acme, "212 555 0100", user_id=None)
    assert pool.ready_count == 0
    unmarked = dnc.remove_number(first, user_id=None)
    assert unmarked == 1
    db.session.refresh(a)
    db.session.refresh(b)
    assert not a.do_not_call and b.do_not_call
    assert pool.ready_count == 1
    _assert_counters(pool)
    assert db.session.scalar(
        sa.select(AuditLog.details).where(AuditLog.action == "dnc.removed")
    ) == {"phone": "+14155550132", "note": ""}


def test_other_accounts_leads_are_never_marked(app_ctx, make_account):
    other_id = make_account("other")
    with account_scope(other_id):
        _, (theirs,) = _pool("Theirs", [["+14155550132"]])
    acme_id = make_account("acme")
    with account_scope(acme_id):
        dnc.add_number(db.session.get(Account, acme_id), "4155550132", user_id=None)
    with account_scope(other_id):
        db.session.refresh(theirs)
        assert not theirs.do_not_call


def test_csv_upload_counts(acme):
    pool, (a,) = _pool("Spring", [["+14155550132"]])
    dnc.add_number(acme, "2125550100", user_id=None)
    data = (
        b"Name;Phone number\n"
        b"Ann;(415) 555-0132\n"
        b"Bob;212-555-0100\n"  # already listed
        b"Cy;12\n"  # invalid
        b"Di;+44 20 7946 0958\n"
        b"Ed;415.555.0132\n"  # repeated in the file: already listed
    )
    result = dnc.upload(acme, data, user_id=None)
    assert (result.rows, result.added, result.already_listed, result.invalid) == (5, 2, 2, 1)
    assert result.invalid_examples[0][1] == "12"
    assert result.leads_marked == 1
    db.session.refresh(a)
    assert a.do_not_call
    phones = set(db.session.scalars(sa.select(DoNotCallNumber.phone)))
    assert phones == {"+14155550132", "+12125550100", "+442079460958"}
    bare = dnc.upload(acme, b"4155550199\n4155550198\n", user_id=None)
    assert (bare.rows, bare.added) == (2, 2)
    with pytest.raises(dnc.DncError):
        dnc.upload(acme, b"", user_id=None)


def test_import_marks_listed_numbers(app, runner, make_account, tmp_path):
    account_id = make_account("acme")
    result = runner.invoke(args=["campaigns", "create", "--account", "acme", "--name", "Spring"])
    assert result.exit_code == 0, result.output
    with app.app_context(), account_scope(account_id):
        dnc.add_number(db.session.get(Account, account_id), "415-555-0132", user_id=None)
        db.session.commit()
    path = tmp_path / "leads.csv"
    # (An Email column: lead_writer.lead_frame cannot yet write a file without one.)
    path.write_text(
        "First,Phone,Mobile,Email\n"
        "Ann,(415) 555-0132,,\nBob,212 555 0100,4155550132,\nCy,212 555 0101,,cy@x.test\n"
    )
    result = runner.invoke(
        args=[
            "leads", "import", str(path), "--account", "acme", "--campaign", "Spring",
            "--pool", "May", "--map", "First=first_name", "--map", "Phone=phone1",
            "--map", "Mobile=phone2", "--map", "Email=email", "--json",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["imported"] == 3
    with app.app_context(), account_scope(account_id):
        pool = db.session.get(LeadPool, counts["pool_id"])
        marked = dict(db.session.execute(sa.select(Lead.first_name, Lead.do_not_call)).all())
        assert marked == {"Ann": True, "Bob": True, "Cy": False}
        assert pool.ready_count == 1 and pool.total_count == 3
        fresh = pool_counts([pool.id])[pool.id]
        assert (pool.ready_count, pool.open_count) == (fresh["ready"], fresh["open"])


def test_a_stray_quote_in_a_list_adds_every_number_and_names_the_line(acme):
    """Read as CSV, line 2's quote swallows lines 3 and 4: one number of three was added
    and none reported invalid. Numbers never hold quotes or line breaks, so the quote is
    read as plain text, and the result says which line that was."""
    data = b'Phone,Name\n4155550101,"Ann\n4155550102,Bob\n4155550103,"Cy, Jr"\n'
    result = dnc.upload(acme, data, user_id=None)
    assert (result.rows, result.added, result.invalid) == (3, 3, 0)
    (warning,) = result.warnings
    assert warning["line"] == 2 and "plain text" in warning["message"]
    assert "Line 2" in result.summary()
    phones = set(db.session.scalars(sa.select(DoNotCallNumber.phone)))
    assert phones == {"+14155550101", "+14155550102", "+14155550103"}


def test_a_list_without_a_header_and_in_mixed_encodings(acme):
    data = "Zoë,4155550111\n".encode() + "Zoë,4155550112\n".encode("cp1252")
    result = dnc.upload(acme, data, user_id=None)
    assert (result.rows, result.added) == (2, 2)
    assert [w["line"] for w in result.warnings] == [2]


def test_an_upload_searches_the_leads_to_mark_without_the_write_lock(
    committed, app_environ, make_account
):
    """SQLite has one writer at a time: an upload that searched the account's leads for
    listed numbers after adding its own held the write lock through that scan (7 s in
    bench/day.py, with 300,000 leads), and every other save waited."""
    from tests.test_write_lock import lock_is_free, sqlite_path

    path = sqlite_path(app_environ)
    account_id = make_account("acme")
    with committed.app_context(), account_scope(account_id):
        acme = db.session.get(Account, account_id)
        _pool_, (new, old) = _pool("Spring", [["+14155550132"], ["+14155550133"]])
        dnc.add_number(acme, "4155550133", user_id=None)
        db.session.commit()
        free_while_searching = []

        def probe(_conn, _cursor, statement, *_rest):
            searching = (
                statement.lstrip().upper().startswith("SELECT") and "FROM leads" in statement
            )
            if searching and "count(" not in statement:  # not the pools' recount after
                free_while_searching.append(lock_is_free(path))

        sa.event.listen(db.engine, "before_cursor_execute", probe)
        try:
            result = dnc.upload(acme, b"phone\n(415) 555-0132\n2125550100\n", user_id=None)
            db.session.commit()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", probe)
        assert (result.added, result.leads_marked) == (2, 1)
        assert free_while_searching and all(free_while_searching), free_while_searching
        db.session.refresh(new)
        assert new.do_not_call and new.dnc_reason == "number"
