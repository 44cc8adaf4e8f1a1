"""Departments' deadline to accept (001 §四(二)3): each co-handling department decides 受理 or
不予受理 "within 1 working day of receiving the materials".

The department receives the materials when the intake is pushed to the platform, so the clock
starts at the push: the decision is due by the end of the first working day after the local day
of the push (a push on Friday evening before 国庆 is due on the first working day after the
holiday; a push on a 调休 Saturday counts that Saturday as the day received). Working days come
from app.workdays (China's calendar, with the catalog's table for a year).

What the supervisor's figure needs is kept on the submission (like the other item outcomes):
`acceptance_due`, `acceptance_pending` (an item still undecided) and `acceptance_late` (an item
first decided after the due day). `overdue_items` lists the items behind the figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.catalog import Catalog
from app.clock import STATION_TZ, add_working_days, local_day
from local_db.engine import write_tx
from local_db.models import Submission, SubmissionItem


def due_day(pushed_at: dt.datetime) -> dt.date:
    return add_working_days(local_day(pushed_at), 1)


def outcomes(
    pushed_at: dt.datetime | None,
    items: Iterable[tuple[bool, dt.datetime | None]],
    due: dt.date | None = None,
) -> dict[str, Any]:
    """The submission's acceptance columns from its push time and ITEMS as (active, first
    decision time); DUE when already fixed (a later catalog calendar does not move it)."""
    if pushed_at is None:
        return {"acceptance_due": None, "acceptance_pending": False, "acceptance_late": False}
    due = due or due_day(pushed_at)
    firsts = [first for active, first in items if active]
    return {
        "acceptance_due": due,
        "acceptance_pending": any(first is None for first in firsts),
        "acceptance_late": any(first is not None and local_day(first) > due for first in firsts),
    }


def refresh(sub: Submission) -> None:
    """Recompute the submission's acceptance facts from its items (after a push or a decision)."""
    if sub.pushed_at is None:
        return
    facts = outcomes(
        sub.pushed_at, ((i.active, i.first_decided_at) for i in sub.items), sub.acceptance_due
    )
    sub.acceptance_due = facts["acceptance_due"]
    sub.acceptance_pending = facts["acceptance_pending"]
    sub.acceptance_late = facts["acceptance_late"]


def record_first_decision(item: SubmissionItem, at: dt.datetime) -> None:
    """The first decision is the acceptance decision (a later 办结 does not move it)."""
    if item.first_decided_at is None:
        item.first_decided_at = at


def overdue_condition(now: dt.datetime) -> Any:
    """SQL condition on a submission: an item decided after its due day, or still undecided
    once its due day has passed."""
    today = now.astimezone(STATION_TZ).date()
    return and_(
        Submission.acceptance_due.is_not(None),
        Submission.state != "withdrawn",
        or_(
            Submission.acceptance_late.is_(True),
            and_(Submission.acceptance_pending.is_(True), Submission.acceptance_due < today),
        ),
    )


def fill_missing_due(sessions: sessionmaker[Session], where: Any) -> int:
    """Due days of pushed submissions matching WHERE that have none (pushed before the store
    tracked it: migration 0014 cannot count working days); returns how many were filled."""
    missing = and_(where, Submission.pushed_at.is_not(None), Submission.acceptance_due.is_(None))
    with sessions() as s:
        if s.scalar(select(Submission.id).where(missing).limit(1)) is None:
            return 0  # the usual case: a read, no write transaction
    with write_tx(sessions) as s:
        subs = s.scalars(select(Submission).where(missing)).all()
        for sub in subs:
            refresh(sub)
        return len(subs)


@dataclass(frozen=True)
class OverdueAcceptance:
    submission_id: str
    number: str
    item_id: str
    item_name: str
    department: str
    pushed_at: dt.datetime
    due: dt.date
    decided_at: dt.datetime | None  # None: still undecided

    @property
    def status(self) -> str:
        if self.decided_at is None:
            return "仍未作出受理决定"
        return f"{local_day(self.decided_at):%m月%d日}作出决定（逾期）"


def overdue_items(
    s: Session, where: Any, now: dt.datetime, catalog: Callable[[str], Catalog]
) -> list[OverdueAcceptance]:
    """The items behind the figure among the submissions matching WHERE, oldest due first.
    CATALOG gives the catalog a submission was checked against (by digest), for names and the
    department in the station's jurisdiction."""
    today = now.astimezone(STATION_TZ).date()
    rows = s.execute(
        select(Submission, SubmissionItem)
        .join(SubmissionItem, SubmissionItem.submission_id == Submission.id)
        .where(where, overdue_condition(now), SubmissionItem.active.is_(True))
        .order_by(Submission.acceptance_due, Submission.number, SubmissionItem.position)
    ).all()
    out: list[OverdueAcceptance] = []
    for sub, item in rows:
        due = sub.acceptance_due
        assert due is not None and sub.pushed_at is not None
        first = item.first_decided_at
        if first is None and due >= today:
            continue
        if first is not None and local_day(first) <= due:
            continue
        cat = catalog(sub.catalog_digest)
        bundle = cat.bundle(sub.bundle_id or "")
        found = next((i for i in bundle.items if i.id == item.item_id), None) if bundle else None
        out.append(
            OverdueAcceptance(
                submission_id=sub.id,
                number=sub.number or "",
                item_id=item.item_id,
                item_name=found.name if found else item.item_id,
                department=found.department_in(sub.jurisdiction) if found else "",
                pushed_at=sub.pushed_at,
                due=due,
                decided_at=first,
            )
        )
    return out
