"""Uploaded files saved on the server's disk, and the refusal when the disk is full."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import BinaryIO

from leadapp.services.transactions import out_of_space


@contextlib.contextmanager
def refusing_a_full_disk(refusal: Exception):
    """An ``OSError`` for a full disk (or quota) becomes ``refusal``, one sentence for
    people; other errors pass."""
    try:
        yield
    except OSError as exc:
        if out_of_space(exc):
            raise refusal from exc
        raise


def save_stream(stream: BinaryIO, path: Path) -> None:
    """Write an uploaded file (a binary stream) to ``path``, its folder made, 1 MiB at a
    time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
