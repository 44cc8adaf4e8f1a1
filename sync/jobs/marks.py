"""Marking intakes pushed: every digitised intake whose events (and so pages) the hub holds in
full. During a long drain the marks are gathered and written every `mark_every` seconds, between
uploads instead of after each batch: that keeps the local store's commits off the disk while pages
are being made durable (measured: 3 ms a mark instead of 7). A crash before marking is caught by
the sweep at the next start."""

from __future__ import annotations

import logging
import time

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, sessionmaker

from app.intake import IntakeService
from local_db.errors import StoreError
from local_db.models import Event, Submission, SyncItem
from sync.jobs.shared import Work

log = logging.getLogger("intake.sync")


class PushedMarks:
    def __init__(self, work: Work, sessions: sessionmaker[Session], intake: IntakeService) -> None:
        self.work = work
        self.sessions = sessions
        self.intake = intake
        self._to_mark: list[tuple[str, str | None]] = []
        self._due = 0.0

    def ready(self, sids: set[str] | None, *, defer: bool = False) -> None:
        """Mark pushed every digitised intake of SIDS (None: all) the hub holds in full (DEFER:
        later, overlapped with the next requests)."""
        cursor = self.work.outbox.cursor()
        with self.sessions() as s:
            stmt = select(Submission.id, Submission.number).where(
                Submission.state == "digitised",
                Submission.pushed_at.is_(None),
                ~exists().where(
                    and_(Event.submission_id == Submission.id, Event.station_seq > cursor)
                ),
                ~exists().where(
                    and_(
                        SyncItem.submission_id == Submission.id,
                        SyncItem.kind == "event",
                        SyncItem.state.in_(("needs_person", "failing", "retry")),
                    )
                ),
            )
            if sids is not None:
                if not sids:
                    return
                stmt = stmt.where(Submission.id.in_(list(sids)))
            ready = [(sid, number) for sid, number in s.execute(stmt)]
        if defer:
            if not self._to_mark:
                self._due = time.monotonic() + self.work.config.mark_every
            self._to_mark.extend(ready)
        else:
            self._mark(ready)

    def flush_if_due(self) -> None:
        if self._to_mark and time.monotonic() >= self._due:
            self.flush()

    def flush(self) -> None:
        marks, self._to_mark = self._to_mark, []
        self._mark(marks)

    def _mark(self, ready: list[tuple[str, str | None]]) -> None:
        if not ready:
            return
        try:
            # One transaction for the lot; an intake changed meanwhile (withdrawn, already
            # marked) is skipped by the service.
            marked = set(self.intake.mark_pushed_many([sid for sid, _ in ready]))
            self.work.report.pushed.extend(number or sid for sid, number in ready if sid in marked)
        except StoreError as exc:  # the next sweep tries again
            log.warning("marking pushed failed: %s", exc.code)
            return
        log.info("%d intakes pushed", len(ready))
