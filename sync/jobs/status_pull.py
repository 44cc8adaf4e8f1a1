"""Department decisions from the hub (GET /v1/status-updates after a cursor), applied to the
local intakes; an update that is malformed or cannot apply is parked for a person and the cursor
moves on."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.intake import IntakeService
from local_db import messages
from local_db.errors import DomainError
from local_db.models import Submission, SubmissionItem
from sync.client import HubClient
from sync.errors import sync_error
from sync.jobs.shared import Work
from sync.outbox import Failure
from sync.protocol import check_status_update

log = logging.getLogger("intake.sync")

_RANK = {None: 0, "accepted": 1, "completed": 2, "rejected": 2}


class StatusPull:
    def __init__(self, work: Work, sessions: sessionmaker[Session], intake: IntakeService) -> None:
        self.work = work
        self.sessions = sessions
        self.intake = intake
        self.due = 0.0  # time.monotonic() of the next pull

    def pull(self, client: HubClient) -> bool:
        """One page of updates; True when the hub has more."""
        outbox = self.work.outbox
        self.due = time.monotonic() + self.work.config.status_interval
        cursor = outbox.get_int("status_cursor")
        answer = client.status_updates(cursor, 200)
        updates = answer["updates"]
        for u in updates:
            c = u.get("cursor") if isinstance(u, dict) else None
            if not isinstance(c, int) or isinstance(c, bool) or c <= cursor:
                raise sync_error("sync.bad_response", variant=18)
            problem = check_status_update(u)
            if problem:
                self._park(c, "sync.bad_status_update", problem, u)
            else:
                self._apply(u)
            cursor = c
            outbox.set(status_cursor=cursor)
        back = answer.get("next_cursor")
        if (
            not updates
            and isinstance(back, int)
            and not isinstance(back, bool)
            and 0 <= back < cursor
        ):
            # The hub's feed ends before our cursor: it was restored from a backup. Read on from
            # its end, or the decisions it records next would fall below our cursor, unseen.
            log.warning(
                "hub's status feed ends at %d, before ours (%d): reading on from there",
                back,
                cursor,
            )
            outbox.set(status_cursor=back)
        return bool(answer.get("more")) and bool(updates)

    def retry(self, client: HubClient, cursor: int) -> None:
        """Fetch the one parked status update that could not apply again (the status cursor went
        past it) and apply it: a decision that arrived before the one it follows applies once
        that one is here; one that still cannot apply is parked again with the new reason."""
        answer = client.status_updates(cursor - 1, 1)
        found = [u for u in answer["updates"] if isinstance(u, dict) and u.get("cursor") == cursor]
        self.work.outbox.resolve("status", str(cursor))  # applying parks it again if it must
        if not found:
            log.info("status update %d is no longer on the hub", cursor)
            return
        problem = check_status_update(found[0])
        if problem:
            self._park(cursor, "sync.bad_status_update", problem, found[0])
        else:
            self._apply(found[0])

    def _park(self, cursor: int, code: str, why: str, u: Any) -> None:
        message, fix = messages.render(code), messages.fix(code)
        sid = (
            u.get("submission_id")
            if isinstance(u, dict) and isinstance(u.get("submission_id"), str)
            else None
        )
        self.work.outbox.record_failure(
            Failure(
                "status", str(cursor), code, f"{message}（{why}）", fix, sid[:36] if sid else None
            ),
            self.work.now(),
            1,
            None,
            park=True,
        )
        self.work.report.decisions_refused += 1
        log.warning("status update %d refused: %s", cursor, code)

    def _apply(self, u: dict[str, Any]) -> None:
        sid, item_id, decision, reason = (
            u["submission_id"],
            u["item_id"],
            u["decision"],
            u.get("reason", ""),
        )
        with self.sessions() as s:
            sub = s.get(Submission, sid)
            row = s.get(SubmissionItem, (sid, item_id))
            state = (sub.state, sub.pushed_at) if sub else None
            current = row.decision if row else None
        if state is None:
            self._park(u["cursor"], "sync.status_not_applicable", "本机没有该受理记录", u)
            return
        if current == decision or _RANK[current] >= 2 or (_RANK[current] > _RANK.get(decision, 0)):
            return  # already recorded (a replay after a crash)
        try:
            if state[1] is None and state[0] in ("received", "digitised"):
                self.intake.mark_pushed(sid)  # the hub holds it: a decision proves it
            self.intake.record_decision(
                None, sid, item_id, decision, reason, decided_at=_hub_time(u.get("decided_at"))
            )
        except DomainError as exc:
            self._park(u["cursor"], "sync.status_not_applicable", exc.message, u)
            return
        self.work.report.decisions_applied += 1


def _hub_time(text: object) -> dt.datetime | None:
    """The hub's decision time (ISO 8601, aware), or None when absent or unreadable."""
    if not isinstance(text, str):
        return None
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None
