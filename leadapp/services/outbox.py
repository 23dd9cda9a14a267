"""Reading the local SMTP sink's outbox (development): one ``.eml`` file per message."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from email.utils import getaddresses
from pathlib import Path


def list_messages(
    outbox: str, mine: Callable[[list[str]], set[str]], limit: int = 200
) -> list[dict]:
    """The newest messages of the current account: ``mine`` says which Message-IDs are
    its own (recorded as each message was written, whoever it was addressed to)."""
    folder = Path(outbox)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    found = []
    for start in range(0, len(files), limit):
        summaries = [_summary(path) for path in files[start : start + limit]]
        own = mine([s["message_id"] for s in summaries if s["message_id"]])
        found.extend(s for s in summaries if s["message_id"] and s["message_id"] in own)
        if len(found) >= limit:
            break
    return found[:limit]


def read_message(outbox: str, name: str) -> dict | None:
    """One message by file name; names outside the outbox folder are refused."""
    folder = Path(outbox).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or path.suffix != ".eml" or not path.is_file():
        return None
    msg = _parse(path)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return {
        **_summary(path, msg),
        "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
    }


def _parse(path: Path):
    with path.open("rb") as fh:
        return email.message_from_binary_file(fh, policy=email.policy.default)


def _summary(path: Path, msg=None) -> dict:
    msg = msg or _parse(path)
    return {
        "name": path.name,
        "to": str(msg.get("To", "")),
        "recipients": [
            addr.lower()
            for _, addr in getaddresses([str(msg.get("To", "")), str(msg.get("Cc", ""))])
            if addr  # a missing Cc header parses as one empty address
        ],
        "subject": str(msg.get("Subject", "")),
        "message_id": str(msg.get("Message-ID", "")).strip(),
        "date": str(msg.get("Date", "")),
    }
