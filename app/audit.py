"""Append-only, hash-chained audit log of logins, full-record views, state changes and exports.

Each entry's hash covers its own fields and the previous entry's hash, so editing, removing or
reordering an entry breaks the chain from that point on. Details never carry personal data.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

GENESIS = "0" * 64


def at_text(at: dt.datetime) -> str:
    """An entry's time as its hash covers it: UTC ISO text with microseconds and a trailing Z
    (the form the store keeps and the sync protocol sends). Pinned here, not borrowed from the
    column type, so a change of storage can never change what the hashes mean."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the audit log")
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(
    prev: str, at: str, staff_id: int | None, action: str, target: str, detail: str
) -> str:
    """The hash of one entry (AT in `at_text` form). The county hub checks the copies it
    receives with this same function, so this module imports nothing of the station's store at
    load time."""
    body = json.dumps(
        [prev, at, staff_id, action, target, detail], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _entry_hash(
    prev: str, at: dt.datetime, staff_id: int | None, action: str, target: str, detail: str
) -> str:
    return chain_hash(prev, at_text(at), staff_id, action, target, detail)


@functools.cache
def _insert_entry() -> Any:
    from local_db.models import AuditEntry

    return insert(AuditEntry)  # executed on the connection: a plain Core insert


def append(
    session: Session,
    *,
    at: dt.datetime,
    staff_id: int | None,
    action: str,
    target: str = "",
    detail: str = "",
) -> str:
    from local_db.models import AuditEntry

    # The chain head is read once per transaction (write transactions are serialised), then
    # carried in session.info: a sync drain appends thousands of entries in one transaction.
    prev = session.info.get("audit_head")
    if prev is None:
        prev = (
            session.scalars(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
            or GENESIS
        )
    digest = _entry_hash(prev, at, staff_id, action, target, detail)
    # A Core insert on the connection, one statement object with its values as parameters: the
    # statement is compiled once, not rebuilt per entry (a drain appends thousands).
    session.connection().execute(
        _insert_entry(),
        {
            "at": at,
            "staff_id": staff_id,
            "action": action,
            "target": target,
            "detail": detail,
            "prev_hash": prev,
            "hash": digest,
        },
    )
    session.info["audit_head"] = digest
    return digest


@dataclass(frozen=True)
class AuditProblem:
    entry_id: int
    code: str  # audit.hash_mismatch | audit.chain_broken
    message: str


def verify(session: Session) -> list[AuditProblem]:
    from local_db.models import AuditEntry

    problems: list[AuditProblem] = []
    prev = GENESIS
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if e.prev_hash != prev:
            problems.append(
                AuditProblem(
                    e.id,
                    "audit.chain_broken",
                    f"第{e.id}条审计记录与前一条不衔接（记录被删除或调换）。",
                )
            )
        if _entry_hash(e.prev_hash, e.at, e.staff_id, e.action, e.target, e.detail) != e.hash:
            problems.append(
                AuditProblem(e.id, "audit.hash_mismatch", f"第{e.id}条审计记录内容被改动。")
            )
        prev = e.hash
    return problems
