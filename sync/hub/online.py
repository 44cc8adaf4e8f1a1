"""Online applications on the hub: the platform's submissions, the county's queue, claims (first
window wins, atomically) and the windows' answers, which the platform reads back.

A claim lasts CLAIM_MINUTES: a window that claims and then goes offline does not lock the
application past its two hours; the same window claiming again renews it, another window may
take it over only once it has lapsed. An answer is accepted only from the window holding the
claim (or whose lapsed claim nobody took over).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from sync.hub.crypto import scope_of
from sync.hub.db import Principal, StoreBase
from sync.hub.errors import HubError
from sync.hub.models import HubOnlineApplication, HubStation
from sync.hub.online_files import check_file, decode_base64
from sync.online_schemas import CLAIM_MINUTES, REVIEW_HOURS, OnlineAnswerIn, OnlineApplicationIn

log = logging.getLogger("intake.hub.online")


def _iso(when: dt.datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC (SQLite gives it back without its zone)."""
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).isoformat()


def _unknown() -> HubError:
    return HubError(404, "online.unknown", "没有该线上申请，或它不属于本县")


class OnlineOps(StoreBase):
    # ------------------------------------------------------------------ the platform

    def online_submit(self, body: OnlineApplicationIn, blobs: Any) -> tuple[int, dict[str, Any]]:
        """Store an application and its files (checked first: nothing stored when one is bad).
        The same request again is a duplicate (200); another under the same ref is a 409."""
        raw = body.model_dump_json().encode()
        digest = hashlib.sha256(raw).hexdigest()
        with self.sessions() as s:
            known = s.scalars(
                select(HubOnlineApplication).where(
                    HubOnlineApplication.platform_ref == body.platform_ref
                )
            ).first()
        if known is not None:
            if known.digest != digest:
                raise HubError(409, "online.ref_conflict", "该申请编号已提交过不同的内容，未予接收")
            return 200, self._platform_view(known)
        files = [(f, decode_base64(f.data, f.name)) for f in body.files]
        mimes = [check_file(data, f.name) for f, data in files]
        scope = scope_of(body.county)
        self.sealer.prepare(scope)
        listed = []
        for (f, data), mime in zip(files, mimes, strict=True):
            sha = blobs.put(data, scope)
            listed.append(
                {
                    "sha": sha,
                    "material_id": f.material_id,
                    "name": f.name,
                    "mime": mime,
                    "size": len(data),
                }
            )
        aid, now = str(uuid.uuid4()), self.now()
        payload = {
            "bundle": body.bundle,
            "items": body.items,
            "answers": body.answers,
            "applicant": body.applicant.model_dump(),
            "files": listed,
        }
        row = HubOnlineApplication(
            id=aid,
            platform_ref=body.platform_ref,
            digest=digest,
            county=scope,
            payload=self.sealer.seal_text(scope, json.dumps(payload, ensure_ascii=False), aid),
            received_at=now,
            status="open",
        )
        try:
            with self.write() as s:
                s.add(row)
        except IntegrityError:  # the same ref sent twice at once: the other request stored it
            return self.online_submit(body, blobs)
        log.info("online application %s received (%d files)", aid, len(listed))
        return 201, self._platform_view(row)

    def online_status(self, aid: str) -> dict[str, Any]:
        with self.sessions() as s:
            row = s.get(HubOnlineApplication, aid)
            if row is None:
                raise HubError(404, "online.unknown", "没有该线上申请")
            return self._platform_view(row, s)

    def online_document(self, aid: str) -> str:
        with self.sessions() as s:
            row = s.get(HubOnlineApplication, aid)
        if row is None or row.document_sha is None:
            raise HubError(404, "online.no_answer", "该线上申请尚未答复")
        return row.document_sha

    def _platform_view(self, row: HubOnlineApplication, s: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": row.id,
            "platform_ref": row.platform_ref,
            "status": row.status,
            "received_at": _iso(row.received_at),
            "deadline_at": _iso(row.received_at + dt.timedelta(hours=REVIEW_HOURS)),
            "answered_at": _iso(row.answered_at),
            "decision": row.decision,
            "answer": None,
        }
        if row.answer is not None:
            answer = json.loads(self.sealer.open_text(row.answer, row.id + ".answer"))
            out["answer"] = {
                "number": answer["number"],
                "station": answer["station"],
                "missing": answer["missing"],
                "marks": answer["marks"],
                "document_sha": row.document_sha,
            }
        return out

    # ------------------------------------------------------------------ the windows

    def online_queue(self, p: Principal, days: int = 7) -> dict[str, Any]:
        """The county's applications not yet answered (with their data), and those answered in
        the last DAYS (status only: another window's review needs no personal data here)."""
        since = self.now() - dt.timedelta(days=days)
        with self.sessions() as s:
            rows = list(
                s.scalars(
                    select(HubOnlineApplication)
                    .where(
                        HubOnlineApplication.county == p.scope,
                        or_(
                            HubOnlineApplication.status != "answered",
                            HubOnlineApplication.answered_at >= since,
                        ),
                    )
                    .order_by(HubOnlineApplication.received_at)
                    .limit(1000)
                )
            )
            codes = dict(s.execute(select(HubStation.id, HubStation.code)).all())
        open_, answered = [], []
        for r in rows:
            head = {
                "id": r.id,
                "platform_ref": r.platform_ref,
                "status": r.status,
                "received_at": _iso(r.received_at),
                "claimed_by": codes.get(r.claimed_by) if r.claimed_by else None,
                "claim_expires_at": _iso(r.claim_expires_at),
                "answered_at": _iso(r.answered_at),
                "decision": r.decision,
            }
            if r.status == "answered":
                answered.append(head)
            else:
                data = json.loads(self.sealer.open_text(r.payload, r.id))
                open_.append({**head, **data})
        return {"applications": open_, "answered": answered, "now": self.now().isoformat()}

    def online_claim(self, p: Principal, aid: str) -> dict[str, Any]:
        """Claim for P's window: one UPDATE whose condition is the rule, so two windows racing
        (two hub processes, PostgreSQL) cannot both win."""
        now = self.now()
        until = now + dt.timedelta(minutes=CLAIM_MINUTES)
        t = HubOnlineApplication
        with self.write() as s:
            res = s.execute(
                update(t)
                .where(
                    t.id == aid,
                    t.county == p.scope,
                    or_(
                        t.status == "open",
                        and_(
                            t.status == "claimed",
                            or_(t.claimed_by == p.station_id, t.claim_expires_at < now),
                        ),
                    ),
                )
                .values(
                    status="claimed",
                    claimed_by=p.station_id,
                    claimed_at=now,
                    claim_expires_at=until,
                )
                .execution_options(synchronize_session=False)
            )
            done = getattr(res, "rowcount", 0)
        if done == 1:
            log.info("online application %s claimed by %s", aid, p.station_code)
            return {"id": aid, "claimed_by": p.station_code, "claim_expires_at": until.isoformat()}
        with self.sessions() as s:
            row = s.get(t, aid)
            if row is None or row.county != p.scope:
                raise _unknown()
            holder = s.get(HubStation, row.claimed_by) if row.claimed_by else None
        who = holder.code if holder is not None else "?"
        if row.status == "answered":
            raise HubError(409, "online.answered", f"该线上申请已由 {who} 答复", held_by=who)
        assert row.claim_expires_at is not None
        raise HubError(
            409,
            "online.claimed",
            f"该线上申请已由 {who} 认领审核，不能重复审核",
            held_by=who,
            until=_iso(row.claim_expires_at),
        )

    def online_file(self, p: Principal, aid: str, sha: str) -> str:
        """SHA when it is a file of AID in P's county (else 404)."""
        with self.sessions() as s:
            row = s.get(HubOnlineApplication, aid)
        if row is None or row.county != p.scope:
            raise _unknown()
        files = json.loads(self.sealer.open_text(row.payload, row.id))["files"]
        if not any(f["sha"] == sha for f in files):
            raise HubError(404, "online.no_file", "该线上申请没有这个文件")
        return sha

    def online_answer(
        self, p: Principal, aid: str, body: OnlineAnswerIn, blobs: Any
    ) -> dict[str, Any]:
        pdf = decode_base64(body.document, "document.pdf")
        if check_file(pdf, "document.pdf") != "application/pdf":
            raise HubError(422, "online.document_type", "答复文书应为 PDF")
        with self.sessions() as s:
            row = s.get(HubOnlineApplication, aid)
        if row is None or row.county != p.scope:
            raise _unknown()
        if row.status == "answered":
            if row.claimed_by == p.station_id and row.answer is not None:
                prev = json.loads(self.sealer.open_text(row.answer, row.id + ".answer"))
                if prev["number"] == body.number:  # the answer's reply was lost: the same again
                    return self._answered(row)
            raise HubError(409, "online.answered", "该线上申请已答复，不能再次答复")
        if row.claimed_by != p.station_id:
            raise HubError(409, "online.not_claimed", "本窗口未认领该线上申请，不能答复")
        sha = blobs.put(pdf, row.county)
        now = self.now()
        answer = {
            "number": body.number,
            "station": p.station_code,
            "marks": body.marks,
            "missing": body.missing,
        }
        sealed = self.sealer.seal_text(
            row.county, json.dumps(answer, ensure_ascii=False), row.id + ".answer"
        )
        t = HubOnlineApplication
        with self.write() as s:
            res = s.execute(
                update(t)
                .where(t.id == aid, t.claimed_by == p.station_id, t.status == "claimed")
                .values(
                    status="answered",
                    answered_at=now,
                    decision=body.decision,
                    answer=sealed,
                    document_sha=sha,
                )
                .execution_options(synchronize_session=False)
            )
            done = getattr(res, "rowcount", 0)
        if done != 1:  # taken over between our read and this write
            raise HubError(409, "online.not_claimed", "本窗口未认领该线上申请，不能答复")
        log.info("online application %s answered by %s: %s", aid, p.station_code, body.decision)
        with self.sessions() as s:
            fresh = s.get(t, aid)
        assert fresh is not None
        return self._answered(fresh)

    @staticmethod
    def _answered(row: HubOnlineApplication) -> dict[str, Any]:
        assert row.answered_at is not None
        return {
            "id": row.id,
            "status": row.status,
            "answered_at": _iso(row.answered_at),
            "within_deadline": row.answered_at - row.received_at
            <= dt.timedelta(hours=REVIEW_HOURS),
        }
