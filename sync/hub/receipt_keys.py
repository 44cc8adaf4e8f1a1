"""Stations' receipt-signing keys, receipt verification and the public status page's facts."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.numbering import parse_intake_number, parse_receipt_payload
from app.receipts import key_id, key_to_text, load_public_key, verify_receipt
from app.validators import mask_name, mask_resident_id
from sync.hub.db import (
    Principal,
    StoreBase,
)
from sync.hub.decisions import items_of
from sync.hub.errors import HubError
from sync.hub.models import (
    HubEvent,
    HubItemDecision,
    HubReceiptKey,
    HubStation,
    HubSubmission,
)

log = logging.getLogger("intake.hub")


class ReceiptOps(StoreBase):
    # ------------------------------------------------------------------ receipt keys

    def _add_receipt_key(self, s: Session, station_id: int, key: object, now: dt.datetime) -> str:
        """stored | duplicate; HubError when malformed or when the key id is taken."""
        if (
            not isinstance(key, dict)
            or not isinstance(key.get("key_id"), str)
            or not isinstance(key.get("public_key"), str)
            or len(key["public_key"]) > 100
        ):
            raise HubError(400, "receipt_key.shape", "回执公钥应含 key_id 与 public_key")
        try:
            public = load_public_key(key["public_key"])
        except ValueError as exc:
            raise HubError(400, "receipt_key.invalid", "回执公钥不是有效的 Ed25519 公钥") from exc
        kid, text = key_id(public), key_to_text(public)
        if kid != key["key_id"]:
            raise HubError(400, "receipt_key.id", "回执公钥编号与公钥不符")
        row = s.get(HubReceiptKey, kid)
        if row is None:
            s.add(HubReceiptKey(key_id=kid, station_id=station_id, public_key=text, created_at=now))
            s.flush()
            log.info("receipt key %s enrolled for station id %d", kid, station_id)
            return "stored"
        if row.station_id == station_id and row.public_key == text:
            return "duplicate"
        # never rebind a key id: receipts already verified with it must stay verifiable as they were
        raise HubError(
            409, "receipt_key.conflict", "该公钥编号已登记为另一公钥或另一站点的公钥，未予登记"
        )

    def add_receipt_key(self, p: Principal, key: object) -> dict[str, str]:
        with self.write() as s:
            status = self._add_receipt_key(s, p.station_id, key, self.now())
        return {"status": status, "key_id": str(key["key_id"]) if isinstance(key, dict) else ""}

    def receipt_keys(self, station_code: str | None = None) -> dict[str, str]:
        """Key id → public key, every key ever enrolled (for `intake verify-receipt --keys`)."""
        with self.sessions() as s:
            stmt = select(HubReceiptKey.key_id, HubReceiptKey.public_key).join(
                HubStation, HubStation.id == HubReceiptKey.station_id
            )
            if station_code:
                stmt = stmt.where(HubStation.code == station_code.upper())
            return {k: v for k, v in s.execute(stmt.order_by(HubReceiptKey.created_at))}

    def check_receipt(self, payload: object) -> dict[str, Any]:
        """Check a scanned receipt QR against the enrolled keys: genuine, and issued by the
        station its intake number names."""
        if not isinstance(payload, str) or not payload.strip() or len(payload) > 1000:
            raise HubError(
                400, "receipt.shape", "请提供回执二维码内容 payload（不超过 1000 个字符）"
            )
        ref = parse_receipt_payload(payload)
        kid = ref.fields.get("k", "") if ref else ""
        with self.sessions() as s:
            key = (
                s.execute(
                    select(HubReceiptKey.public_key, HubStation.code)
                    .join(HubStation, HubStation.id == HubReceiptKey.station_id)
                    .where(HubReceiptKey.key_id == kid)
                ).first()
                if kid
                else None
            )
            sub = (
                s.execute(
                    select(HubSubmission.stage).where(HubSubmission.number == ref.number)
                ).first()
                if ref
                else None
            )
        v = verify_receipt(payload, {kid: key[0]} if key else {})
        valid, code, message = v.valid, v.code, v.message
        number = parse_intake_number(v.number) if v.number else None
        if code == "receipt.unknown_key":
            message = "平台没有登记该回执的签名公钥：回执系伪造，或签发站点尚未向平台登记公钥。"
        elif valid and key is not None and (number is None or number.station_code != key[1]):
            valid, code = False, "receipt.station_mismatch"
            message = f"回执编号不属于签名站点 {key[1]}：回执系伪造。"
        log.info("receipt %s verified: %s", v.number or "-", code)
        if not valid:  # a typed or forged number learns nothing about the hub's records
            sub = None
        return {
            "valid": valid,
            "code": code,
            "message": message,
            "number": v.number,
            "issued": v.issued or None,
            "manifest": v.manifest or None,
            "station": key[1] if key is not None else None,
            "on_hub": sub is not None,
            "stage": sub[0] if sub is not None else None,
        }

    def receipt_status(self, token: object) -> tuple[int, dict[str, Any]]:
        """What the public status page shows for a scanned receipt (no login: the signed token
        is the credential): HTTP status and the masked facts. Never a full name or ID number."""
        if not isinstance(token, str) or not token.strip() or len(token) > 1000:
            return 400, {
                "code": "receipt.shape",
                "message": "链接不完整：请重新扫描收件回执上的二维码。",
            }
        check = self.check_receipt(token)
        if not check["valid"]:
            return 403 if check["code"] != "receipt.not_ours" else 400, check
        out: dict[str, Any] = {**check, "applicant": "", "id_masked": "", "items": []}
        with self.sessions() as s:
            sub = s.scalars(
                select(HubSubmission).where(HubSubmission.number == check["number"])
            ).first()
            if sub is None:
                return 200, out
            latest = s.execute(
                select(HubEvent.id, HubEvent.payload)
                .where(HubEvent.submission_id == sub.id, HubEvent.type == "applicant_set")
                .order_by(HubEvent.seq.desc())
                .limit(1)
            ).first()
            decisions = {
                d.item_id: d
                for d in s.scalars(
                    select(HubItemDecision).where(HubItemDecision.submission_id == sub.id)
                )
            }
            items = items_of(sub)
        names = self._item_names()
        who = self.payload_of(*latest) if latest else {}
        name = str(who["name"]) if isinstance(who.get("name"), str) else ""
        ident = next(
            (who[k] for k in ("resident_id", "uscc") if isinstance(who.get(k), str) and who[k]), ""
        )
        out.update(
            applicant=mask_name(name),
            id_masked=mask_resident_id(ident),
            stage=sub.stage,
            items=[
                {
                    "id": i,
                    "name": names.get(i, i),
                    "decision": decisions[i].decision if i in decisions else None,
                    "reason": decisions[i].reason if i in decisions else "",
                    "decided_at": decisions[i].decided_at.isoformat() if i in decisions else None,
                }
                for i in items
            ],
        )
        return 200, out

    def _item_names(self) -> dict[str, str]:
        current = self.current_catalog()
        if current is None:
            return {}
        try:
            packed = json.loads(current[2])
            return {
                i["id"]: i["name"] for b in packed.get("bundles", []) for i in b.get("items", [])
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}
