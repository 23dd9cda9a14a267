"""The read step: the file is copied into the import's own folder with its format, and
"start with a new file" removes it and all that followed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, User
from leadapp.security import account_scope
from leadapp.services.accounts import create_campaign
from leadapp.services.imports import read as import_read


def test_a_file_is_kept_in_the_imports_own_folder_and_forgetting_it_removes_the_folder(
    app, make_account, tmp_path
):
    account_id = make_account("acme")
    source = tmp_path / "Spring leads.csv"
    source.write_bytes(b"Phone;First name\n212 555 0101;Ann\n")
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        imp = import_read.create_import(account, admin, create_campaign(account, "Spring"))
        info = import_read.attach_file(imp, source, source.name)
        kept = Path(imp.staging_path) / "source.csv"
        assert kept.read_bytes() == source.read_bytes()
        assert imp.file_sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
        assert (info.delimiter, info.headers) == (";", ["Phone", "First name"])
        assert (imp.step, imp.settings["pool_name"]) == ("mapping", "Spring leads")
        assert import_read.read_options(imp)["header"] is True
        import_read.forget_file(imp)
        assert not kept.parent.exists()
        assert (imp.step, imp.staging_path, imp.settings["pool_name"]) == ("file", None, "")
