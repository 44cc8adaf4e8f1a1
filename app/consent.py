"""一人一档 consent, per person: granted or withdrawn, when, by which clerk (consent_events,
keyed by the blind index of the ID number, never the number itself). The latest event is in force;
each change is audited. The applicant rows of the person carry the consent in force as a
projection (applicants.consent_reuse / consent_at). The reuse itself: app/reuse.py."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.clock import local_day
from app.views import StaffView
from local_db.models import Applicant, ConsentEvent, Submission

log = logging.getLogger("intake.reuse")

ConsentStatus = Literal["granted", "none", "withdrawn", "no_person"]


@dataclass(frozen=True)
class ConsentState:
    status: ConsentStatus
    at: dt.datetime | None = None  # when the consent in force (or its withdrawal) was recorded

    @property
    def granted(self) -> bool:
        return self.status == "granted"


def consent_state(s: Session, bidx: bytes | None, at: dt.datetime | None = None) -> ConsentState:
    """The consent in force for a person (at AT, or now)."""
    if bidx is None:
        return ConsentState("no_person")
    q = select(ConsentEvent).where(ConsentEvent.person_bidx == bidx)
    rows = list(s.scalars(q.order_by(ConsentEvent.id.desc())))
    if at is not None:
        rows = [r for r in rows if r.at <= at]
    if not rows:
        return ConsentState("none")
    last = rows[0]
    return ConsentState("granted" if last.granted else "withdrawn", last.at)


def record_consent(
    s: Session,
    bidx: bytes,
    grant: bool,
    actor: StaffView | None,
    now: dt.datetime,
    sub: Submission | None,
) -> ConsentState:
    """Grant or withdraw (no event when already so); every applicant row of the person follows."""
    current = consent_state(s, bidx)
    if current.granted == grant and current.status != "none":
        return current
    if not grant and current.status == "none":
        return current
    s.add(
        ConsentEvent(
            person_bidx=bidx,
            granted=grant,
            at=now,
            staff_id=actor.id if actor else None,
            submission_id=sub.id if sub else None,
        )
    )
    for a in s.scalars(
        select(Applicant).where(Applicant.resident_id_bidx == bidx, Applicant.kind == "personal")
    ):
        a.consent_reuse, a.consent_at = grant, (now if grant else None)
    audit.append(
        s,
        at=now,
        staff_id=actor.id if actor else None,
        action="consent.granted" if grant else "consent.withdrawn",
        target=(sub.number or sub.id) if sub else "",
        detail="一人一档",
    )
    log.info(
        "consent %s (intake %s)", "granted" if grant else "withdrawn", sub.number if sub else "-"
    )
    return ConsentState("granted" if grant else "withdrawn", now)


def apply_consent(
    s: Session,
    applicant: Applicant,
    requested: bool,
    actor: StaffView | None,
    now: dt.datetime,
    sub: Submission,
) -> None:
    """set_applicant's part: a form saying "consents" grants it; a form without the box never
    withdraws (withdrawal is its own, explicit action). The row shows the consent in force."""
    bidx = applicant.resident_id_bidx if applicant.kind == "personal" else None
    if bidx is None:
        applicant.consent_reuse, applicant.consent_at = False, None
        return
    state = record_consent(s, bidx, True, actor, now, sub) if requested else consent_state(s, bidx)
    applicant.consent_reuse = state.granted
    applicant.consent_at = state.at if state.granted else None


def consent_day(s: Session, applicant: Applicant, at: dt.datetime) -> dt.date | None:
    """The day the consent in force at AT was given (the receipt prints it), or None."""
    bidx = applicant.resident_id_bidx if applicant.kind == "personal" else None
    state = consent_state(s, bidx, at)
    return local_day(state.at) if state.granted and state.at else None
