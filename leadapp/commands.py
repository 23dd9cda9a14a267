"""What every `flask` command group of LeadApp shares: errors end in one sentence on
standard error with exit status 1 (DESIGN.md §7), a full database disk included."""

from __future__ import annotations

import contextlib
import sys

import click
from flask.cli import AppGroup

from leadapp.extensions import db
from leadapp.services.transactions import database_full

DATABASE_FULL = (
    "The database's disk is full, so nothing more was saved; ask your administrator to "
    "free space, then run the command again."
)


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


class CommandGroup(AppGroup):
    """An ``AppGroup`` whose commands answer a full database disk with a sentence (what
    was committed before stays; the rest is rolled back) rather than a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not database_full(exc):
                raise
            with contextlib.suppress(Exception):
                db.session.rollback()
            fail(DATABASE_FULL)
