import datetime as dt
import io

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from leadapp.domain.csv_export import neutralise, rows_to_csv_bytes, to_csv_bytes


def test_formula_triggers_are_neutralised_and_phones_stay_readable():
    frame = pd.DataFrame(
        {
            "notes": ['=HYPERLINK("http://x.invalid","click")', "@SUM(A1)", "-2+3", "\tx", "ok"],
            "phone": ["+12125550101", "2125550101", None, "+442071838750", ""],
        }
    )
    safe = neutralise(frame)
    assert safe["notes"].tolist() == [
        '\'=HYPERLINK("http://x.invalid","click")',
        "'@SUM(A1)",
        "'-2+3",
        "'\tx",
        "ok",
    ]
    # E.164 phones are exported as they are (issue 16: re-import into a dialer).
    assert safe["phone"].tolist()[:2] == ["+12125550101", "2125550101"]
    assert pd.isna(safe["phone"][2])
    assert safe["phone"][3] == "+442071838750"


def test_leading_blanks_and_full_width_formulas_are_neutralised():
    cells = [
        " =1+1",
        "\u3000=cmd|' /C calc'!A0",  # an ideographic space, then =
        '\uff1dHYPERLINK("http://x.invalid")',  # full-width =
        "\uff0b1+1",  # full-width +
        "\uff20SUM(A1)",  # full-width @
        "\u00a0-2+3",  # a no-break space, then -
        "\n=1+1",
        "+1 212 555 0101",  # not E.164 (spaces): could still be read as a sum
        "+12125550101=",
        "plain text",
        "Zoë =1",
        "",
    ]
    safe = neutralise(pd.DataFrame({"c": cells}))["c"].tolist()
    assert [c.startswith("'") for c in safe] == [True] * 9 + [False] * 3
    assert safe[0] == "' =1+1" and safe[2] == '\'\uff1dHYPERLINK("http://x.invalid")'


def test_phone_columns_round_trip_without_an_apostrophe():
    frame = pd.DataFrame({"phone1": ["+12125550101", "+61291234567"], "note": ["=x", "ok"]})
    back = pd.read_csv(io.BytesIO(to_csv_bytes(frame)), encoding="utf-8-sig", dtype=str)
    assert back["phone1"].tolist() == ["+12125550101", "+61291234567"]
    assert back["note"].tolist() == ["'=x", "ok"]


def test_csv_bytes_have_a_bom_and_round_trip():
    data = to_csv_bytes(pd.DataFrame({"name": ["Zoë", "=1+1"]}))
    assert data.startswith("\ufeff".encode())
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert back["name"].tolist() == ["Zoë", "'=1+1"]


def test_cells_with_line_breaks_stay_one_cell_and_chunks_join_into_one_file():
    import csv
    import io

    import pandas as pd

    from leadapp.domain.csv_export import to_csv_bytes

    first = to_csv_bytes(pd.DataFrame({"a": ["\rcarriage", "two\nlines"], "b": ["x", "y"]}))
    rest = to_csv_bytes(pd.DataFrame({"a": ["later"], "b": ["z"]}), first=False)
    assert first.startswith("\ufeff".encode()) and not rest.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO((first + rest).decode("utf-8-sig"), newline="")))
    assert rows == [["a", "b"], ["'\rcarriage", "x"], ["two\nlines", "y"], ["later", "z"]]


# A lead export's row: nullable texts, whole numbers, flags and nullable times (what
# services.pool_reports.leads_csv_chunks writes), with every character the rule is about.
_TEXT = st.one_of(
    st.none(),
    st.text(
        alphabet=st.sampled_from(list("=+-@ \t\r\n\"',;aZ09ë\u3000\uff1d\uff0b\u00a0")),
        max_size=6,
    ),
    st.from_regex(r"\+[0-9]{1,15}", fullmatch=True),
    st.text(max_size=4),
)
_ROW = st.tuples(
    _TEXT,
    _TEXT,
    st.integers(0, 10**9),
    st.booleans(),
    st.one_of(st.none(), st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1))),
    st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1)),
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=8), first=st.booleans())
def test_rows_written_one_by_one_are_the_frames_bytes(rows, first):
    """The streamed export's csv-module writer gives the data frame path's bytes exactly."""
    header = ["a", "b", "n", "flag", "called", "created"]
    frame = pd.DataFrame(rows, columns=header).astype("object")
    frame = frame.where(frame.notna(), "")
    assert rows_to_csv_bytes(header, rows, first=first) == to_csv_bytes(frame, first=first)
