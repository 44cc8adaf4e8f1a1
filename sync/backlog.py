"""What the window shows of the sync engine: the link's state for the indicator, and the backlog
(intakes waiting, items failing or parked for a person) for the queue view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from local_db.models import Event, Submission
from sync.errors import SyncError, sync_error
from sync.outbox import Outbox
from sync.status import Problem, QueueItem, SyncStatus

OFFLINE_CODES = {"sync.offline", "sync.timeout", "sync.interrupted", "sync.proxy"}
PERSON_CODES = {"sync.unauthorized", "sync.tls", "sync.not_enrolled", "sync.keyring"}


@dataclass(frozen=True)
class LinkView:
    """The loop's view of the link at this moment."""

    problem: SyncError | None  # the last link failure, None while the link works
    last_success: dt.datetime | None
    next_attempt: dt.datetime | None  # when a backoff ends
    failures: int  # link failures in a row


def _problem(e: SyncError) -> Problem:
    return Problem(e.code, e.message, e.fix)


def link_status(outbox: Outbox, link: LinkView, now: dt.datetime) -> SyncStatus:
    cursor = outbox.cursor()
    events, subs, oldest = outbox.waiting(cursor)
    problem = link.problem
    enrolled = outbox.get("hub_url") is not None
    if not enrolled:
        state = "not_enrolled"
        problem = problem or sync_error("sync.not_enrolled", retry=False)
    elif problem is None:
        state = "online" if link.last_success else "unknown"
    elif problem.code in OFFLINE_CODES:
        state = "offline"
    elif problem.code == "sync.not_enrolled":
        state = "not_enrolled"
    else:
        state = "error"
    return SyncStatus(
        state=state,  # type: ignore[arg-type]
        waiting=subs,
        waiting_events=events,
        oldest_waiting_at=oldest,
        oldest_waiting_seconds=(now - oldest).total_seconds() if oldest else None,
        needs_person=outbox.count_needs_person(),
        last_success_at=link.last_success,
        next_attempt_at=link.next_attempt,
        problem=_problem(problem) if problem else None,
        station_code=outbox.get("station_code"),
        hub_url=outbox.get("hub_url"),
    )


def needs_person(outbox: Outbox, problem: SyncError | None) -> bool:
    return (
        outbox.count_needs_person() > 0
        or (problem is not None and problem.code in PERSON_CODES)
        or outbox.get("hub_url") is None
    )


def backlog(
    outbox: Outbox, sessions: sessionmaker[Session], link: LinkView, limit: int = 500
) -> list[QueueItem]:
    """Submissions waiting (oldest first), then items that failed or wait for a person."""
    groups, numbers = _waiting(outbox, sessions, limit)
    problem = link.problem
    out: list[QueueItem] = []
    for n, (sid, evs) in enumerate(list(groups.items())[:limit]):
        head = n == 0 and problem is not None  # the link's failure holds up the oldest
        out.append(
            QueueItem(
                id=f"sub:{sid}",
                kind="submission",
                state="retrying" if head else "waiting",
                submission_id=sid,
                number=numbers.get(sid),
                events=len(evs),
                pages=sum(1 for e in evs if e.type == "page_attached"),
                attempts=link.failures if head else 0,
                since=evs[0].at,
                last_error=_problem(problem) if head and problem else None,
                next_retry_at=link.next_attempt if head else None,
            )
        )
    for item in outbox.items(states=("failing", "needs_person", "retry")):
        out.append(
            QueueItem(
                id=f"item:{item.id}",
                kind=item.kind,  # type: ignore[arg-type]
                state=item.state,  # type: ignore[arg-type]
                submission_id=item.submission_id,
                number=numbers.get(item.submission_id or "")
                or _number(sessions, item.submission_id),
                events=1 if item.kind == "event" else 0,
                pages=1 if item.kind == "page" else 0,
                attempts=item.attempts,
                since=item.first_failed_at,
                last_error=Problem(item.error_code, item.error_message, item.fix),
                next_retry_at=item.next_retry_at,
                detail={"key": item.key, "seq": item.station_seq},
            )
        )
    return out


def _waiting(
    outbox: Outbox, sessions: sessionmaker[Session], limit: int
) -> tuple[dict[str, list[Any]], dict[str, str | None]]:
    """Events above the cursor grouped by submission (in order), and the first LIMIT numbers."""
    cursor = outbox.cursor()
    with sessions() as s:
        rows = s.execute(
            select(Event.submission_id, Event.type, Event.at, Event.station_seq)
            .where(Event.station_seq > cursor)
            .order_by(Event.station_seq)
        ).all()
        groups: dict[str, list[Any]] = {}
        for r in rows:
            groups.setdefault(r.submission_id, []).append(r)
        numbers = dict(
            s.execute(
                select(Submission.id, Submission.number).where(
                    Submission.id.in_(list(groups)[:limit])
                )
            ).all()
        )
    return groups, numbers


def _number(sessions: sessionmaker[Session], sid: str | None) -> str | None:
    if not sid:
        return None
    with sessions() as s:
        return s.scalar(select(Submission.number).where(Submission.id == sid))
