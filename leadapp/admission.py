"""At most ``WEB_REQUESTS_AT_ONCE`` requests worked on at once in one web process; the
others wait their turn before they start.

``flask run`` (what ``make run`` starts) opens a thread for every connection. Under load —
a dialer posting twenty outcomes a second while supervisors browse — dozens of threads then
share one interpreter lock, and a request that holds SQLite's write lock waits its turn for
the CPU between each of its statements: holds of a tenth of a second grew to seconds, and
the writers queued behind them past their wait (503). With a few requests at a time, the
one that writes runs through and lets go. Waiting for a turn is never refused; the
answer only comes later. 0 turns the limit off (gunicorn's ``--threads`` bounds it too)."""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.wsgi import ClosingIterator


class Admission:
    """WSGI middleware: a slot per request, held until its answer is sent (a streamed
    export reads the database while it is sent) and given back when the server closes it."""

    def __init__(self, wsgi_app, at_once: int):
        self.wsgi_app = wsgi_app
        self.slots = threading.BoundedSemaphore(at_once)

    def __call__(self, environ, start_response):
        self.slots.acquire()
        try:
            answer = self.wsgi_app(environ, start_response)
        except BaseException:
            self.slots.release()
            raise
        return ClosingIterator(answer, [self.slots.release])


def init_app(app: Flask) -> None:
    at_once = int(app.config.get("WEB_REQUESTS_AT_ONCE") or 0)
    if at_once > 0:
        app.wsgi_app = Admission(app.wsgi_app, at_once)
