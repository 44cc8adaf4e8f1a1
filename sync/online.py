"""Online applications at the window: the queue with each application's two hours counting down,
the claim (through the hub: another window might be reviewing it), the review against the same
checklist with the uploaded files as the materials' pages, and the answer — 电子收件回执 when
every material is there, else 电子一次告知通知书 — that goes back through the hub.

The review is a normal intake (a Submission with its events, numbered, in the ledger, synced as
any intake); online_applications links it to the application (its channel). An answer given
while the hub is unreachable is kept and sent by the sync engine (sync/jobs/online.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.errors import IntakeError
from app.views import ApplicantInput, StaffView
from local_db.engine import write_tx
from local_db.errors import DomainError
from local_db.models import OnlineApplication, Station
from printing.documents import build_document
from sync.client import HubClient
from sync.errors import SyncError
from sync.jobs import online as hub
from sync.online_schemas import REVIEW_HOURS

log = logging.getLogger("intake.online")

MARKS = ("received", "missing")  # 收到 / 缺


@dataclass(frozen=True)
class OnlineFileView:
    sha: str
    material_id: str
    name: str
    mime: str
    size: int


@dataclass(frozen=True)
class OnlineView:
    id: str
    platform_ref: str
    bundle_id: str
    applicant_name: str
    received_at: dt.datetime  # arrival at the hub: the two hours count from here
    deadline_at: dt.datetime
    status: str  # open | claimed | answering | answered | refused | gone
    claimed_by: str | None
    mine: bool  # claimed (or answered) by this station
    submission_id: str | None
    decision: str | None
    answered_at: dt.datetime | None
    files: tuple[OnlineFileView, ...]

    def remaining(self, now: dt.datetime) -> dt.timedelta:
        return self.deadline_at - now


@dataclass(frozen=True)
class AnswerResult:
    application_id: str
    submission_id: str
    number: str
    decision: str  # receipt | notice
    missing: tuple[str, ...]
    pdf: bytes
    sent: bool  # False: kept, sent by the sync engine when the hub is reachable
    answered_at: dt.datetime | None


class OnlineService:
    def __init__(self, ctx: Any, engine: Any) -> None:
        self.ctx = ctx  # app.context.AppContext
        self.engine = engine  # sync.engine.SyncEngine

    # ------------------------------------------------------------------ the queue

    def _client(self) -> HubClient:
        try:
            client = self.engine.link.client()
        except SyncError as exc:
            raise IntakeError("online.offline") from exc
        if client is None:
            raise IntakeError("online.not_enrolled")
        return client  # type: ignore[no-any-return]

    def refresh(self) -> int:
        """Pull the queue from the hub now (IntakeError online.offline without the link)."""
        client = self._client()
        try:
            return self.engine.online.pull(client)  # type: ignore[no-any-return]
        except SyncError as exc:
            raise IntakeError("online.offline") from exc

    def send_pending(self, client: HubClient) -> int:
        return self.engine.online.send_pending(client)  # type: ignore[no-any-return]

    def station_code(self) -> str:
        with self.ctx.sessions() as s:
            code = s.scalar(select(Station.code).where(Station.is_local.is_(True)))
        return str(code or "")

    def queue(self, *, done: bool = False) -> list[OnlineView]:
        """Applications waiting for review (and this window's reviews), oldest first; DONE:
        also those answered."""
        states = ("open", "claimed", "answering") + (("answered", "refused") if done else ())
        me = self.station_code()
        with self.ctx.sessions() as s:
            rows = s.scalars(
                select(OnlineApplication)
                .where(OnlineApplication.status.in_(states))
                .order_by(OnlineApplication.received_at)
            ).all()
            return [_view(r, me) for r in rows]

    def get(self, aid: str) -> OnlineView:
        with self.ctx.sessions() as s:
            row = s.get(OnlineApplication, aid) or _by_prefix(s, aid)
            return _view(row, self.station_code())

    # ------------------------------------------------------------------ claim and review

    def claim(self, actor: StaffView, aid: str) -> OnlineView:
        """Claim through the hub (never offline: another window might be reviewing it), then
        open the review: an intake with the applicant, the bundle, the answers and the uploaded
        files as the materials' pages."""
        view = self.get(aid)
        if view.status in ("answered", "answering"):
            raise IntakeError("online.answered", holder=view.claimed_by or "?")
        client = self._client()
        try:
            out = hub.claim(client, view.id)
        except SyncError as exc:
            raise IntakeError("online.offline") from exc
        me = self.station_code()
        with write_tx(self.ctx.sessions) as s:
            row = s.get(OnlineApplication, view.id)
            assert row is not None
            row.status, row.claimed_by = "claimed", me
            row.claim_expires_at = hub.parse_time(out.get("claim_expires_at"))
            row.updated_at = self.ctx.clock.now()
        log.info("online application %s claimed", view.id)
        if view.submission_id is None:
            self._open_review(actor, client, view.id)
        return self.get(view.id)

    def _open_review(self, actor: StaffView, client: HubClient, aid: str) -> str:
        with self.ctx.sessions() as s:
            row = s.get(OnlineApplication, aid)
            assert row is not None
            data, bundle = json.loads(row.data), row.bundle_id
        if self.ctx.catalogs.current.bundle(bundle) is None:  # refused before any intake exists
            raise IntakeError("intake.unknown_bundle", bundle=bundle)
        files = [(f, hub.fetch_file(client, aid, f["sha"])) for f in data.get("files") or []]
        intake = self.ctx.intake
        sid: str = intake.start(actor)
        who = data.get("applicant") or {}
        intake.set_applicant(
            actor,
            sid,
            ApplicantInput(
                name=str(who.get("name", "")),
                resident_id=str(who.get("resident_id", "")),
                phone=str(who.get("phone", "")),
                address=str(who.get("address", "")),
                sources={k: "typed" for k in ("name", "resident_id", "phone", "address")},
            ),
        )
        intake.choose(actor, sid, bundle, data.get("items"))
        if data.get("answers"):
            intake.answer_many(actor, sid, data["answers"])
        skipped = 0
        for f, content in files:
            try:
                self.ctx.pages.attach_page(actor, sid, f["material_id"], content, f["mime"])
            except IntakeError:  # a file for a material this checklist does not ask for
                skipped += 1
        with write_tx(self.ctx.sessions) as s:
            row = s.get(OnlineApplication, aid)
            assert row is not None
            row.submission_id = sid
            row.updated_at = self.ctx.clock.now()
        log.info(
            "online review %s opened as intake %s (%d files not in the list)", aid, sid, skipped
        )
        return sid

    def _mine(self, aid: str) -> OnlineView:
        view = self.get(aid)
        if view.submission_id is None or not view.mine:
            raise IntakeError("online.not_claimed")
        if view.status in ("answered", "answering", "refused"):
            raise IntakeError("online.answered", holder=view.claimed_by or "?")
        return view

    def checklist(self, aid: str) -> Any:
        view = self._mine(aid)
        return self.ctx.intake.checklist(view.submission_id)

    def mark(self, actor: StaffView, aid: str, marks: Mapping[str, str]) -> Any:
        """The clerk's 收到 (received) / 缺 (missing) per material."""
        view = self._mine(aid)
        for mark in marks.values():
            if mark not in MARKS:
                raise IntakeError("online.mark", mark=str(mark)[:20])
        new = {m: ("collected" if v == "received" else None) for m, v in marks.items()}
        return self.ctx.intake.mark_many(actor, view.submission_id, new)

    # ------------------------------------------------------------------ the answer

    def answer(self, actor: StaffView, aid: str) -> AnswerResult:
        """Finish the review: every material received -> 电子收件回执, else 电子一次告知通知书
        listing everything missing; kept with the intake and sent to the hub (now, or by the
        sync engine once the hub is reachable)."""
        view = self._mine(aid)
        sid = view.submission_id
        assert sid is not None
        result = self.ctx.intake.finish(actor, sid)
        kind = "receipt" if result.verdict != "incomplete" else "notice"
        doc = self.ctx.documents.document(actor, sid, kind)
        pdf = build_document(dataclasses.replace(doc, electronic=True))
        sha = self.ctx.documents.save_document(actor, sid, kind, pdf, printed=False)
        marks = {
            m.id: ("received" if m.state in ("collected", "exempt") else "missing")
            for m in result.checklist.materials
            if m.produced_by is None
        }
        missing = tuple(m.name for m in doc.missing)
        with write_tx(self.ctx.sessions) as s:
            row = s.get(OnlineApplication, view.id)
            assert row is not None
            data = json.loads(row.data)
            data["review"] = {"marks": marks, "missing": list(missing), "number": result.number}
            row.data = json.dumps(data, ensure_ascii=False)
            row.status, row.decision, row.document_sha = "answering", kind, sha
            row.updated_at = self.ctx.clock.now()
        sent, at = self._send(view.id)
        log.info("online application %s answered: %s %s", view.id, kind, result.number)
        return AnswerResult(view.id, sid, result.number, kind, missing, pdf, sent, at)

    def _send(self, aid: str) -> tuple[bool, dt.datetime | None]:
        try:
            client = self._client()
            self.send_pending(client)
        except (IntakeError, SyncError) as exc:
            if isinstance(exc, IntakeError) and exc.code == "online.answer_refused":
                raise
            log.info("online answer %s kept for the sync engine: %s", aid, exc.code)
            return False, None
        view = self.get(aid)
        return view.status == "answered", view.answered_at


def _by_prefix(s: Any, aid: str) -> OnlineApplication:
    """The CLI may give the first characters of an id (as shown in `intake online list`)."""
    if len(aid) >= 6:
        rows = s.scalars(
            select(OnlineApplication).where(OnlineApplication.id.startswith(aid)).limit(2)
        ).all()
        if len(rows) == 1:
            return rows[0]  # type: ignore[no-any-return]
    raise IntakeError("online.unknown", application=aid[:36])


def _view(row: OnlineApplication, me: str) -> OnlineView:
    data = json.loads(row.data)
    received = row.received_at
    files = tuple(
        OnlineFileView(f["sha"], f["material_id"], f["name"], f["mime"], int(f["size"]))
        for f in data.get("files") or []
    )
    return OnlineView(
        id=row.id,
        platform_ref=row.platform_ref,
        bundle_id=row.bundle_id,
        applicant_name=str((data.get("applicant") or {}).get("name", "")),
        received_at=received,
        deadline_at=received + dt.timedelta(hours=REVIEW_HOURS),
        status=row.status,
        claimed_by=row.claimed_by,
        mine=bool(me) and row.claimed_by == me,
        submission_id=row.submission_id,
        decision=row.decision,
        answered_at=row.answered_at,
        files=files,
    )


__all__ = ["AnswerResult", "DomainError", "OnlineService", "OnlineView"]
