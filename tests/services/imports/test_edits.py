"""The check-data step's edits and deletions (``imports.edits``): kept beside the staged
file, none lost to another saved at the same moment."""

from __future__ import annotations

import threading

from leadapp.security import account_scope
from leadapp.services.imports import edits as import_edits
from leadapp.services.imports import grid as import_grid
from leadapp.services.imports import stage as import_stage
from tests.services.imports.staging_helpers import staged_import


def test_edits_and_deletions_saved_at_the_same_moment_are_all_kept(app, make_account, tmp_path):
    """Two saves at once (a quick Enter on one row and then another, two supervisors) must
    not both start from the same list of edits and drop each other's."""
    account_id = make_account("acme")
    rows = [(f"212 555 {100 + i:04d}", f"Name{i}") for i in range(24)]
    with app.app_context(), account_scope(account_id):
        imp = staged_import(account_id, tmp_path, rows)
        edits = []
        for row in range(0, 24, 2):
            frame = import_grid.staged_rows(imp, [row])
            edits.append(frame.assign(first_name=f"Edited{row}"))
        start = threading.Barrier(len(edits) + 12)

        def edit(frame):
            start.wait()
            import_edits.save_edited(imp, frame)

        def delete(row):
            start.wait()
            import_edits.delete_rows(imp, [row])

        threads = [threading.Thread(target=edit, args=(f,)) for f in edits]
        threads += [threading.Thread(target=delete, args=(r,)) for r in range(1, 24, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert import_edits.deleted_rows(imp) == set(range(1, 24, 2))
        kept = import_stage.staged(imp)
        assert kept["first_name"].tolist() == [f"Edited{r}" for r in range(0, 24, 2)]
