"""移交清单: the paper originals of the day's intakes handed to each bundle's lead department.

The window keeps the paper it received until someone of the lead department (牵头部门, from the
catalog: Bundle.lead_department_in) collects it. A batch lists every intake of one day and one
department whose paper has not gone yet, with each collected material's form (原件/复印件),
copies and captured pages; creating it records the hand-over per intake (batch, who received it,
when) in `handover_lines` and as a `handed_over` event, which syncs to the hub. An intake's paper
is handed over once (a unique line per intake), so two windows cannot list it twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit
from app.agent import PRIORITIES
from app.clock import STATION_TZ
from app.documents import FORM_LABELS
from app.errors import IntakeError
from app.intake_base import IntakeBase
from app.views import StaffView
from local_db.models import (
    Applicant,
    Attachment,
    HandoverBatch,
    HandoverLine,
    Staff,
    Station,
    Submission,
)

log = logging.getLogger("intake.handover")

# Stages whose paper is at the window: received and not withdrawn (withdrawn paper goes back).
HANDOVER_STAGES = ("received", "digitised", "pushed", "accepted", "rejected", "completed")
MAX_RECEIVER = 64
RECEIVER_LABEL = "接收部门接收人"  # {who} of the catalog's person.name message


@dataclass(frozen=True)
class PaperLine:
    name: str
    form: str  # 原件 / 复印件 / 原件及复印件
    copies: int
    pages: int | None  # captured pages, when captured


@dataclass(frozen=True)
class HandoverEntry:
    """One intake on a list: its paper."""

    submission_id: str
    number: str
    bundle_name: str
    applicant_name: str
    department: str
    priority: str  # label, "" for none
    paper: tuple[PaperLine, ...]


@dataclass(frozen=True)
class HandoverList:
    """A 移交清单 as printed (printing/handover.py)."""

    number: str  # batch number, e.g. YJ-20261207-01
    department: str
    day: dt.date
    centre_name: str
    station_name: str
    clerk_name: str  # 移交人
    received_by: str  # 接收人
    created_at: dt.datetime  # aware, station time
    entries: tuple[HandoverEntry, ...]

    @property
    def sheets(self) -> int:
        return sum(p.pages or 0 for e in self.entries for p in e.paper)


@dataclass(frozen=True)
class BatchView:
    id: str
    number: str
    department: str
    day: dt.date
    clerk_name: str
    received_by: str
    created_at: dt.datetime
    intakes: int


class HandoverService(IntakeBase):
    """Pending paper per lead department, hand-over batches, and their lists."""

    def pending(self, day: dt.date, department: str | None = None) -> list[HandoverEntry]:
        """Intakes booked on DAY whose paper is still at the window (for DEPARTMENT, or all)."""
        with self._sessions() as s:
            done = select(HandoverLine.submission_id)
            subs = s.scalars(
                select(Submission)
                .where(
                    Submission.local_date == day.isoformat(),
                    Submission.state.in_(HANDOVER_STAGES),
                    Submission.id.not_in(done),
                )
                .order_by(Submission.number)
            ).all()
            out = [self._entry(s, sub) for sub in subs]
        return [e for e in out if e.paper and (department is None or e.department == department)]

    def departments(self, day: dt.date) -> dict[str, int]:
        """Lead department -> intakes of DAY whose paper waits for it."""
        counts: dict[str, int] = {}
        for e in self.pending(day):
            counts[e.department] = counts.get(e.department, 0) + 1
        return dict(sorted(counts.items()))

    def create(
        self,
        actor: StaffView,
        department: str,
        day: dt.date,
        received_by: str,
        numbers: Sequence[str] | None = None,
    ) -> HandoverList:
        """Hand DEPARTMENT the paper of DAY's pending intakes (only NUMBERS, when given);
        RECEIVED_BY is the department's person who signs for it."""
        receiver = " ".join(received_by.split())
        if not receiver or len(receiver) > MAX_RECEIVER:
            raise IntakeError("person.name", field="received_by", who=RECEIVER_LABEL)
        entries = self.pending(day, department)
        if numbers is not None:
            unknown = sorted(set(numbers) - {e.number for e in entries})
            if unknown:
                raise IntakeError("handover.not_pending", numbers="、".join(unknown))
            entries = [e for e in entries if e.number in set(numbers)]
        if not entries:
            raise IntakeError("handover.nothing", department=department, day=day.isoformat())
        now = self._clock.now()
        with self._tx() as s:
            seq = self._next(s, f"handover:{day.isoformat()}")
            batch = HandoverBatch(
                id=str(uuid.uuid4()),
                number=f"YJ-{day:%Y%m%d}-{seq:02d}",
                department=department,
                local_date=day.isoformat(),
                station_id=actor.station_id,
                clerk_id=actor.id,
                received_by=receiver,
                created_at=now,
            )
            s.add(batch)
            s.flush()
            for n, e in enumerate(entries, start=1):
                sub, state = self._load(s, e.submission_id)
                s.add(HandoverLine(batch_id=batch.id, submission_id=sub.id, position=n))
                payload = {
                    "batch": batch.id,
                    "batch_number": batch.number,
                    "department": department,
                    "received_by": receiver,
                    "materials": len(e.paper),
                }
                self._event(s, sub, state, actor, "handed_over", payload)
            audit.append(
                s,
                at=now,
                staff_id=actor.id,
                action="handover.create",
                target=batch.number,
                detail=f"{len(entries)} intakes",
            )
            s.flush()
        log.info("handover %s: %d intakes", batch.number, len(entries))
        return self.document(batch.number)

    def batches(self, day: dt.date | None = None) -> list[BatchView]:
        with self._sessions() as s:
            q = (
                select(HandoverBatch, Staff.display_name, func.count(HandoverLine.submission_id))
                .join(Staff, Staff.id == HandoverBatch.clerk_id)
                .join(HandoverLine, HandoverLine.batch_id == HandoverBatch.id)
                .group_by(HandoverBatch.id, Staff.display_name)
                .order_by(HandoverBatch.created_at)
            )
            if day is not None:
                q = q.where(HandoverBatch.local_date == day.isoformat())
            return [
                BatchView(
                    b.id,
                    b.number,
                    b.department,
                    dt.date.fromisoformat(b.local_date),
                    clerk,
                    b.received_by,
                    b.created_at.astimezone(STATION_TZ),
                    n,
                )
                for b, clerk, n in s.execute(q).all()
            ]

    def document(self, batch_number: str) -> HandoverList:
        """The list of a batch, rebuilt from the store (reprints read the same)."""
        with self._sessions() as s:
            batch = s.scalars(
                select(HandoverBatch).where(HandoverBatch.number == batch_number.strip())
            ).first()
            if batch is None:
                raise IntakeError("handover.unknown", number=batch_number[:40])
            station = s.get(Station, batch.station_id)
            clerk = s.get(Staff, batch.clerk_id)
            sids = s.scalars(
                select(HandoverLine.submission_id)
                .where(HandoverLine.batch_id == batch.id)
                .order_by(HandoverLine.position)
            ).all()
            entries = []
            for sid in sids:
                sub = s.get(Submission, sid)
                assert sub is not None
                entries.append(self._entry(s, sub))
            return HandoverList(
                number=batch.number,
                department=batch.department,
                day=dt.date.fromisoformat(batch.local_date),
                centre_name=station.centre_name if station else "",
                station_name=station.name if station else "",
                clerk_name=clerk.display_name if clerk else "",
                received_by=batch.received_by,
                created_at=batch.created_at.astimezone(STATION_TZ),
                entries=tuple(entries),
            )

    def handed_over(self, sid: str) -> str | None:
        """The batch number an intake's paper went with, or None."""
        with self._sessions() as s:
            return s.scalars(
                select(HandoverBatch.number)
                .join(HandoverLine, HandoverLine.batch_id == HandoverBatch.id)
                .where(HandoverLine.submission_id == sid)
            ).first()

    def _entry(self, s: Session, sub: Submission) -> HandoverEntry:
        bundle = self._require_bundle(sub)
        result = self._result(s, sub)
        pages = dict(
            s.execute(
                select(Attachment.material_id, func.count())
                .where(Attachment.submission_id == sub.id, Attachment.removed.is_(False))
                .group_by(Attachment.material_id)
            ).all()
        )
        # Paper the window holds: every line collected at the counter (tolerated ones handed in
        # later show as collected once supplemented).
        owed = set(self._projection(s, sub).tolerated_outstanding)
        paper = tuple(
            PaperLine(
                line.name,
                FORM_LABELS.get(line.form, "复印件"),
                line.copies,
                pages.get(line.id),
            )
            for line in result.materials
            if (line.state == "collected" or (line.state == "tolerated" and line.id not in owed))
            and line.copies > 0
        )
        applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
        return HandoverEntry(
            submission_id=sub.id,
            number=sub.number or "",
            bundle_name=bundle.name,
            applicant_name=applicant.name if applicant else "",
            department=bundle.lead_department_in(sub.jurisdiction),
            priority=PRIORITIES.get(sub.priority, ""),
            paper=paper,
        )
