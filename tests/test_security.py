"""Account isolation (another account's data is a 404 and never listed) and role checks."""

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import BackgroundJob, DedupJob, Import, Lead, LeadPool, User
from leadapp.security import CrossAccountWrite, account_scope
from tests.conftest import csrf_from, login


def _seed(app, account_id: int, tag: str) -> dict:
    """One pool, lead, background job, import and dedup job of an account, named by ``tag``."""
    with app.app_context(), account_scope(account_id):
        pool = LeadPool(name=f"{tag} pool")
        db.session.add(pool)
        db.session.flush()
        lead = Lead(pool_id=pool.id, first_name=f"{tag}first", last_name=f"{tag}last")
        job = BackgroundJob(kind="pool_counts", title=f"{tag} recount")
        imp = Import(file_name=f"{tag}.csv", status="completed", step="done")
        dedup = DedupJob(name=f"{tag} dedup")
        db.session.add_all([lead, job, imp, dedup])
        db.session.commit()
        return {
            "pool": pool.id,
            "lead": lead.id,
            "job": job.id,
            "import": imp.id,
            "dedup": dedup.id,
        }


@pytest.fixture
def accounts(app, make_account, make_user):
    acme = make_account("acme")
    other = make_account("other")
    return {
        "acme": acme,
        "other": other,
        "acme_rows": _seed(app, acme, "Acme"),
        "other_rows": _seed(app, other, "Zorro"),
        "other_user": make_user(other, "agent@other.test", role="supervisor"),
    }


@pytest.fixture
def acme_admin(client, accounts):
    assert login(client, "admin@acme.test").status_code == 302
    return client


PAGES = {
    "pool": "/pools/{}",
    "lead": "/leads/{}",
    "job": "/jobs/{}",
    "import": "/imports/{}",
    "dedup": "/dedup/{}",
}


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_other_accounts_object_is_a_404_own_one_opens(acme_admin, accounts, kind):
    own = acme_admin.get(PAGES[kind].format(accounts["acme_rows"][kind]))
    assert own.status_code == 200
    response = acme_admin.get(PAGES[kind].format(accounts["other_rows"][kind]))
    assert response.status_code == 404
    assert "Zorro" not in response.get_data(as_text=True)


def test_other_accounts_job_progress_is_a_404(acme_admin, accounts):
    response = acme_admin.get(
        f"/jobs/{accounts['other_rows']['job']}/progress", headers={"HX-Request": "true"}
    )
    assert response.status_code == 404


def test_pool_grid_lists_only_own_pools(acme_admin, accounts):
    html = acme_admin.get("/pools").get_data(as_text=True)
    assert "Acme pool" in html
    assert "Zorro" not in html
    html = acme_admin.get("/pools?q=pool&status=all").get_data(as_text=True)
    assert "Acme pool" in html and "Zorro" not in html


def test_lead_search_finds_only_own_leads(acme_admin, accounts):
    html = acme_admin.get("/leads").get_data(as_text=True)
    assert "Acmefirst" in html and "Zorro" not in html
    for q in ("Zorrofirst", "zorro"):
        html = acme_admin.get(f"/leads?q={q}").get_data(as_text=True)
        assert "Zorrolast" not in html and f"/leads/{accounts['other_rows']['lead']}" not in html
        assert "No leads match" in html
    assert "Acmelast" in acme_admin.get("/leads?q=acmefirst").get_data(as_text=True)


def test_lists_of_imports_and_dedup_jobs_show_only_own(acme_admin, accounts):
    assert "Zorro" not in acme_admin.get("/imports").get_data(as_text=True)
    assert "Acme.csv" in acme_admin.get("/imports").get_data(as_text=True)
    html = acme_admin.get("/dedup").get_data(as_text=True)
    assert "Acme dedup" in html and "Zorro" not in html


def test_users_page_lists_only_own_users(acme_admin, accounts):
    html = acme_admin.get("/admin/users").get_data(as_text=True)
    assert "admin@acme.test" in html
    assert "other.test" not in html


def test_role_change_of_another_accounts_user_is_a_404(app, acme_admin, accounts):
    token = csrf_from(acme_admin, "/admin/users")
    user_id = accounts["other_user"]
    response = acme_admin.post(
        f"/admin/users/{user_id}/role", data={"role": "admin", "csrf_token": token}
    )
    assert response.status_code == 404
    for action in ("active", "password"):
        response = acme_admin.post(f"/admin/users/{user_id}/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.role == "supervisor" and user.active
        assert user.check_password("correct horse battery")


def test_orm_queries_are_filtered_to_the_bound_account(app, accounts):
    with app.app_context():
        with account_scope(accounts["acme"]):
            names = set(db.session.scalars(sa.select(LeadPool.name)))
            assert names == {"Inactive", "Acme pool"}
            leads = db.session.scalars(sa.select(Lead)).all()
            assert [lead.first_name for lead in leads] == ["Acmefirst"]
            assert db.session.get(LeadPool, accounts["other_rows"]["pool"]) is None
            everything = set(
                db.session.scalars(sa.select(LeadPool.name).execution_options(all_accounts=True))
            )
            assert {"Acme pool", "Zorro pool"} <= everything
        # Unbound (CLI before choosing an account): no filter.
        assert {"Acme pool", "Zorro pool"} <= set(db.session.scalars(sa.select(LeadPool.name)))


def test_bulk_update_touches_only_the_bound_account(app, accounts):
    with app.app_context():
        with account_scope(accounts["acme"]):
            db.session.execute(sa.update(LeadPool).values(description="touched"))
            db.session.flush()
        rows = dict(
            db.session.execute(
                sa.select(LeadPool.name, LeadPool.description).where(
                    LeadPool.name.in_(["Acme pool", "Zorro pool"])
                )
            ).all()
        )
        assert rows == {"Acme pool": "touched", "Zorro pool": ""}


def test_flush_refuses_to_modify_another_accounts_object(app, accounts):
    with app.app_context(), account_scope(accounts["acme"]):
        pool = db.session.scalar(
            sa.select(LeadPool)
            .where(LeadPool.id == accounts["other_rows"]["pool"])
            .execution_options(all_accounts=True)
        )
        pool.name = "hijacked"
        with pytest.raises(CrossAccountWrite):
            db.session.flush()
        db.session.rollback()
    with app.app_context():
        assert db.session.get(LeadPool, accounts["other_rows"]["pool"]).name == "Zorro pool"


def test_flush_refuses_a_new_row_for_another_account_and_stamps_own(app, accounts):
    with app.app_context(), account_scope(accounts["acme"]):
        db.session.add(LeadPool(account_id=accounts["other"], name="planted"))
        with pytest.raises(CrossAccountWrite):
            db.session.flush()
        db.session.rollback()
        stamped = LeadPool(name="stamped")
        db.session.add(stamped)
        db.session.flush()
        assert stamped.account_id == accounts["acme"]


def test_flush_refuses_to_delete_another_accounts_object(app, accounts):
    with app.app_context(), account_scope(accounts["acme"]):
        lead = db.session.scalar(
            sa.select(Lead)
            .where(Lead.id == accounts["other_rows"]["lead"])
            .execution_options(all_accounts=True)
        )
        db.session.delete(lead)
        with pytest.raises(CrossAccountWrite):
            db.session.flush()
        db.session.rollback()
    with app.app_context():
        assert db.session.get(Lead, accounts["other_rows"]["lead"]) is not None


# --- roles -------------------------------------------------------------------------------


@pytest.fixture
def supervisor(client, accounts, make_user):
    make_user(accounts["acme"], "sup@acme.test", role="supervisor")
    assert login(client, "sup@acme.test").status_code == 302
    return client


def test_supervisor_gets_403_on_admin_pages(supervisor):
    for path in ("/admin/", "/admin/users", "/admin/outbox"):
        response = supervisor.get(path)
        assert response.status_code == 403, path
        assert "Your role does not allow this" in response.get_data(as_text=True)


def test_supervisor_cannot_post_to_admin_actions(app, supervisor, accounts):
    token = csrf_from(supervisor, "/pools")
    with app.app_context():
        admin_id = db.session.scalar(sa.select(User.id).where(User.email == "admin@acme.test"))
    response = supervisor.post(
        f"/admin/users/{admin_id}/role", data={"role": "supervisor", "csrf_token": token}
    )
    assert response.status_code == 403
    assert (
        supervisor.post(f"/admin/users/{admin_id}/active", data={"csrf_token": token}).status_code
        == 403
    )
    response = supervisor.post(
        "/admin/users",
        data={
            "name": "Sneaky",
            "email": "sneaky@acme.test",
            "role": "admin",
            "password": "long enough pw",
            "csrf_token": token,
        },
    )
    assert response.status_code == 403
    with app.app_context():
        admin = db.session.get(User, admin_id)
        assert admin.role == "admin" and admin.active
        assert db.session.scalar(sa.select(User).where(User.email == "sneaky@acme.test")) is None


def test_supervisor_reaches_the_working_pages(supervisor):
    for path in ("/pools", "/leads", "/imports", "/dedup"):
        assert supervisor.get(path).status_code == 200, path


def test_nav_shows_admin_to_admins_only(client, accounts, make_user):
    make_user(accounts["acme"], "sup@acme.test", role="supervisor")
    login(client, "admin@acme.test")
    assert 'href="/admin/users">Admin</a>' in client.get("/pools").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(client, "/pools")})
    login(client, "sup@acme.test")
    html = client.get("/pools").get_data(as_text=True)
    assert "Lead pools</a>" in html  # the nav is there
    assert "/admin/users" not in html and ">Admin</a>" not in html


def test_every_response_carries_the_security_headers(client, admin_client):
    for response in (client.get("/login"), admin_client.get("/pools"), client.get("/nowhere")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_no_template_has_an_inline_script_or_event_handler():
    """The CSP forbids them: they would silently stop working in the browser."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "leadapp"
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.html")
        if inline_script.search(text := path.read_text()) or handler.search(text) or "hx-on" in text
    ]
    assert offenders == []


def test_no_template_puts_markup_in_the_page_title():
    """<title> shows its content as text: a tag there shows up in the browser tab."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "leadapp"
    title_block = re.compile(r"{%-?\s*block title\s*-?%}(.*?){%-?\s*endblock", re.S)
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.html")
        for block in title_block.findall(path.read_text())
        if "<" in block
    ]
    assert offenders == []


# --- redirect targets (issue 16 item 5) ----------------------------------------------------

HOSTILE_NEXT = [
    "/\t/evil.example",
    "/\r\n/x",
    "/\n/evil.example/x",
    "\t//evil.example",
    " //evil.example",
    "/\\evil.example",
    "/%0d%0aSet-Cookie:x=1",
    "https://evil.example/",
    "//evil.example",
    "/\u2028/evil.example",
    "/\u202e/evil.example",
    "java\tscript:alert(1)",
    "/" + "x" * 5000,
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_redirect_targets_stay_on_the_site(target):
    from urllib.parse import urlsplit

    from leadapp.security import safe_next

    went = safe_next(target, "/fallback")
    assert went.startswith("/") and not went.startswith("//") and "\\" not in went
    assert urlsplit(went).netloc == "" and went.isprintable()


def test_safe_next_keeps_ordinary_paths():
    from leadapp.security import safe_next

    assert safe_next("/leads?pool=3&q=a%20b", "/f") == "/leads?pool=3&q=a%20b"
    assert safe_next("/\tleads", "/f") == "/leads"  # cleaned as the browser would read it
    assert safe_next("", "/f") == safe_next(None, "/f") == "/f"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\r\n/x", "/\\/evil.example"])
def test_column_chooser_and_dnc_forms_never_redirect_off_site_nor_fail(app, acme_admin, target):
    from urllib.parse import urlsplit

    token = csrf_from(acme_admin, "/leads")
    for url, data in (
        ("/leads/columns", {"columns": "phone1"}),
        ("/leads/do-not-call", {"phone": "+14155550142", "note": "asked"}),
    ):
        response = acme_admin.post(url, data={**data, "next": target, "csrf_token": token})
        assert response.status_code == 302, (url, response.status_code)
        location = response.headers["Location"]
        parts = urlsplit(location)
        assert parts.netloc in ("", "localhost") and not parts.path.startswith("//"), location
        assert "evil.example" not in parts.netloc and "\n" not in location


def test_login_next_is_cleaned_too(client, accounts):
    from tests.conftest import PASSWORD

    token = csrf_from(client, "/login")
    response = client.post(
        "/login?next=/%09/evil.example",
        data={"email": "admin@acme.test", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert "//evil.example" not in response.headers["Location"]
