import io

import pandas as pd

from leadapp.domain.csv_export import neutralise, to_csv_bytes


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
    assert safe["phone"][0] == "'+12125550101" and safe["phone"][1] == "2125550101"
    assert pd.isna(safe["phone"][2])


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
