"""The local SMTP sink: an aiosmtpd server that keeps every message as an ``.eml`` file.

Used when no ``MAIL_SERVER`` is configured, so a fresh install can send (and show) mail
without any set-up."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class OutboxHandler:
    """Writes each received message to ``outbox/<time>-<id>.eml``."""

    def __init__(self, outbox: str | Path):
        self.outbox = Path(outbox)
        self.outbox.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.outbox / (name + ".part")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.outbox / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def start_sink(outbox: str | Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    controller = Controller(OutboxHandler(outbox), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> int:
    """``python -m leadapp.mailsink OUTBOX [--port N]``: the sink as a process of its own, as
    ``flask run-all`` runs it (and restarts it when it dies). SIGINT/SIGTERM stop it."""
    parser = argparse.ArgumentParser(prog="python -m leadapp.mailsink")
    parser.add_argument("outbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    try:
        controller = start_sink(args.outbox, host=args.host, port=args.port)
    except OSError as exc:
        print(f"The mail sink cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
