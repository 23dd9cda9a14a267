"""Driving the real upload wizard over HTTP (the test client, CSRF tokens included) and
``flask leads import``, plus the checks every hostile input ends with: a sentence or a
per-row reason, nothing half-written, and the app still serving.

The wizard's background jobs (check data, import) are the real task functions; they are
run in this process, right after the request that dispatched them, instead of in an RQ
worker, so each test stays inside its rolled-back transaction."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Campaign, Import, Lead, LeadPool, User
from leadapp.security import account_scope
from leadapp.services.accounts import create_campaign
from tests.conftest import csrf_from

CAMPAIGN = "Spring"
SELECTED = re.compile(
    r'<select[^>]*name="map-(\d+)"[^>]*>(.*?)</select>', re.DOTALL
)  # the wizard's mapping selects
OPTION_SELECTED = re.compile(r'<option value="([^"]*)"\s+selected')
FILE_ERROR = re.compile(r'data-testid="file-error">([^<]*)<')
JOB_ERROR = re.compile(r'data-testid="job-error">([^<]*)<')


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


class Wizard:
    """One supervisor's way through /imports/new → file → mapping → duplicates → check →
    review → import, with the jobs run in this process."""

    def __init__(self, app, client, monkeypatch):
        self.app = app
        self.client = client
        self.jobs: list[tuple[int, object, tuple]] = []
        self.errors: list[Exception] = []
        # The wizard's views are split by step; each module that hands jobs to RQ.
        for module in ("checking", "listing", "running"):
            monkeypatch.setattr(f"leadapp.imports.views.{module}.dispatch", self._dispatch)
        self.staged_before = set(self.staging_dirs())
        with app.app_context():
            account = db.session.scalar(sa.select(Account).where(Account.slug == "acme"))
            with account_scope(account.id):
                campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == CAMPAIGN))
                if campaign is None:
                    campaign = create_campaign(account, CAMPAIGN)
                admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
                db.session.commit()
                self.account_id, self.campaign_id, self.user_id = (
                    account.id,
                    campaign.id,
                    admin.id,
                )

    def _dispatch(self, job, fn, *args, at=None):
        self.jobs.append((job.id, fn, args))

    def run_jobs(self) -> None:
        """Run the jobs the last requests dispatched, as a worker would (failures recorded
        on the job row; the exception is kept in ``errors``)."""
        jobs, self.jobs = self.jobs, []
        for job_id, fn, args in jobs:
            with self.app.app_context():
                try:
                    fn(job_id, *args)
                except Exception as exc:  # noqa: BLE001 (the job row says why)
                    self.errors.append(exc)

    # -- the steps --------------------------------------------------------------------

    def new(self, pool_name: str = "") -> int:
        token = csrf_from(self.client, "/imports/new")
        response = self.client.post(
            "/imports/new",
            data={
                "csrf_token": token,
                "campaign": self.campaign_id,
                "owner": self.user_id,
                "target": "new",
                "pool_name": pool_name,
                "existing_pool": 0,
                "priority": 5,
                "day_offset": 0,
            },
        )
        assert response.status_code == 302, text_of(response)
        return int(re.search(r"/imports/(\d+)/file", response.headers["Location"]).group(1))

    def upload(self, import_id: int, data: bytes, filename: str = "leads.csv", **fields):
        from io import BytesIO

        token = csrf_from(self.client, f"/imports/{import_id}/file")
        form = {"csrf_token": token, "file": (BytesIO(data), filename), **fields}
        return self.client.post(
            f"/imports/{import_id}/file", data=form, content_type="multipart/form-data"
        )

    def mapping(self, import_id: int, override: dict[int, str] | None = None):
        page = self.client.get(f"/imports/{import_id}/mapping")
        assert page.status_code == 200, text_of(page)
        body = page.get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
        form = {"csrf_token": token}
        for index, options in SELECTED.findall(body):
            chosen = OPTION_SELECTED.search(options)
            form[f"map-{index}"] = chosen.group(1) if chosen else ""
        for index, target in (override or {}).items():
            form[f"map-{index}"] = target
        return self.client.post(f"/imports/{import_id}/mapping", data=form)

    def duplicates(self, import_id: int, scope="campaign", action="discard-new"):
        token = csrf_from(self.client, f"/imports/{import_id}/duplicates")
        response = self.client.post(
            f"/imports/{import_id}/duplicates",
            data={
                "csrf_token": token,
                "match": ["phone1"],
                "scope": scope,
                "action": action,
                "update_mode": "overwrite",
                "multiple": "update-all",
            },
        )
        assert response.status_code == 302, text_of(response)
        self.run_jobs()
        return self.client.get(f"/imports/{import_id}/check")

    def start(self, import_id: int, notify_emails: str = ""):
        token = csrf_from(self.client, f"/imports/{import_id}/review")
        response = self.client.post(
            f"/imports/{import_id}/review",
            data={"csrf_token": token, "notify_emails": notify_emails},  # notify_me off
        )
        self.run_jobs()
        return response

    def through_check(
        self, data: bytes, filename="leads.csv", pool_name="", override=None, **dup
    ) -> int:
        """Settings, file, mapping (as suggested, changed by ``override``: {column index:
        field}), duplicates; the check grid is ready."""
        import_id = self.new(pool_name)
        response = self.upload(import_id, data, filename)
        assert response.status_code == 302, FILE_ERROR.findall(text_of(response))
        assert self.mapping(import_id, override).status_code == 302
        check = self.duplicates(import_id, **dup)
        assert check.status_code == 200 and 'id="check-grid"' in check.get_data(as_text=True), (
            JOB_ERROR.findall(text_of(check)) or self.errors
        )
        return import_id

    def import_file(self, data: bytes, filename="leads.csv", pool_name="", **dup) -> Import:
        import_id = self.through_check(data, filename, pool_name, **dup)
        assert self.start(import_id).status_code == 302
        assert not self.errors, self.errors
        return self.imp(import_id)

    # -- what happened ----------------------------------------------------------------

    def imp(self, import_id: int) -> Import:
        with self.app.app_context(), account_scope(self.account_id):
            imp = db.session.get(Import, import_id)
            db.session.expunge(imp)
            return imp

    def leads(self, **where) -> list[Lead]:
        with self.app.app_context():
            query = sa.select(Lead).order_by(Lead.id)
            for key, value in where.items():
                query = query.where(getattr(Lead, key) == value)
            leads = list(db.session.scalars(query))
            db.session.expunge_all()
            return leads

    def staging_dirs(self) -> list[Path]:
        folder = Path(self.app.config["STAGING_DIR"])
        return sorted(folder.iterdir()) if folder.is_dir() else []

    def new_staging(self) -> list[Path]:
        """Staging folders created since this wizard started."""
        return [p for p in self.staging_dirs() if p not in self.staged_before]


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def assert_serving(client) -> None:
    """After whatever happened, the app still answers its home page."""
    assert client.get("/pools").status_code == 200


def assert_nothing_written(app, wizard: Wizard | None = None) -> None:
    """No lead, no pool of ours, no import left queued or running, and (given the wizard of
    a refused upload) no staged file left behind."""
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0
        assert (
            db.session.scalar(
                sa.select(sa.func.count(LeadPool.id)).where(LeadPool.is_system.is_(False))
            )
            == 0
        )
        running = db.session.scalar(
            sa.select(sa.func.count(Import.id)).where(Import.status.in_(("queued", "running")))
        )
        assert running == 0
    if wizard is not None:
        assert wizard.new_staging() == []


def one_sentence(message: str) -> bool:
    message = message.strip()
    return bool(message) and message.endswith((".", "?")) and "Traceback" not in message


def cli_import(runner, path, pool="p", *extra):
    result = runner.invoke(
        args=[
            "leads", "import", str(path), "--account", "acme", "--campaign", CAMPAIGN,
            "--pool", pool, "--json", *extra,
        ]
    )  # fmt: skip
    counts = None
    if result.exit_code == 0:
        counts = json.loads(result.stdout.strip().splitlines()[-1])
    return result, counts


class SmallDisk:
    """A real, small file system (a tmpfs) that fills up for real."""

    def __init__(self, path: Path):
        self.path = path

    def grow(self, size: str = "16m") -> None:
        """The administrator frees space: the same file system, made larger."""
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True)

    def files(self) -> list[Path]:
        return sorted(p for p in self.path.rglob("*") if p.is_file())

    def used(self) -> int:
        return shutil.disk_usage(self.path).used


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs, mounted for the test and unmounted after it (root only)."""
    if os.geteuid() != 0:
        pytest.skip(f"needs root to mount a tmpfs: running as uid {os.geteuid()}")
    path = tmp_path / "small-disk"
    path.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    except OSError as exc:
        pytest.skip(f"needs root to mount a tmpfs: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"needs root to mount a tmpfs: {mounted.stderr.strip() or 'mount failed'}")
    try:
        yield SmallDisk(path)
    finally:
        if subprocess.run(["umount", str(path)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)  # busy: detach it anyway
