"""The supervisor's 好差评 figures: ratings per level over a period, the 满意率, and the 差评
follow-ups (整改) still open and overdue. Called from app.reports.Reports.reconcile."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import local_day
from app.rating_levels import BAD_LEVELS, LEVELS
from local_db.models import Rating


@dataclass(frozen=True)
class RatingFigures:
    counts: Mapping[str, int]  # per level code, in LEVELS order
    declined: int  # 未评价
    open_followups: int  # every 差评 not yet followed up, whatever its day
    overdue_followups: int  # of those, past their due day

    @property
    def rated(self) -> int:
        return sum(self.counts.values())

    @property
    def good(self) -> int:
        """好评: 非常满意, 满意, 基本满意."""
        return sum(n for level, n in self.counts.items() if level not in BAD_LEVELS)

    @property
    def satisfaction(self) -> float | None:
        """满意率 in percent: 好评 over all ratings given (未评价 not counted); None: none."""
        return None if not self.rated else round(100.0 * self.good / self.rated, 1)


def rating_figures(s: Session, start: dt.date, end: dt.date, now: dt.datetime) -> RatingFigures:
    in_period = Rating.local_date.between(start.isoformat(), end.isoformat())
    per_level = dict(
        s.execute(select(Rating.level, func.count()).where(in_period).group_by(Rating.level)).all()
    )
    open_rows = Rating.followup_due.is_not(None), Rating.followup_closed_at.is_(None)
    open_n = s.scalar(select(func.count()).select_from(Rating).where(*open_rows)) or 0
    today = local_day(now)
    overdue_n = (
        s.scalar(
            select(func.count()).select_from(Rating).where(*open_rows, Rating.followup_due < today)
        )
        or 0
    )
    return RatingFigures(
        counts={code: int(per_level.get(code, 0)) for code, _label, _score in LEVELS},
        declined=int(per_level.get(None, 0)),
        open_followups=int(open_n),
        overdue_followups=int(overdue_n),
    )
