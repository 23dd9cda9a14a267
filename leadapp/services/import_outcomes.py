"""What an import does with the rows that match existing leads — one plan for the engine
(which carries it out), the review step (which predicts from it) and ``duplicates.csv``
(which says it row by row), so the three can never disagree.

The rules (DESIGN.md §3.1, step 4): a row matching more than ``MAX_MATCHES_TO_ACT``
existing leads is only reported — it is imported as a new lead and the leads it matches
are left as they are — whatever the action says, except "discard the new lead", which
discards it like any other duplicate. When several (up to three) leads match: update
all, update the newest, or create a new lead (the matched ones are then only reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

MAX_MATCHES_TO_ACT = 3  # more existing matches than this: notify only

# The counters an import reports about the rows that matched (and the rows it wrote).
OUTCOME_COUNTS = (
    "imported",
    "updated",
    "moved",
    "deactivated",
    "removed",
    "discarded_existing",
    "notified",
)


@dataclass
class MatchPlan:
    """``acting``: the matches the action is carried out on (rows of ``matches``).
    ``reported``: keys whose matches are only reported (a new lead, the others untouched).
    ``crowded``: those of them with more than ``MAX_MATCHES_TO_ACT`` matches."""

    acting: pd.DataFrame
    reported: set
    crowded: set


def plan(matches: pd.DataFrame, settings) -> MatchPlan:
    """Which matches the action acts on, and which are only reported (``matches``: the
    engine's ``existing_matches`` frame: ``_key``, ``lead_id``, ``created_at``)."""
    sizes = matches.groupby("_key")["lead_id"].transform("size")
    matches = matches.assign(n=sizes)
    crowded = set(matches.loc[matches["n"] > MAX_MATCHES_TO_ACT, "_key"])
    reported = set(crowded)
    acting = matches[~matches["_key"].isin(crowded)]
    if settings.multiple == "update-newest":
        acting = acting.sort_values(["created_at", "lead_id"]).drop_duplicates("_key", keep="last")
    elif settings.multiple == "create-new":
        several = set(acting.loc[acting["n"] > 1, "_key"])
        acting = acting[~acting["_key"].isin(several)]
        reported |= several
    if settings.action == "notify":
        reported |= set(acting["_key"])
        acting = acting.iloc[0:0]
    elif settings.action == "discard-new":
        # Every matching row is discarded; no existing lead is touched, none "reported".
        reported, acting = set(), acting.iloc[0:0]
    return MatchPlan(acting, reported, crowded)


def predict(keys: pd.Series, matches: pd.DataFrame, settings) -> dict[str, int]:
    """What writing the rows with match keys ``keys`` (the valid rows that are not
    repeats within the file) will do, counted like the engine counts it."""
    out = dict.fromkeys(OUTCOME_COUNTS, 0)
    matched = keys.isin(set(matches["_key"])) if not matches.empty else keys.isin(())
    if matches.empty:
        out["imported"] = len(keys)
        return out
    p = plan(matches, settings)
    out["notified"] = int(keys.isin(p.reported).sum())
    action = settings.action
    if action == "discard-new":
        out["discarded_existing"] = int(matched.sum())
        out["imported"] = len(keys) - out["discarded_existing"]
        return out
    acting = p.acting[p.acting["_key"].isin(set(keys))]
    handled = 0
    if action == "deactivate-existing":
        out["deactivated"] = int(acting["lead_id"].nunique())
    elif action == "remove-existing":
        out["removed"] = int(acting["lead_id"].nunique())
    elif action == "update-existing":
        out["updated"] = len(acting)
        handled = int(keys.isin(set(acting["_key"])).sum())
    elif action == "move-existing":
        out["moved"] = int(acting["lead_id"].nunique())
        handled = int(keys.isin(set(acting["_key"])).sum())
    out["imported"] = len(keys) - handled
    return out


# What was (or will be) done with a row matching existing leads, as duplicates.csv says it.
ACTION_WORDS = {
    "notify": "imported as a new lead; the existing lead was left as it is (reported only)",
    "discard-new": "not imported (the existing lead is kept)",
    "deactivate-existing": "imported as a new lead; the existing lead was deactivated",
    "remove-existing": "imported as a new lead; the existing lead was set to removed",
    "update-existing": "not imported; the existing lead was updated with this row",
    "move-existing": "not imported; the existing lead was moved into this pool",
}
CROWDED_WORDS = (
    "imported as a new lead; it matches more than {n} existing leads, so none of them was "
    "changed (reported only)"
)
SEVERAL_WORDS = (
    "imported as a new lead; it matches several existing leads and the rule for several "
    "matches is to create a new lead, so none of them was changed"
)
NEWEST_WORDS = {
    "deactivate-existing": "imported as a new lead; the newest matching lead was deactivated",
    "remove-existing": "imported as a new lead; the newest matching lead was set to removed",
    "update-existing": "not imported; the newest matching lead was updated with this row",
    "move-existing": "not imported; the newest matching lead was moved into this pool",
}


def row_words(keys: pd.Series, matches: pd.DataFrame, settings) -> pd.Series:
    """Per row (``keys``, the rows that matched), what the import does with it."""
    p = plan(matches, settings)
    sizes = matches.groupby("_key")["lead_id"].size()
    several = sizes[sizes > 1].index
    default = ACTION_WORDS[settings.action]
    newest = NEWEST_WORDS.get(settings.action, default)

    def one(key) -> str:
        if key in p.crowded and settings.action != "discard-new":
            return CROWDED_WORDS.format(n=MAX_MATCHES_TO_ACT)
        if key in p.reported and settings.action != "notify":
            return SEVERAL_WORDS
        if settings.multiple == "update-newest" and key in several:
            return newest
        return default

    return keys.map(one)


def forecast(keys: pd.Series, matches: pd.DataFrame, settings, in_file: int) -> dict[str, int]:
    """The review step's figures, named like the summary's: ``predict`` plus the rows
    that repeat an earlier row of the file (``in_file``), which are discarded."""
    out = predict(keys, matches, settings)
    out["discarded"] = in_file + out.pop("discarded_existing")
    return out


# ---------------------------------------------------------------------------------------
# The summary in words (the import's page, its email and the email's subject)


def _leads(n: int) -> str:
    return f"{n:,} lead" if n == 1 else f"{n:,} leads"


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def sentences(counts: dict, pool_name: str | None = None) -> list[str]:
    """What the import did, one sentence per kind of change: "2,027 leads were
    deactivated." Only what happened is said; an import that changed nothing says so."""
    into = f" into {pool_name}" if pool_name else ""
    out = []
    imported = counts.get("imported", 0)
    if imported:
        out.append(f"{_leads(imported)} {_were(imported)} imported{into}.")
    for key, words in (
        ("updated", "{leads} already there {were} updated with the file's values"),
        ("moved", "{leads} already there {were} moved" + (into or " into the pool")),
        ("deactivated", "{leads} {were} deactivated"),
        ("removed", "{leads} {were} set to removed"),
    ):
        n = counts.get(key, 0)
        if n:
            text = words.format(leads=_leads(n), were=_were(n))
            out.append(text[:1].upper() + text[1:] + ".")
    discarded = counts.get("discarded", 0)
    if discarded:
        rows = "row was" if discarded == 1 else "rows were"
        out.append(f"{discarded:,} {rows} discarded as duplicates.")
    notified = counts.get("notified", 0)
    if notified:
        rows = "row matches" if notified == 1 else "rows match"
        out.append(
            f"{notified:,} {rows} existing leads that were left as they are (reported in "
            "the duplicates download)."
        )
    invalid = counts.get("invalid", 0)
    if invalid:
        rows = "row was" if invalid == 1 else "rows were"
        out.append(f"{invalid:,} invalid {rows} not imported (see the invalid rows download).")
    if not (
        imported or any(counts.get(k, 0) for k in ("updated", "moved", "deactivated", "removed"))
    ):
        out.insert(0, "No lead was imported or changed.")
    return out


def headline(counts: dict) -> str:
    """The subject's summary: what changed, never "0 leads imported" when leads were
    updated — "1,200 leads imported, 2,027 deactivated", "350 existing leads updated"."""
    imported = counts.get("imported", 0)
    parts = [f"{_leads(imported)} imported"] if imported else []
    for key, word in (
        ("updated", "updated"),
        ("moved", "moved"),
        ("deactivated", "deactivated"),
        ("removed", "set to removed"),
    ):
        n = counts.get(key, 0)
        if not n:
            continue
        if parts:
            parts.append(f"{n:,} {word}")
        elif key in ("updated", "moved"):
            parts.append(f"{n:,} existing {'lead' if n == 1 else 'leads'} {word}")
        else:
            parts.append(f"{_leads(n)} {word}")
    if not parts:
        return "no lead imported or changed"
    return ", ".join(parts)
