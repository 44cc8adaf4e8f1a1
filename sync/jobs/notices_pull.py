"""Notices to applicants from the hub (GET /v1/notices after a cursor): what was sent, when,
or why not yet — kept per intake so the window shows it (短信通知). A malformed entry is skipped
(logged by id) and the cursor moves on; the next change of that notice brings it again."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from local_db.engine import write_tx
from local_db.models import ApplicantNotice
from sync.client import HubClient
from sync.errors import sync_error
from sync.jobs.shared import Work

log = logging.getLogger("intake.sync")

KINDS = ("accepted", "rejected", "completed", "collected")
STATUSES = ("pending", "sending", "retrying", "sent", "failed", "no_phone")


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def _row(n: Any) -> dict[str, Any] | None:
    """The notice as stored here, or None when the hub sent something malformed."""
    if not isinstance(n, dict):
        return None
    nid, sid = n.get("id"), n.get("submission_id")
    created = _time(n.get("created_at"))
    if (
        not isinstance(nid, str)
        or not 0 < len(nid) <= 36
        or not isinstance(sid, str)
        or not 0 < len(sid) <= 36
        or n.get("kind") not in KINDS
        or n.get("status") not in STATUSES
        or created is None
    ):
        return None
    attempts = n.get("attempts")
    return {
        "id": nid,
        "submission_id": sid,
        "kind": n["kind"],
        "item_id": str(n.get("item_id") or "")[:64],
        "status": n["status"],
        "attempts": attempts if isinstance(attempts, int) and attempts >= 0 else 0,
        "last_error": str(n.get("last_error") or "")[:64],
        "created_at": created,
        "sent_at": _time(n.get("sent_at")),
    }


class NoticePull:
    def __init__(self, work: Work, sessions: sessionmaker[Session]) -> None:
        self.work = work
        self.sessions = sessions

    def pull(self, client: HubClient) -> bool:
        """One page of notice changes; True when the hub has more."""
        outbox = self.work.outbox
        cursor = outbox.get_int("notice_cursor")
        answer = client.notices(cursor, 200)
        now = self.work.now()
        rows = []
        for n in answer["notices"]:
            c = n.get("cursor") if isinstance(n, dict) else None
            if not isinstance(c, int) or isinstance(c, bool) or c <= cursor:
                raise sync_error("sync.bad_response", variant=18)
            cursor = c
            row = _row(n)
            if row is None:
                log.warning("notice at cursor %d skipped: malformed", c)
                continue
            rows.append(row)
        if rows:
            with write_tx(self.sessions) as s:  # the same notice again: updated in place
                for row in rows:
                    found = s.get(ApplicantNotice, row["id"])
                    if found is None:
                        s.add(ApplicantNotice(**row, updated_at=now))
                    else:
                        for k, v in row.items():
                            setattr(found, k, v)
                        found.updated_at = now
        if answer["notices"]:
            outbox.set(notice_cursor=cursor)
        return bool(answer.get("more")) and bool(answer["notices"])
