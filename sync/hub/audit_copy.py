"""The hub's copy of each station's audit log, checked link by link.

An entry's target and detail are free text from the station (an intake's number, counts, a
stage change; the station's log keeps personal data out of them, but the hub does not rely on
that): they are stored sealed under the county's data key, like event payloads, and opened when
read. Its time, staff id, action and hashes stay in clear: the chain is checked on them and they
name no one. Rows stored before the hub sealed them read as they are."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, select

from app.audit import GENESIS, chain_hash
from sync.hub.db import (
    Principal,
    StoreBase,
    chunks,
)
from sync.hub.errors import HubError
from sync.hub.models import (
    HubAuditEntry,
    HubStation,
)
from sync.protocol import (
    MAX_AUDIT_PER_BATCH,
    check_audit_entry,
)

log = logging.getLogger("intake.hub")


def _checked_batch(p: Principal, store_id: object, entries: object) -> list[dict[str, Any]]:
    """ENTRIES when they are this store's, well formed and in id order; else HubError."""
    if store_id != p.store_id:
        raise HubError(403, "store.mismatch", "本批审计记录的 store_id 与站点凭据不符")
    if not isinstance(entries, list) or len(entries) > MAX_AUDIT_PER_BATCH:
        raise HubError(
            413 if isinstance(entries, list) else 400,
            "audit.batch",
            f"entries 应为不超过 {MAX_AUDIT_PER_BATCH} 项的列表",
        )
    prev_id = 0
    for n, e in enumerate(entries, 1):
        problem = check_audit_entry(e)
        if problem:
            raise HubError(400, "audit.shape", f"第{n}项：{problem}")
        if e["id"] <= prev_id:
            raise HubError(400, "audit.order", "审计记录应按 id 从小到大排列且不重复")
        prev_id = e["id"]
    return entries


class AuditOps(StoreBase):
    # ------------------------------------------------------------------ audit copy

    def ingest_audit(self, p: Principal, store_id: object, entries: object) -> dict[str, Any]:
        """Append a station store's audit entries (in id order) to the hub's copy, checking the
        chain link by link: each entry must follow the last stored one (its prev_hash is that
        entry's hash, GENESIS for the first) and its hash must recompute. Entries already held
        are acknowledged when identical. At the first entry that fails, the entries before it
        are kept and the rest refused (HubError carrying entry_id and the copy's last_id)."""
        entries = _checked_batch(p, store_id, entries)
        now = self.now()
        refusal: HubError | None = None
        stored = duplicate = 0
        mine = (HubAuditEntry.station_id == p.station_id, HubAuditEntry.store_id == p.store_id)
        self.sealer.prepare(p.scope)  # the rows below are sealed in the transaction
        with self.write() as s:
            # one writer per station at a time (a row lock on PostgreSQL; SQLite's writes queue)
            s.get(HubStation, p.station_id, with_for_update=True)
            tail = s.execute(
                select(HubAuditEntry.entry_id, HubAuditEntry.hash)
                .where(*mine)
                .order_by(HubAuditEntry.entry_id.desc())
                .limit(1)
            ).first()
            last_id, last_hash = (int(tail[0]), str(tail[1])) if tail else (0, GENESIS)
            resent = [e["id"] for e in entries if e["id"] <= last_id]
            held: dict[int, dict[str, Any]] = {}
            for chunk in chunks(resent, 500):
                found = s.scalars(
                    select(HubAuditEntry).where(*mine, HubAuditEntry.entry_id.in_(chunk))
                )
                held.update((r.entry_id, self._opened(r)) for r in found)
            rows: list[dict[str, Any]] = []
            for e in entries:
                refusal = self._audit_refusal(e, last_id, last_hash, held.get(e["id"]))
                if refusal is not None:
                    break
                if e["id"] <= last_id:
                    duplicate += 1
                    continue
                rows.append(
                    {
                        "station_id": p.station_id,
                        "store_id": p.store_id,
                        "entry_id": e["id"],
                        "at": e["at"],
                        "staff_id": e["staff_id"],
                        "action": e["action"],
                        "target": self._seal_field(p, e["id"], "target", e["target"]),
                        "detail": self._seal_field(p, e["id"], "detail", e["detail"]),
                        "prev_hash": e["prev_hash"],
                        "hash": e["hash"],
                        "arrived_at": now,
                    }
                )
                last_id, last_hash = e["id"], e["hash"]
            if rows:
                s.execute(insert(HubAuditEntry), rows)
            stored = len(rows)
        if stored:
            log.info(
                "station %s: %d audit entries stored (up to %d)", p.station_code, stored, last_id
            )
        if refusal is not None:
            if refusal.code != "audit.gap":
                log.warning(
                    "station %s: audit entry refused (%s); the copy ends at %d",
                    p.station_code,
                    refusal.code,
                    last_id,
                )
            refusal.details.update(last_id=last_id, last_hash=last_hash, stored=stored)
            raise refusal
        return {
            "store_id": p.store_id,
            "last_id": last_id,
            "last_hash": last_hash,
            "stored": stored,
            "duplicate": duplicate,
        }

    def _seal_field(self, p: Principal, entry_id: int, field: str, value: str) -> str:
        aad = f"audit.{p.station_id}.{p.store_id}.{entry_id}.{field}"
        return self.sealer.seal_text(p.scope, value, aad)

    def _opened(self, row: HubAuditEntry) -> dict[str, Any]:
        """A stored entry's fields with its target and detail opened."""
        place = f"audit.{row.station_id}.{row.store_id}.{row.entry_id}"
        return {
            "at": row.at,
            "staff_id": row.staff_id,
            "action": row.action,
            "target": self.sealer.open_text(row.target, place + ".target"),
            "detail": self.sealer.open_text(row.detail, place + ".detail"),
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }

    @staticmethod
    def _audit_refusal(
        e: dict[str, Any], last_id: int, last_hash: str, held: dict[str, Any] | None
    ) -> HubError | None:
        """Why entry E cannot follow the copy's last entry (or, when already held, differs from
        the copy); None when it can."""
        eid = e["id"]
        if eid <= last_id:
            fields = ("at", "staff_id", "action", "target", "detail", "prev_hash", "hash")
            if held is None or any(held[f] != e[f] for f in fields):
                return HubError(
                    409,
                    "audit.conflict",
                    f"第{eid}条审计记录与平台已存的副本不同（站点记录在上传后被改动）",
                    entry_id=eid,
                )
            return None
        if e["prev_hash"] != last_hash:
            if eid > last_id + 1:  # the copy lacks entries before this one: send from there
                return HubError(
                    409,
                    "audit.gap",
                    f"平台的审计副本止于第{last_id}条，请从其后一条起上传",
                    retry=True,
                    entry_id=eid,
                )
            return HubError(
                409,
                "audit.chain_broken",
                f"第{eid}条审计记录与前一条不衔接（记录被删除或调换）",
                entry_id=eid,
            )
        if (
            chain_hash(
                e["prev_hash"], e["at"], e["staff_id"], e["action"], e["target"], e["detail"]
            )
            != e["hash"]
        ):
            return HubError(
                422,
                "audit.hash_mismatch",
                f"第{eid}条审计记录的内容与其哈希不符（记录被改动）",
                entry_id=eid,
            )
        return None

    def audit_of(self, station_code: str, store_id: str | None = None) -> list[dict[str, Any]]:
        """The hub's copy of a station's audit log, in order (tests, county administrators)."""
        with self.sessions() as s:
            stmt = (
                select(HubAuditEntry)
                .join(HubStation, HubStation.id == HubAuditEntry.station_id)
                .where(HubStation.code == station_code.upper())
            )
            if store_id:
                stmt = stmt.where(HubAuditEntry.store_id == store_id)
            return [
                {"id": e.entry_id, "store_id": e.store_id, **self._opened(e)}
                for e in s.scalars(stmt.order_by(HubAuditEntry.store_id, HubAuditEntry.entry_id))
            ]
