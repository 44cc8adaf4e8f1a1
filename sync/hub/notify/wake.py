"""Waking this process's notice sender when a transaction that queued a notice has committed,
instead of polling the outbox every few seconds.

queue_notice marks the connection of the transaction it writes in; when that connection goes
back to the pool (after its commit, or its rollback: then the wake is spurious and costs one
empty look at the outbox) the listener the sender installed on the engine's pool wakes it. The
pool's check-in comes after the COMMIT returned, so the woken sender sees the row. Notices queued
by another process are sent by that process's own sender; what no sender was told of (a
`intake hub notices --retry` from the command line, a claim left by a process that died) is
found by the sender's backstop poll (`notify_interval`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

QUEUED = "intake.notice_queued"


def mark_queued(s: Session | Connection) -> None:
    """Note on S's connection that its transaction queued a notice."""
    conn = s.connection() if isinstance(s, Session) else s
    conn.info[QUEUED] = True


def on_queued(engine: Any, wake: Callable[[], None]) -> Callable[[], None]:
    """Call WAKE each time a connection of ENGINE that queued a notice is returned to the pool;
    returns the function that stops it."""

    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(QUEUED, False):
            wake()

    event.listen(engine, "checkin", _checkin)

    def remove() -> None:
        if event.contains(engine.pool, "checkin", _checkin):
            event.remove(engine.pool, "checkin", _checkin)

    return remove
