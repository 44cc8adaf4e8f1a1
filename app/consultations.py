"""Consultations (咨询): a 办事指南 given at the window before any applicant exists.

Each printed guide is recorded — bundle, items, situation answers, clerk, time, never a person —
and counted in the ledger's figures as 咨询, apart from intakes (it is not one: no applicant, no
materials, no number).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import audit
from app.catalog import Catalog
from app.clock import Clock, local_day
from app.guide import GuideDocument, build_guide
from app.staff import StaffService
from app.views import StaffView
from local_db.engine import write_tx
from local_db.models import Consultation


def count(s: Session, start: dt.date, end: dt.date) -> int:
    """Consultations recorded on local days START..END (inclusive)."""
    return int(
        s.scalar(
            select(func.count())
            .select_from(Consultation)
            .where(Consultation.local_date.between(start.isoformat(), end.isoformat()))
        )
        or 0
    )


class ConsultationService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Callable[[], Catalog],
        staff: StaffService,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._staff = staff
        self._clock = clock

    def guide(
        self,
        actor: StaffView | None,
        bundle: str,
        *,
        items: Sequence[str] | None = None,
        answers: Mapping[str, object] | None = None,
        where: str = "",
        numbered: bool = True,
    ) -> GuideDocument:
        """The 办事指南 for BUNDLE with ITEMS and ANSWERS at this station; NUMBERED: it carries
        a 咨询编号 (a consultation, counted by `record` once printed; a leaflet for the rack has
        none). ACTOR None: the command line."""
        station = self._staff.local_station()
        now = self._clock.now()
        reference = f"ZX{local_day(now):%Y%m%d}-{uuid.uuid4().hex[:6].upper()}" if numbered else ""
        doc, _checklist = build_guide(
            self._catalog(),
            bundle,
            items=items,
            answers=answers,
            jurisdiction=station.jurisdiction,
            centre_name=station.centre_name,
            station_name=station.name,
            where=where or f"{station.centre_name}综合受理窗口",
            progress_phone=station.progress_phone,
            clerk_name=actor.display_name if actor else "",
            issued_at=now,
            reference=reference,
        )
        return doc

    def record(self, actor: StaffView | None, doc: GuideDocument) -> None:
        """Count DOC (printed) as a consultation of this station, at its time."""
        station_id = self._staff.local_station().id
        now = doc.issued_at
        with write_tx(self._sessions) as s:
            s.add(
                Consultation(
                    id=str(uuid.uuid4()),
                    station_id=station_id,
                    clerk_id=actor.id if actor else None,
                    bundle_id=doc.bundle_id,
                    catalog_version=self._catalog().version,
                    items=json.dumps(list(doc.item_ids)),
                    answers=json.dumps(dict(doc.answer_values), ensure_ascii=False, default=str),
                    local_date=local_day(now).isoformat(),
                    created_at=now,
                )
            )
            audit.append(
                s,
                at=now,
                staff_id=actor.id if actor else None,
                action="consultation.guide",
                target=doc.reference,
                detail=doc.bundle_id,
            )

    def count(self, start: dt.date, end: dt.date) -> int:
        with self._sessions() as s:
            return count(s, start, end)
