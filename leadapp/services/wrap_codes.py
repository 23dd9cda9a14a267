"""Wrap codes: what a call's outcome does to its lead, in one place.

Each account has a table of wrap codes (admin-editable) saying what each code does:
dial again, wait for a callback, complete, close, or make the lead do-not-call (see
``models.wrap_code.WRAP_EFFECTS``). Every place an outcome is recorded — the lead page,
the API's interactions, the dial queue, the command line — calls ``apply_outcome``, so the
pool grid's Ready to dial, Open and % closed follow the same rule everywhere.

Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead
from leadapp.models.base import utcnow
from leadapp.models.wrap_code import WRAP_EFFECTS, WrapCode

CODE_MAX = 60
LABEL_MAX = 120

# The codes a new account starts with (VICIdial's habits: a sale completes the lead, a
# do-not-call request takes it off for good, no answer / busy / machine are dialled
# again, a callback waits for its time). Migration 0012 holds a frozen copy.
DEFAULT_WRAP_CODES = (
    ("SALE", "Sale", "completed"),
    ("CALLBACK", "Callback", "callback"),
    ("NO_ANSWER", "No answer", "dial_again"),
    ("BUSY", "Busy", "dial_again"),
    ("VOICEMAIL", "Voicemail or answering machine", "dial_again"),
    ("NOT_INTERESTED", "Not interested", "closed"),
    ("WRONG_NUMBER", "Wrong number", "closed"),
    ("DO_NOT_CALL", "Asked not to be called", "do_not_call"),
    ("DNC", "Asked not to be called", "do_not_call"),
)

EFFECT_TEXT = {
    "dial_again": "Dial again (the lead stays open)",
    "callback": "Callback (the lead stays open and waits for the time given)",
    "completed": "Completed (the lead is closed: a sale or the call's goal reached)",
    "closed": "Closed (the lead is not dialled again)",
    "do_not_call": "Do not call (the lead is closed and do-not-call)",
}
# The effects that take a lead out of dialling for good.
CLOSING_EFFECTS = frozenset({"completed", "closed", "do_not_call"})
_SEPARATORS = re.compile(r"[\s\-]+")


class WrapCodeError(ValueError):
    """A wrap code or an outcome the rules refuse; the message is one sentence to act on."""


def normalise(code: str | None) -> str | None:
    """The form codes are stored and compared in: trimmed, upper case, spaces and dashes as
    underscores ("Call back" → CALL_BACK). Empty is None."""
    text = _SEPARATORS.sub("_", (code or "").strip()).upper()
    return text or None


def codes(account_id: int) -> list[WrapCode]:
    """The account's wrap codes in the admin page's order."""
    return list(
        db.session.scalars(
            sa.select(WrapCode)
            .where(WrapCode.account_id == account_id)
            .order_by(WrapCode.position, WrapCode.id)
        )
    )


def effects(account_id: int) -> dict[str, str]:
    """Code → effect for the account."""
    return {c.code: c.effect for c in codes(account_id)}


def effect_of(account_id: int, wrap_code: str | None) -> str:
    """What ``wrap_code`` does in the account; a code the table does not name dials again
    (an unknown code never closes a lead by accident)."""
    code = normalise(wrap_code)
    if code is None:
        return "dial_again"
    effect = db.session.scalar(
        sa.select(WrapCode.effect).where(WrapCode.account_id == account_id, WrapCode.code == code)
    )
    return effect or "dial_again"


def closing_codes(account_id: int) -> frozenset[str]:
    """The account's codes that close a lead (completed, closed, do-not-call)."""
    return frozenset(
        code for code, effect in effects(account_id).items() if effect in CLOSING_EFFECTS
    )


def callback_codes(account_id: int) -> frozenset[str]:
    """The account's codes that ask for a callback time."""
    return frozenset(code for code, effect in effects(account_id).items() if effect == "callback")


def seed_defaults(account_id: int) -> None:
    """Give a new account the default wrap codes."""
    for position, (code, label, effect) in enumerate(DEFAULT_WRAP_CODES):
        db.session.add(
            WrapCode(
                account_id=account_id, code=code, label=label, effect=effect, position=position
            )
        )
    db.session.flush()


def _utc_naive(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def apply_outcome(
    lead: Lead,
    wrap_code: str | None,
    *,
    callback_at: dt.datetime | None = None,
    completed: bool | None = None,
) -> str:
    """Set ``lead``'s wrap code and what its effect says; returns the effect.

    - completed: the lead is closed and completed; closed: closed, not completed;
      do_not_call: closed and do-not-call (reason "hand": the person asked).
    - callback: the lead is open and waits for ``callback_at`` (required; a naive time is
      UTC); any other code clears the callback time (CALLBACK then SALE keeps no callback).
    - dial_again (and codes the account does not list): the lead is open again.
    Only open and closed leads change status: a lead removed or moved to Inactive keeps its
    status. ``completed`` (the API's flag) true completes the lead whatever the code (but
    do-not-call); false reopens a lead the code would complete. Do-not-call is never cleared here.
    """
    code = normalise(wrap_code)
    if code is not None and len(code) > CODE_MAX:
        raise WrapCodeError(f"A wrap code has at most {CODE_MAX} characters.")
    effect = effect_of(lead.account_id, code)
    if completed is True:
        effect = "do_not_call" if effect == "do_not_call" else "completed"
    elif completed is False and effect == "completed":
        effect = "dial_again"
    callback_at = _utc_naive(callback_at)
    if effect == "callback":
        if callback_at is None:
            raise WrapCodeError(
                f"A callback ({code}) needs a date and time: when should the lead be called?"
            )
    else:
        callback_at = None
    lead.wrap_code = code
    lead.callback_at = callback_at
    lead.completed = effect == "completed"
    if effect == "do_not_call" and not lead.do_not_call:
        lead.do_not_call, lead.dnc_reason = True, "hand"
    if lead.status in ("open", "closed"):
        lead.status = "closed" if effect in CLOSING_EFFECTS else "open"
    lead.updated_at = utcnow()
    return effect


# ---------------------------------------------------------------------------------------
# The admin page's changes


def save_code(
    account_id: int, code: str, label: str, effect: str, *, wrap_code: WrapCode | None = None
) -> WrapCode:
    """Add a wrap code (or change ``wrap_code``). Leads already wrapped keep their state:
    the new rule applies to outcomes recorded from now on."""
    text = normalise(code)
    if text is None:
        raise WrapCodeError("Give the wrap code, like SALE.")
    if len(text) > CODE_MAX:
        raise WrapCodeError(f"A wrap code has at most {CODE_MAX} characters.")
    if effect not in WRAP_EFFECTS:
        raise WrapCodeError("Choose what the wrap code does to the lead.")
    label = (label or "").strip()
    if len(label) > LABEL_MAX:
        raise WrapCodeError(f"A description has at most {LABEL_MAX} characters.")
    clash = db.session.scalar(
        sa.select(WrapCode.id).where(WrapCode.account_id == account_id, WrapCode.code == text)
    )
    if clash is not None and (wrap_code is None or clash != wrap_code.id):
        raise WrapCodeError(f"The wrap code {text} exists already; change that one instead.")
    if wrap_code is None:
        last = db.session.scalar(
            sa.select(sa.func.max(WrapCode.position)).where(WrapCode.account_id == account_id)
        )
        wrap_code = WrapCode(account_id=account_id, position=(last or 0) + 1)
        db.session.add(wrap_code)
    wrap_code.code, wrap_code.label, wrap_code.effect = text, label, effect
    db.session.flush()
    return wrap_code


def delete_code(wrap_code: WrapCode) -> None:
    """Remove a wrap code: leads that carry it keep it; from now on it dials again."""
    db.session.delete(wrap_code)
    db.session.flush()
