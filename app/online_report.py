"""The supervisor's figure 线上申请2小时内审核: this station's online reviews answered within two
hours of the application's arrival at the hub, over all it answered (both times are the hub's,
so a station clock that is off does not move the figure). Applications still waiting are
pending, not missed; an answer kept while offline counts once the hub has it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import day_bounds
from local_db.models import OnlineApplication, Station

REVIEW_WINDOW = dt.timedelta(hours=2)  # 001 §四(二)2


def online_review_counts(s: Session, start: dt.date, end: dt.date) -> tuple[int, int, int]:
    """(answered within 2 h, answered, pending) for applications that arrived from START to END
    (local days, inclusive) and that this station claimed."""
    me = s.scalar(select(Station.code).where(Station.is_local.is_(True)))
    lo, hi = day_bounds(start)[0], day_bounds(end)[1]
    t = OnlineApplication
    rows = s.execute(
        select(t.status, t.received_at, t.answered_at).where(
            t.claimed_by == me, t.received_at >= lo, t.received_at < hi
        )
    ).all()
    answered = [(r, a) for status, r, a in rows if status == "answered" and a is not None]
    within = sum(1 for r, a in answered if a - r <= REVIEW_WINDOW)
    pending = sum(1 for status, _r, _a in rows if status in ("claimed", "answering"))
    return within, len(answered), pending
