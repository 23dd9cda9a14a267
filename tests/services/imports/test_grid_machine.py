"""Check data, model-based: random sequences of cell edits, row deletions, filters and
pages give the same rows, filter counts and review figures as applying the same edits by
hand to a plain pandas table of the file, checked with the domain's phone rules."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from leadapp.domain.phones import reference_normalise
from leadapp.security import account_scope
from leadapp.services.imports import analyse as import_analyse
from leadapp.services.imports import edits as import_edits
from leadapp.services.imports import grid as import_grid
from tests.machines import machine_settings
from tests.services.imports.staging_helpers import staged_import

# A few numbers, some the same number written differently (duplicates), some invalid.
PHONES = [
    "212 555 0101",
    "(212) 555-0101",
    "212 555 0102",
    "+1 212 555 0103",
    "2125550104",
    "850 555 0105",  # Florida's 850 is Eastern or Central: its zone is unsure
    "12",
    "abc",
    "",
]
NAMES = ["Ann", "Bob", "Zoë", "O'Neil", "Smith, J"]
PAGE = 3  # small pages, so a handful of rows spans several


def model_flags(model: pd.DataFrame) -> pd.DataFrame:
    """The present rows with validity and duplicate flags, worked out from the raw cells
    the slow, obvious way (phonenumbers, one value at a time)."""
    rows = model[~model["deleted"]].copy()
    rows["e164"] = [reference_normalise(p or None, "US")[0] for p in rows["phone"]]
    rows["valid"] = rows["e164"].notna()
    keys = rows["e164"].where(rows["valid"])
    rows["dup"] = keys.notna() & keys.duplicated(keep="first")
    rows["unsure"] = pd.Series(
        [isinstance(v, str) and v.startswith("+1850") for v in rows["e164"]],
        index=rows.index,
        dtype=bool,
    )
    return rows


def text(value) -> str:
    return "" if value is None or value != value else str(value)  # noqa: PLR0124 (NaN)


class CheckData(RuleBasedStateMachine):
    """One staged import per example; the model is the file as a DataFrame."""

    folder = None  # set by the test

    @initialize(
        rows=st.lists(
            st.tuples(st.sampled_from(PHONES), st.sampled_from(NAMES)), min_size=1, max_size=9
        )
    )
    def stage(self, rows):
        self.imp = staged_import(self.account_id, self.folder, rows)
        self.model = pd.DataFrame(
            {
                "row": range(len(rows)),
                "line": range(2, len(rows) + 2),  # line 1 holds the column names
                "phone": [p for p, _ in rows],
                "name": [n for _, n in rows],
                "deleted": False,
            }
        )

    def present(self) -> list[int]:
        return self.model.loc[~self.model["deleted"], "row"].tolist()

    @precondition(lambda self: self.present())
    @rule(
        pick=st.integers(0, 100),
        field=st.sampled_from(["phone1", "first_name"]),
        value=st.sampled_from(PHONES + NAMES),
    )
    def edit_cell(self, pick, field, value):
        rows = self.present()
        row = rows[pick % len(rows)]
        # The editor opens with this row's own value.
        before = import_grid.staged_rows(self.imp, [row])
        assert before["_row"].tolist() == [row]
        source = "phone1_raw" if field == "phone1" else "first_name"
        column = "phone" if field == "phone1" else "name"
        assert text(before.iloc[0][source]).strip() == self.model.at[row, column].strip()
        import_grid.edit_cell(self.imp, row, field, value)
        self.model.at[row, column] = value

    @precondition(lambda self: self.present())
    @rule(picks=st.lists(st.integers(0, 100), min_size=1, max_size=2))
    def delete_rows(self, picks):
        rows = self.present()
        chosen = sorted({rows[p % len(rows)] for p in picks})
        import_edits.delete_rows(self.imp, chosen)
        self.model.loc[self.model["row"].isin(chosen), "deleted"] = True

    @rule(show=st.sampled_from(import_grid.FILTERS), page=st.integers(1, 4))
    def look(self, show, page):
        got, matched, _ = import_grid.grid_page(self.imp, show, page, page_size=PAGE)
        flags = model_flags(self.model)
        listed = {
            "all": flags,
            "valid": flags[flags["valid"]],
            "invalid": flags[~flags["valid"]],
            "duplicate": flags[flags["dup"]],
            "unsure": flags[flags["unsure"]],
        }[show]
        want = listed.iloc[(page - 1) * PAGE : page * PAGE]
        assert matched == len(listed)
        assert got["_row"].tolist() == want["row"].tolist()
        assert got["_line"].tolist() == want["line"].tolist()
        assert [text(v).strip() for v in got["phone1_raw"]] == [p.strip() for p in want["phone"]]
        assert [text(v) for v in got["first_name"]] == [n.strip() for n in want["name"]]
        assert [text(v) for v in got["phone1"]] == [text(v) for v in want["e164"]]
        assert got["_valid"].tolist() == want["valid"].tolist()
        assert got["_dup"].tolist() == want["dup"].tolist()

    @invariant()
    def counts_and_review_figures_match(self):
        if not hasattr(self, "imp"):
            return
        flags = model_flags(self.model)
        valid, dups = int(flags["valid"].sum()), int(flags["dup"].sum())
        _, _, counts = import_grid.grid_page(self.imp, "all", 1, page_size=PAGE)
        assert counts == {
            "all": len(flags),
            "valid": valid,
            "invalid": len(flags) - valid,
            "duplicate": dups,
            "unsure": int(flags["unsure"].sum()),
        }
        review = import_analyse.analyse(self.imp)
        assert review["rows"] == len(flags)
        assert (review["valid"], review["invalid"]) == (valid, len(flags) - valid)
        assert review["duplicates_in_file"] == dups
        assert review["duplicates_existing"] == 0
        assert review["deleted"] == int(self.model["deleted"].sum())


def test_check_data_edits_equal_editing_the_file_by_hand(app, make_account, tmp_path):
    account_id = make_account("acme")
    CheckData.account_id = account_id
    CheckData.folder = tmp_path
    with app.app_context(), account_scope(account_id):
        run_state_machine_as_test(
            CheckData,
            settings=machine_settings(20, 10, on_postgresql=5),
        )
