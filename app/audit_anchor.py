"""Signed checkpoints of the audit log's head, kept where editing the database cannot reach.

The hash chain (app.audit) proves order, not completeness: whoever can edit the database can
delete its newest rows, or rewrite a row and recompute every hash after it with
`audit.chain_hash`, and the chain still verifies. A checkpoint records the log's entry count,
last entry id and head hash, signed with the station's Ed25519 key (the receipt key, in the OS
keyring). It is written after each day close, each audit batch the hub acknowledges, and on
`intake audit checkpoint`, to two places outside the database: a file beside it and an entry in
the OS keyring. `verify` checks the signature, then that the database still holds exactly the
checkpointed entries ending in the checkpointed hash.

What this cannot catch: changes to entries newer than the last checkpoint, and anything done by
someone who holds the signing key (the station's own OS account): they can sign a new head.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit import AuditProblem, at_text
from app.clock import STATION_TZ, Clock, SystemClock
from app.receipts import ReceiptSigner
from local_db.errors import DomainError
from local_db.keys import SecretStore

log = logging.getLogger("intake.audit")

VERSION = "yjs-audit-checkpoint-v1"
FILE_NAME = "audit-anchor.json"


def keyring_name(store_id: str) -> str:
    return f"audit-anchor:{store_id}"


@dataclass(frozen=True)
class Checkpoint:
    store_id: str
    count: int  # entries with id <= last_id
    last_id: int
    head: str  # hash of entry last_id (GENESIS-free: 0 entries gives "")
    at: str  # UTC, at_text form
    reason: str  # day_close | sync_ack | manual
    key_id: str
    signature: str = ""

    def signed_text(self) -> bytes:
        return "|".join(
            [
                VERSION,
                self.store_id,
                str(self.count),
                str(self.last_id),
                self.head,
                self.at,
                self.reason,
                self.key_id,
            ]
        ).encode()

    def to_text(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        data = json.loads(text)
        return cls(
            store_id=str(data["store_id"]),
            count=int(data["count"]),
            last_id=int(data["last_id"]),
            head=str(data["head"]),
            at=str(data["at"]),
            reason=str(data["reason"]),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
        )

    def valid_for(self, public: Ed25519PublicKey, store_id: str) -> bool:
        if self.store_id != store_id:
            return False
        try:
            public.verify(base64.b64decode(self.signature, validate=True), self.signed_text())
        except (InvalidSignature, ValueError):
            return False
        return True


def _store_id(session: Session) -> str:
    from local_db.crypto import STORE_ID
    from local_db.models import Setting

    return str(session.scalar(select(Setting.value).where(Setting.key == STORE_ID)) or "")


def _head(session: Session) -> tuple[int, int, str]:
    from local_db.models import AuditEntry

    count, last = session.execute(select(func.count(), func.max(AuditEntry.id))).one()
    head = session.scalar(select(AuditEntry.hash).where(AuditEntry.id == last)) if last else ""
    return int(count or 0), int(last or 0), str(head or "")


@dataclass(frozen=True)
class AnchorReport:
    checkpoint: Checkpoint | None  # the newest valid one found outside the database
    problems: list[AuditProblem]


class AuditAnchor:
    """Writes and checks the checkpoints of one store. SIGNER None (no usable keyring): nothing
    is written, and verify says there is no checkpoint."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secrets: SecretStore,
        signer: ReceiptSigner | None,
        file: Path,
        clock: Clock | None = None,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._signer = signer
        self.file = Path(file)
        self._clock = clock or SystemClock()

    def checkpoint(self, reason: str) -> Checkpoint | None:
        """Sign the committed head and keep it in the file and the keyring. Never raises for a
        keyring or disk problem (the action that triggered it has already been committed): it is
        logged, and the next checkpoint tries again."""
        if self._signer is None:
            log.warning("audit checkpoint skipped: no signing key")
            return None
        with self._sessions() as s:
            store_id = _store_id(s)
            count, last, head = _head(s)
        cp = Checkpoint(
            store_id,
            count,
            last,
            head,
            at_text(self._clock.now().astimezone(dt.UTC)),
            reason,
            self._signer.key_id,
        )
        cp = Checkpoint(
            **{
                **asdict(cp),
                "signature": base64.b64encode(self._signer.sign(cp.signed_text())).decode(),
            }
        )
        for previous in self._outside():
            if isinstance(previous, Checkpoint) and previous.last_id > cp.last_id:
                # The log shrank since: keep the evidence rather than overwrite it.
                log.error(
                    "audit checkpoint not written: log ends at %d, checkpoint at %d",
                    last,
                    previous.last_id,
                )
                return None
        try:
            from local_db.attachments import write_atomic

            write_atomic(self.file, cp.to_text().encode())
        except OSError as exc:
            log.error("audit checkpoint file not written: %s", exc.__class__.__name__)
        try:
            self._secrets.set(keyring_name(store_id), cp.to_text())
        except DomainError as exc:
            log.warning("audit checkpoint not kept in the keyring: %s", exc.code)
        log.info("audit checkpoint %s: %d entries, last %d", reason, count, last)
        return cp

    def _outside(self) -> list[Checkpoint | str]:
        """Checkpoints found in the file and the keyring; a text where one is unreadable."""
        found: list[Checkpoint | str] = []
        texts: list[tuple[str, str | None]] = []
        try:
            texts.append(("file", self.file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            pass
        except OSError:
            texts.append(("file", ""))
        with self._sessions() as s:
            store_id = _store_id(s)
        try:
            texts.append(("keyring", self._secrets.get(keyring_name(store_id))))
        except DomainError as exc:
            log.warning("audit checkpoint not read from the keyring: %s", exc.code)
        for where, text in texts:
            if text is None:
                continue
            try:
                found.append(Checkpoint.from_text(text))
            except (ValueError, KeyError, TypeError):
                found.append(where)
        return found

    def verify(self, session: Session) -> AnchorReport:
        """Compare the database's log with the newest valid checkpoint kept outside it."""
        problems: list[AuditProblem] = []
        store_id = _store_id(session)
        valid: list[Checkpoint] = []
        for cp in self._outside():
            where = {"file": "检查点文件", "keyring": "密钥环中的检查点"}
            if isinstance(cp, str):
                problems.append(
                    AuditProblem(0, "audit.checkpoint_forged", f"{where[cp]}已损坏，无法读取。")
                )
            elif self._signer is None:
                problems.append(
                    AuditProblem(
                        0,
                        "audit.checkpoint_unverifiable",
                        "没有本站签名公钥（系统密钥环不可用），无法核验签名检查点。",
                    )
                )
                break
            elif not cp.valid_for(self._signer.public, store_id):
                problems.append(
                    AuditProblem(
                        0,
                        "audit.checkpoint_forged",
                        "审计签名检查点的签名不符：检查点被改动、伪造或属于其他数据库。",
                    )
                )
            else:
                valid.append(cp)
        if not valid:
            return AnchorReport(None, problems)
        cp = max(valid, key=lambda c: (c.last_id, c.count))
        from local_db.models import AuditEntry

        held = (
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.id <= cp.last_id)
            )
            or 0
        )
        entry_hash = (
            session.scalar(select(AuditEntry.hash).where(AuditEntry.id == cp.last_id))
            if cp.last_id
            else ""
        )
        when = _local_text(cp.at)
        if held < cp.count or (cp.last_id and entry_hash is None):
            problems.append(
                AuditProblem(
                    cp.last_id,
                    "audit.truncated",
                    f"审计日志记录被删除：{when} 的签名检查点记有 {cp.count} 条（至第{cp.last_id}条），"
                    f"数据库中这一段现只有 {held} 条。若数据库刚从较早的备份恢复，缺少的是备份之后的记录。",
                )
            )
        elif held > cp.count:
            problems.append(
                AuditProblem(
                    cp.last_id,
                    "audit.rewritten",
                    f"审计日志在 {when} 的签名检查点之前多出 {held - cp.count} 条记录：有记录被插入。",
                )
            )
        elif (entry_hash or "") != cp.head:
            problems.append(
                AuditProblem(
                    cp.last_id,
                    "audit.rewritten",
                    f"第{cp.last_id}条审计记录与 {when} 的签名检查点不符：此前的日志被改写（哈希链已被重新计算）。",
                )
            )
        return AnchorReport(cp, problems)


def _local_text(at: str) -> str:
    try:
        t = dt.datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return at
    return t.astimezone(STATION_TZ).strftime("%Y-%m-%d %H:%M")


def anchor_json(cp: Checkpoint | None) -> dict[str, Any] | None:
    if cp is None:
        return None
    return {
        "at": cp.at,
        "entries": cp.count,
        "last_id": cp.last_id,
        "reason": cp.reason,
        "key_id": cp.key_id,
    }
