"""The online channel on the station: the county's queue pulled from the hub into
online_applications (an offline station sees it as of its last sync), and this window's answers
that could not be sent at once, sent when the link is back.

The calls the window makes while online (claim, files, answer) are here too, as functions of a
HubClient; sync/online.py is the service that uses them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.errors import IntakeError
from local_db.engine import write_tx
from local_db.models import OnlineApplication
from sync.client import HubClient
from sync.errors import SyncError, sync_error
from sync.jobs.shared import Work

log = logging.getLogger("intake.sync.online")

ONLINE_INTERVAL = 60.0  # seconds between pulls of the queue when idle


def parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# ---------------------------------------------------------------------- calls to the hub


def fetch_queue(client: HubClient) -> dict[str, Any] | None:
    """The queue; None from a hub client without the online channel (a test double)."""
    get = getattr(client, "online_queue", None)
    if get is None:
        return None
    data: dict[str, Any] = get()
    if not isinstance(data["applications"], list) or not isinstance(data["answered"], list):
        raise sync_error("sync.bad_response", variant=4)
    return data


def claim(client: HubClient, aid: str) -> dict[str, Any]:
    """The hub's claim for this window; IntakeError online.claimed / online.answered when
    another window holds or answered it."""
    resp = client.request("POST", f"/v1/online/applications/{aid}/claim", ok=(200, 404, 409))
    data = client.json(resp)
    if resp.status_code == 200 and isinstance(data, dict):
        return data
    err = data.get("error", {}) if isinstance(data, dict) else {}
    holder = str(err.get("held_by") or "?")[:8]
    if resp.status_code == 404:
        raise IntakeError("online.unknown", application=aid)
    if err.get("code") == "online.answered":
        raise IntakeError("online.answered", holder=holder)
    raise IntakeError("online.claimed", holder=holder)


def fetch_file(client: HubClient, aid: str, sha: str) -> bytes:
    return client.request("GET", f"/v1/online/applications/{aid}/files/{sha}").content


def send_answer(client: HubClient, aid: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = client.request("POST", f"/v1/online/applications/{aid}/answer", body=body, ok=(200, 409))
    data = client.json(resp)
    if resp.status_code == 409:
        err = data.get("error", {}) if isinstance(data, dict) else {}
        raise IntakeError("online.answer_refused", hub=str(err.get("message", ""))[:200])
    if not isinstance(data, dict) or not isinstance(data.get("answered_at"), str):
        raise sync_error("sync.bad_response", variant=4)
    return data


def answer_body(row: OnlineApplication, number: str, pdf: bytes) -> dict[str, Any]:
    data = json.loads(row.data)
    review = data.get("review", {})
    return {
        "decision": row.decision,
        "number": number,
        "marks": review.get("marks", {}),
        "missing": review.get("missing", []),
        "document": base64.b64encode(pdf).decode("ascii"),
    }


# ---------------------------------------------------------------------- the job


class OnlinePull:
    def __init__(self, work: Work, sessions: sessionmaker[Session]) -> None:
        self.work = work
        self.sessions = sessions
        self.due = 0.0  # time.monotonic() of the next pull
        self.supported = True  # False when the hub has no online channel (an older hub)

    def pull(self, client: HubClient) -> int:
        """Bring the queue up to date; returns how many applications wait for review."""
        self.due = time.monotonic() + max(ONLINE_INTERVAL, self.work.config.status_interval)
        if not self.supported:
            return 0
        try:
            data = fetch_queue(client)
        except SyncError as exc:
            if exc.details.get("status") == 404:  # a hub without the online channel
                self.supported = False
                return 0
            raise
        if data is None:
            self.supported = False
            return 0
        self.send_pending(client)
        return self.apply(data)

    def apply(self, data: dict[str, Any]) -> int:
        now = self.work.now()
        seen: set[str] = set()
        with write_tx(self.sessions) as s:
            for a in data["applications"]:
                if isinstance(a, dict) and self._upsert_open(s, a, now):
                    seen.add(a["id"])
            for a in data["answered"]:
                if isinstance(a, dict) and isinstance(a.get("id"), str):
                    row = s.get(OnlineApplication, a["id"])
                    if row is not None and row.status != "answered":
                        row.status = "answered"
                        row.answered_at = parse_time(a.get("answered_at"))
                        row.answered_by = str(a.get("claimed_by") or "")[:8] or None
                        row.updated_at = now
            waiting = s.scalars(
                select(OnlineApplication).where(OnlineApplication.status.in_(("open", "claimed")))
            ).all()
            for row in waiting:  # withdrawn on the platform or answered long ago: gone
                if row.id not in seen and row.submission_id is None:
                    row.status = "gone"
                    row.updated_at = now
        return len(seen)

    def _upsert_open(self, s: Session, a: dict[str, Any], now: dt.datetime) -> bool:
        aid, received = a.get("id"), parse_time(a.get("received_at"))
        if not isinstance(aid, str) or len(aid) != 36 or received is None:
            log.warning("online application without id or time skipped")
            return False
        row = s.get(OnlineApplication, aid)
        if row is None:
            row = OnlineApplication(
                id=aid,
                platform_ref=str(a.get("platform_ref", ""))[:64],
                bundle_id=str(a.get("bundle", ""))[:64],
                data=json.dumps(
                    {k: a.get(k) for k in ("items", "answers", "applicant", "files")},
                    ensure_ascii=False,
                ),
                received_at=received,
                status="open",
            )
            s.add(row)
        if row.status in ("answering", "answered"):
            return True  # ours, answered here: the hub hears of it through send_pending
        row.status = "claimed" if a.get("status") == "claimed" else "open"
        row.claimed_by = str(a["claimed_by"])[:8] if a.get("claimed_by") else None
        row.claim_expires_at = parse_time(a.get("claim_expires_at"))
        row.updated_at = now
        return True

    def send_pending(self, client: HubClient) -> int:
        """Answers given while the hub was unreachable, sent now; returns how many went."""
        with self.sessions() as s:
            rows = s.scalars(
                select(OnlineApplication).where(OnlineApplication.status == "answering")
            ).all()
        sent = 0
        for row in rows:
            number = str(json.loads(row.data).get("review", {}).get("number", ""))
            if row.document_sha is None:
                continue
            pdf = self.work.attachments.get(row.document_sha)
            try:
                out = send_answer(client, row.id, answer_body(row, number, pdf))
            except IntakeError as exc:  # another window took it over meanwhile
                log.warning("online answer %s refused by the hub: %s", row.id, exc.code)
                self._mark(row.id, "refused", None)
                continue
            self._mark(row.id, "answered", parse_time(out["answered_at"]))
            sent += 1
        return sent

    def _mark(self, aid: str, status: str, answered_at: dt.datetime | None) -> None:
        with write_tx(self.sessions) as s:
            row = s.get(OnlineApplication, aid)
            if row is not None:
                row.status = status
                row.answered_at = answered_at or row.answered_at
                row.updated_at = self.work.now()
