"""好差评: the applicant's rating of a finished intake, and the follow-up (整改) of every 差评.

The five national levels (政务服务"好差评"): 非常满意, 满意, 基本满意 are 好评; 不满意 and
非常不满意 are 差评 and need at least one reason. One rating per intake: a second one is refused
and the first is kept. An applicant who declines is recorded as 未评价 (no level), which a later
rating of the same intake may still replace. Every 差评 opens a follow-up due one working day
after the rating; a supervisor closes it with a note; an open one past its due day is overdue.

The rating is an event of the intake ("rated", "rating_declined", "rating_followed_up"), so it
reaches the hub with the intake's other events, once (the hub stores events by id). Its payload
names the intake and the serving clerk's id, the level and reason codes, never the applicant's
free text (kept here, encrypted).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.clock import add_working_days, local_day
from app.errors import IntakeError
from app.intake_base import IntakeBase
from app.rating_levels import (
    BAD_LEVELS,
    DECLINED_LABEL,
    LEVEL_LABELS,
    LEVELS,
    MAX_TEXT,
    REASON_LABELS,
)
from app.staff import StaffService
from app.state import is_intake
from app.views import StaffView
from local_db.models import Rating, Staff, Submission

log = logging.getLogger("intake.ratings")

FOLLOWUP_DAYS = 1  # 差评 follow-up within one working day (002 §三(三))


def parse_level(text: str) -> str:
    """A level from its code, its Chinese label or its score 1–5 (5 = 非常满意)."""
    t = text.strip()
    for code, label, score in LEVELS:
        if t in (code, label, str(score)):
            return code
    raise IntakeError("rating.level")


def is_bad(level: str | None) -> bool:
    return level in BAD_LEVELS


@dataclass(frozen=True)
class RatingView:
    id: int
    submission_id: str
    number: str
    clerk_id: int
    clerk_name: str
    level: str | None  # None: 未评价
    reasons: tuple[str, ...]
    reason_text: str
    rated_at: dt.datetime
    followup_due: dt.date | None
    followup_closed_at: dt.datetime | None
    followup_note: str
    overdue: bool  # an open follow-up past its due day (as of the time it was read)

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level] if self.level else DECLINED_LABEL

    @property
    def reason_labels(self) -> tuple[str, ...]:
        return tuple(REASON_LABELS.get(r, r) for r in self.reasons)

    @property
    def followup_open(self) -> bool:
        return self.followup_due is not None and self.followup_closed_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "clerk_id": self.clerk_id,
            "clerk": self.clerk_name,
            "level": self.level,
            "level_label": self.level_label,
            "reasons": list(self.reasons),
            "reason_text": self.reason_text,
            "rated_at": self.rated_at.isoformat(),
            "followup_due": self.followup_due.isoformat() if self.followup_due else None,
            "followup_closed_at": (
                self.followup_closed_at.isoformat() if self.followup_closed_at else None
            ),
            "followup_note": self.followup_note,
            "overdue": self.overdue,
        }


def overdue(due: dt.date | None, closed: dt.datetime | None, now: dt.datetime) -> bool:
    return due is not None and closed is None and local_day(now) > due


class RatingService(IntakeBase):
    """Record, decline, list and follow up ratings. ACTOR None: the machine's administrator at
    the command line (app/cli), who holds every right of the store anyway."""

    def __init__(self, *args: Any, staff: StaffService | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._staff = staff or StaffService(self._sessions, self._clock)

    # -- commands ---------------------------------------------------------------------------

    def rate(
        self,
        actor: StaffView | None,
        sid: str,
        level: str,
        reasons: tuple[str, ...] | list[str] = (),
        text: str = "",
    ) -> RatingView:
        if level not in LEVEL_LABELS:
            raise IntakeError("rating.level")
        reasons = tuple(dict.fromkeys(reasons))
        text = text.strip()
        _check_reasons(level, reasons, text)
        with self._tx() as s:
            sub, state = self._load(s, sid)
            _check_finished(sub)
            row = s.scalar(select(Rating).where(Rating.submission_id == sid))
            if row is not None and row.level is not None:
                raise IntakeError(
                    "rating.duplicate", number=sub.number, level_label=LEVEL_LABELS[row.level]
                )
            payload = {
                "number": sub.number,
                "clerk_id": sub.clerk_id,
                "level": level,
                "reasons": list(reasons),
            }
            self._event(s, sub, state, actor, "rated", payload)
            now = self._clock.now()
            fields = {
                "recorded_by": actor.id if actor else None,
                "level": level,
                "reasons": ",".join(reasons),
                "reason_text": text,
                "rated_at": now,
                "local_date": local_day(now).isoformat(),
                "event_id": self._last_event_id(s, sid),
                "followup_due": (
                    add_working_days(local_day(now), FOLLOWUP_DAYS) if is_bad(level) else None
                ),
            }
            if row is None:
                row = Rating(submission_id=sid, clerk_id=sub.clerk_id, **fields)
                s.add(row)
            else:  # replaces a 未评价
                for name, value in fields.items():
                    setattr(row, name, value)
            audit.append(
                s,
                at=now,
                staff_id=actor.id if actor else None,
                action="rating.added",
                target=sub.number or sid,
                detail=level,
            )
            s.flush()
            rid = row.id
        log.info("intake %s rated %s", sub.number, level)
        return self.get_by_id(rid)

    def decline(self, actor: StaffView | None, sid: str) -> RatingView:
        """The applicant declined to rate: recorded as 未评价, not as a rating."""
        with self._tx() as s:
            sub, state = self._load(s, sid)
            _check_finished(sub)
            row = s.scalar(select(Rating).where(Rating.submission_id == sid))
            if row is not None:
                label = LEVEL_LABELS[row.level] if row.level else DECLINED_LABEL
                raise IntakeError("rating.duplicate", number=sub.number, level_label=label)
            self._event(s, sub, state, actor, "rating_declined", {"number": sub.number})
            now = self._clock.now()
            event_id = self._last_event_id(s, sid)
            row = Rating(
                submission_id=sid,
                clerk_id=sub.clerk_id,
                recorded_by=actor.id if actor else None,
                level=None,
                reasons="",
                reason_text="",
                rated_at=now,
                local_date=local_day(now).isoformat(),
                event_id=event_id,
            )
            s.add(row)
            s.flush()
            rid = row.id
        return self.get_by_id(rid)

    def close_followup(self, actor: StaffView | None, rating_id: int, note: str) -> RatingView:
        """A supervisor closes a 差评's follow-up (整改) with what was done."""
        if actor is not None:
            self._staff.authorize(actor, "rating.followup")
        note = note.strip()
        if not note or len(note) > MAX_TEXT:
            raise IntakeError("rating.note", limit=MAX_TEXT)
        with self._tx() as s:
            row = s.get(Rating, rating_id)
            if row is None:
                raise IntakeError("rating.not_found", rating=rating_id)
            sub, state = self._load(s, row.submission_id)
            if row.followup_due is None:
                raise IntakeError("rating.no_followup", number=sub.number)
            if row.followup_closed_at is not None:
                raise IntakeError("rating.followup_closed", number=sub.number)
            now = self._clock.now()
            late = overdue(row.followup_due, None, now)
            payload = {"number": sub.number, "rating_event": row.event_id, "late": late}
            self._event(s, sub, state, actor, "rating_followed_up", payload)
            row.followup_closed_at = now
            row.followup_closed_by = actor.id if actor else None
            row.followup_note = note
            audit.append(
                s,
                at=now,
                staff_id=actor.id if actor else None,
                action="rating.followup_closed",
                target=sub.number or sub.id,
                detail="late" if late else "in_time",
            )
        return self.get_by_id(rating_id)

    # -- queries ----------------------------------------------------------------------------

    def get(self, sid: str) -> RatingView | None:
        with self._sessions() as s:
            rid = s.scalar(select(Rating.id).where(Rating.submission_id == sid))
        return None if rid is None else self.get_by_id(rid)

    def get_by_id(self, rating_id: int) -> RatingView:
        views = self._views(Rating.id == rating_id)
        if not views:
            raise IntakeError("rating.not_found", rating=rating_id)
        return views[0]

    def list_ratings(
        self,
        start: dt.date | None = None,
        end: dt.date | None = None,
        *,
        open_only: bool = False,
    ) -> list[RatingView]:
        """Ratings given from START to END (local days, inclusive), newest first; OPEN_ONLY:
        every 差评 whose follow-up is still open, whatever its day."""
        conds: list[Any] = []
        if start is not None:
            conds.append(Rating.local_date >= start.isoformat())
        if end is not None:
            conds.append(Rating.local_date <= end.isoformat())
        if open_only:
            conds += [Rating.followup_due.is_not(None), Rating.followup_closed_at.is_(None)]
        return self._views(*conds)

    def _views(self, *conds: Any) -> list[RatingView]:
        now = self._clock.now()
        with self._sessions() as s:
            rows = s.execute(
                select(Rating, Submission.number, Staff.display_name)
                .join(Submission, Submission.id == Rating.submission_id)
                .join(Staff, Staff.id == Rating.clerk_id)
                .where(*conds)
                .order_by(Rating.rated_at.desc(), Rating.id.desc())
            ).all()
        return [_view(r, number or "", clerk, now) for r, number, clerk in rows]

    @staticmethod
    def _last_event_id(s: Session, sid: str) -> str:
        from local_db.models import Event

        return str(
            s.scalar(
                select(Event.id)
                .where(Event.submission_id == sid)
                .order_by(Event.station_seq.desc())
                .limit(1)
            )
        )


def _check_finished(sub: Submission) -> None:
    if not is_intake(sub.state):
        raise IntakeError("rating.not_finished")


def _check_reasons(level: str, reasons: tuple[str, ...], text: str) -> None:
    for r in reasons:
        if r not in REASON_LABELS:
            raise IntakeError("rating.reason", reason=r[:20])
    if not is_bad(level):
        if reasons or text:
            raise IntakeError("rating.reasons", variant=2, level_label=LEVEL_LABELS[level])
        return
    if not reasons or ("other" in reasons and not text) or len(text) > MAX_TEXT:
        raise IntakeError("rating.reasons", limit=MAX_TEXT)


def _view(r: Rating, number: str, clerk: str, now: dt.datetime) -> RatingView:
    return RatingView(
        id=r.id,
        submission_id=r.submission_id,
        number=number,
        clerk_id=r.clerk_id,
        clerk_name=clerk,
        level=r.level,
        reasons=tuple(x for x in r.reasons.split(",") if x),
        reason_text=r.reason_text or "",
        rated_at=r.rated_at,
        followup_due=r.followup_due,
        followup_closed_at=r.followup_closed_at,
        followup_note=r.followup_note or "",
        overdue=overdue(r.followup_due, r.followup_closed_at, now),
    )
