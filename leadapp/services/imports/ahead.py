"""The write stage's pipeline: the next batches are built (rows picked, leads laid out,
serialised for ``COPY`` or ``executemany``) in a thread while the database writes the
current one.

One builder thread is enough: the writer spends its time waiting on the database (psycopg
and sqlite3 release the GIL while the server works), which is when the builder's pandas
and Arrow work runs. The queue is bounded (``depth`` results ahead), so memory stays at a
few batches whatever the file's size. The builder never touches the session: it gets
plain values and returns plain values."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


class _Failed:
    """What the builder hands over instead of a result when building one failed."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def built_ahead(items: Iterable[T], build: Callable[[T], R], depth: int = 1) -> Iterator[R]:
    """``build(item)`` for each item, in order, each built in a thread while the caller
    works on the previous ones (at most ``depth`` waiting).

    An exception raised by ``build`` is raised here, to the caller, where its result would
    have come: the batches before it were handed over (and written), nothing after it is
    built. Closing the iterator early (the caller's own error) stops the thread and waits
    for it, so no builder outlives the import that started it."""
    ready: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def hand_over(value) -> bool:
        # Wait for room, but give up as soon as the caller has gone.
        while not stop.is_set():
            try:
                ready.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def builder() -> None:
        try:
            for item in items:
                if stop.is_set() or not hand_over(build(item)):
                    return
        except BaseException as exc:  # handed to the caller, raised in its thread
            hand_over(_Failed(exc))
            return
        hand_over(_DONE)

    thread = threading.Thread(target=builder, name="import-builder", daemon=True)
    thread.start()
    try:
        while True:
            value = ready.get()
            if value is _DONE:
                return
            if isinstance(value, _Failed):
                raise value.exc
            yield value
    finally:
        stop.set()
        thread.join()
