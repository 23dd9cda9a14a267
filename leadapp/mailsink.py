"""The local SMTP sink: an aiosmtpd server that keeps every message as an ``.eml`` file.

Used when no ``MAIL_SERVER`` is configured, so a fresh install can send (and show) mail
without any set-up."""

from __future__ import annotations

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
