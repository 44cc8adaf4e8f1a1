"""Departments' decisions (受理 / 不予受理 / 办结) and their view of submissions."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import select, tuple_

from sync.hub.db import (
    chunks,
    sha_hex,
)
from sync.hub.errors import HubError
from sync.hub.models import (
    HubEvent,
    HubFeed,
    HubItemDecision,
    HubManifestPage,
    HubStation,
    HubSubmission,
)
from sync.hub.notices import Cause, NoticeOps
from sync.protocol import (
    DECISIONS,
    MAX_REASON,
    is_uuid,
)

log = logging.getLogger("intake.hub")

_ORDER = {None: ("accepted", "rejected"), "accepted": ("completed", "rejected")}


class DecisionOps(NoticeOps):
    # ------------------------------------------------------------------ departments

    def decide(
        self,
        *,
        item_id: object,
        decision: object,
        reason: object = "",
        submission_id: object = None,
        number: object = None,
        decision_id: object = None,
        department: str = "",
    ) -> dict[str, Any]:
        decision, reason, item_id = _check_decision(decision, reason, item_id, decision_id)
        now = self.now()
        scope = self.scope_of_submission(
            submission_id if isinstance(submission_id, str) and is_uuid(submission_id) else None,
            number,
        )
        if scope is not None:
            self.sealer.prepare(scope)  # the notice below is sealed in the transaction
        with self.write() as s:
            sub: HubSubmission | None = None
            if isinstance(submission_id, str) and is_uuid(submission_id):
                sub = s.get(HubSubmission, submission_id)
            elif isinstance(number, str) and number:
                sub = s.scalars(select(HubSubmission).where(HubSubmission.number == number)).first()
            if sub is None:
                raise HubError(404, "submission.unknown", "平台上没有该受理记录")
            did = decision_id or sha_hex(f"{sub.id}|{item_id}|{decision}")[:64]
            dup = s.scalars(select(HubFeed).where(HubFeed.decision_id == did)).first()
            if dup is not None:
                return {"status": "duplicate", "cursor": dup.cursor, "submission_id": sub.id}
            if sub.received_at is None or sub.stage in ("withdrawn", "discarded"):
                raise HubError(
                    409, "submission.not_received", "该受理记录尚未收件或已撤回，不能登记办理结果"
                )
            if item_id not in items_of(sub):
                raise HubError(422, "decision.unknown_item", "该事项不在本次受理范围内")
            current = s.get(HubItemDecision, (sub.id, item_id))
            if decision not in _ORDER.get(current.decision if current else None, ()):
                raise HubError(409, "decision.order", "办理结果顺序不对（应先受理，再办结）")
            st = s.get(HubStation, sub.station_id, with_for_update=True)
            assert st is not None
            st.feed_seq += 1
            cursor = st.feed_seq
            s.add(
                HubFeed(
                    station_id=st.id,
                    cursor=cursor,
                    submission_id=sub.id,
                    item_id=item_id,
                    decision=decision,
                    reason=reason,
                    department=department[:100],
                    decision_id=did,
                    decided_at=now,
                )
            )
            if current is None:
                s.add(
                    HubItemDecision(
                        submission_id=sub.id,
                        item_id=item_id,
                        decision=decision,
                        reason=reason,
                        decided_at=now,
                    )
                )
            else:
                current.decision, current.reason, current.decided_at = decision, reason, now
            if scope is not None:  # 短信告知 of this decision, queued with it
                cause = Cause(decision, item_id, item_id, department[:100], reason, now)
                self.queue_notice(s, sub, scope, cause)
            sid = sub.id
        log.info("decision %s on %s item %s", decision, sid, item_id)
        return {"status": "stored", "cursor": cursor, "submission_id": sid}

    # A submission is listed this long after the hub recorded its receipt: a transaction that
    # took its time stamp earlier but commits later must not fall behind a cursor already past
    # it (hub transactions take milliseconds; the clocks of hub machines agree through NTP).
    listing_lag = dt.timedelta(seconds=30)

    def submissions(
        self,
        *,
        station_code: str | None = None,
        limit: int = 200,
        items: frozenset[str] | None = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        """Submissions with a number (received, or 一次告知) in the order the hub listed them,
        from the cursor AFTER on: with ITEMS only received ones with one of these items,
        showing only these items and their decisions (what was pushed to that department).
        `next` is the cursor to ask with next (past every submission read, also those the
        items filtered out); `more`: ask again at once."""
        start = _cursor(after) if after else None
        with self.sessions() as s:
            stmt = (
                select(HubSubmission, HubStation.code)
                .join(HubStation, HubStation.id == HubSubmission.station_id)
                .where(HubSubmission.listed_at <= self.now() - self.listing_lag)
            )
            if station_code:
                stmt = stmt.where(HubStation.code == station_code)
            if items is not None:  # a department's items: only what was received for it
                stmt = stmt.where(HubSubmission.received_at.is_not(None))
            if start is not None:
                stmt = stmt.where(
                    tuple_(HubSubmission.listed_at, HubSubmission.id) > tuple_(*start)
                )
            stmt = stmt.order_by(HubSubmission.listed_at, HubSubmission.id).limit(SCAN_MAX)
            rows: list[tuple[HubSubmission, str, list[str]]] = []
            last, scanned = start, 0
            for sub, code in s.execute(stmt.execution_options(yield_per=500)):
                scanned += 1
                assert sub.listed_at is not None
                last = (_utc(sub.listed_at), sub.id)
                mine = [i for i in items_of(sub) if items is None or i in items]
                if items is None or mine:
                    rows.append((sub, code, mine))
                    if len(rows) >= limit:
                        break
            decisions: dict[str, dict[str, str]] = {}
            ids = [sub.id for sub, _, _ in rows]
            for chunk in chunks(ids, 500):
                for d in s.scalars(
                    select(HubItemDecision).where(HubItemDecision.submission_id.in_(chunk))
                ):
                    if items is None or d.item_id in items:
                        decisions.setdefault(d.submission_id, {})[d.item_id] = d.decision
        listed = [
            {
                "submission_id": sub.id,
                "number": sub.number,
                "station": code,
                "stage": sub.stage,
                "items": mine,
                "decisions": decisions.get(sub.id, {}),
                "received_at": sub.received_at.isoformat() if sub.received_at else None,
            }
            for sub, code, mine in rows
        ]
        more = len(rows) >= limit or scanned >= SCAN_MAX
        return {"submissions": listed, "next": _cursor_text(last), "more": more}

    # ------------------------------------------------------------------ departments read

    def dept_submission(self, sid: object, items: frozenset[str] | None) -> dict[str, Any]:
        """One received submission as a department reads it: the events (payloads opened) and
        the pages; only a submission with an item pushed to that department."""
        with self.sessions() as s:
            sub = s.get(HubSubmission, sid) if is_uuid(sid) else None
            mine = _items_seen(sub, items)
            if sub is None or not mine:
                raise HubError(404, "submission.unknown", "平台上没有该受理记录")
            events = s.execute(
                select(HubEvent.id, HubEvent.seq, HubEvent.type, HubEvent.payload, HubEvent.at)
                .where(HubEvent.submission_id == sub.id)
                .order_by(HubEvent.seq)
            ).all()
            pages = s.execute(
                select(HubManifestPage.sha256, HubManifestPage.size).where(
                    HubManifestPage.submission_id == sub.id
                )
            ).all()
            out = {"submission_id": sub.id, "number": sub.number, "stage": sub.stage}
        opened = [
            {"id": i, "seq": q, "type": t, "at": at, "payload": self.payload_of(i, p)}
            for i, q, t, p, at in events
        ]
        return {
            **out,
            "items": mine,
            "events": opened,
            "pages": [{"sha256": sha, "size": size} for sha, size in pages],
            **paper_and_deliveries(opened),
        }

    def dept_may_read_page(self, sha: str, items: frozenset[str] | None) -> bool:
        """Whether the page belongs to a received submission with an item pushed to the
        department (the only pages it may read)."""
        with self.sessions() as s:
            subs = s.scalars(
                select(HubSubmission)
                .join(HubManifestPage, HubManifestPage.submission_id == HubSubmission.id)
                .where(HubManifestPage.sha256 == sha)
            )
            return any(_items_seen(sub, items) for sub in subs)


def items_of(sub: HubSubmission) -> list[str]:
    """The items received (the hub writes them as a JSON list of strings; a row damaged by
    hand counts as none and is logged, rather than failing every listing that reaches it)."""
    try:
        found = json.loads(sub.items_json)
    except ValueError:
        found = None
    if not isinstance(found, list) or not all(isinstance(i, str) for i in found):
        log.warning("submission %s: items_json is damaged; read as no items", sub.id)
        return []
    return found


def _items_seen(sub: HubSubmission | None, items: frozenset[str] | None) -> list[str]:
    """The received submission's items a department with ITEMS sees (None: every item)."""
    if sub is None or sub.received_at is None:
        return []
    return [i for i in items_of(sub) if items is None or i in items]


def _check_decision(
    decision: object, reason: object, item_id: object, decision_id: object
) -> tuple[str, str, str]:
    """The decision, reason and item, checked (a malformed one is a 400)."""
    if decision not in DECISIONS:
        raise HubError(400, "decision.value", "办理结果应为 accepted / rejected / completed")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise HubError(400, "decision.reason", "理由应为不超过 2000 字的文字")
    if decision == "rejected" and not reason.strip():
        raise HubError(400, "decision.reason_required", "不予受理必须说明理由")
    if not isinstance(item_id, str) or not item_id:
        raise HubError(400, "decision.item", "缺少事项 id")
    if decision_id is not None and (
        not isinstance(decision_id, str) or not 0 < len(decision_id) <= 64
    ):
        raise HubError(400, "decision.id", "decision_id 应为不超过 64 字符的文字")
    return str(decision), reason, item_id


def paper_and_deliveries(events: list[dict[str, Any]]) -> dict[str, Any]:
    """What a department asks first of an intake's paper and results: to whom its paper went
    (the station's 移交清单: batch, department, receiver, time) and each 送达 (method, carrier,
    tracking number, who received, when), read from the station's events."""
    handover = None
    deliveries = []
    for ev in events:
        p = ev["payload"] if isinstance(ev["payload"], dict) else {}
        if ev["type"] == "handed_over":
            handover = {
                "batch": p.get("batch_number"),
                "department": p.get("department"),
                "received_by": p.get("received_by"),
                "at": ev["at"],
            }
        elif ev["type"] == "delivered":
            deliveries.append(
                {
                    "at": ev["at"],
                    "method": p.get("method"),
                    "items": p.get("items", []),
                    "carrier": p.get("carrier", ""),
                    "tracking_number": p.get("tracking_number", ""),
                    "recipient": p.get("recipient", ""),
                }
            )
    return {"handover": handover, "deliveries": deliveries}


# At most this many submissions read for one listing: a department whose items are rare reads
# on with `next` instead of one request scanning a province's year.
SCAN_MAX = 5000


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)  # SQLite: naive


def _cursor_text(at: tuple[dt.datetime, str] | None) -> str | None:
    if at is None:
        return None
    return f"{at[0].strftime('%Y-%m-%dT%H:%M:%S.%fZ')}~{at[1]}"


def _cursor(text: str) -> tuple[dt.datetime, str]:
    stamp, _, sid = text.partition("~")
    try:
        at = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        at = None
    if at is None or not is_uuid(sid):
        raise HubError(400, "request.cursor", "翻页位置（after）格式不对，请使用上次答复的 next")
    return at, sid
