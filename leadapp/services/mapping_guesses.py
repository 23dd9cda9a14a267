"""What the mapping step says about its guesses: why the phone columns are in their order."""

from __future__ import annotations

from leadapp.domain.columns import phone_columns
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.models import Import
from leadapp.services.imports import fields as import_fields
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import read as import_read


def phone_order(imp: Import, mapping: dict[str, str | None]) -> dict | None:
    """The evidence behind Phone 1, Phone 2...: for each column mapped to a phone, its
    valid numbers for the import's region in the first rows and whether they are mobiles,
    in the order the rule ranks them (most valid first; mobile before landline on a tie).
    None without phone columns."""
    mapped = {h: t for h, t in mapping.items() if t in PHONE_FIELDS}
    if not mapped or not imp.staging_path:
        return None
    info = import_read.sniff_staged(imp, preview_rows=import_mapping.SUGGEST_SAMPLE_ROWS)
    index = {h: i for i, h in enumerate(info.headers)}
    region = import_fields.import_region(imp)
    ranked = phone_columns(
        {
            h: [row[index[h]] if index[h] < len(row) else "" for row in info.preview]
            for h in mapped
            if h in index
        },
        {h: h for h in mapped},
        region,
    )
    return {
        "region": region,
        "rows": len(info.preview),
        "columns": [
            {
                "header": c.header,
                "field": mapped[c.header],
                "valid": c.valid,
                "kind": c.kind,
            }
            for c in ranked
        ],
    }
