"""送达: the result handed to the applicant at the window or sent by express, and its 送达凭证.

The checks here run before IntakeService.deliver writes anything: an express delivery names a
carrier and a tracking number of that carrier's shape (a mistyped number is caught at the
counter, not when the parcel is lost); a window pick-up names who received it (by default
whoever acts: the agent, else the applicant). The 送达凭证's
content (DeliveryProof) is rebuilt from the submission's `delivered` events; the event itself
reaches the hub, where the departments read it (GET /v1/dept/submissions/{sid}).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import STATION_TZ
from app.errors import IntakeError
from app.intake_base import IntakeBase
from local_db.models import Applicant, Event, Staff, Station

# Carrier code -> (name, tracking-number shapes). Shapes as the carriers print them on waybills.
CARRIERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ems": ("中国邮政EMS", (r"[A-Z]{2}\d{9}[A-Z]{2}", r"1\d{12}", r"9\d{12}")),
    "post": ("中国邮政快递包裹", (r"\d{13}", r"[A-Z]{2}\d{9}[A-Z]{2}")),
    "sf": ("顺丰速运", (r"SF\d{13}", r"\d{12}")),
    "jd": ("京东物流", (r"JD[0-9A-Z]{11,16}",)),
    "zto": ("中通快递", (r"\d{12,15}",)),
    "yto": ("圆通速递", (r"YT\d{13}",)),
    "yunda": ("韵达速递", (r"\d{13,15}",)),
    "sto": ("申通快递", (r"\d{12,15}",)),
    "jt": ("极兔速递", (r"JT\d{13}",)),
}
METHODS = {"window": "窗口领取", "express": "邮寄送达"}
MAX_RECIPIENT = 64
RECIPIENT_LABEL = "领取人"  # {who} of the catalog's person.name message


@dataclass(frozen=True)
class DeliveryInput:
    method: str  # window | express
    carrier: str = ""  # a key of CARRIERS (express)
    tracking_number: str = ""
    recipient: str = ""  # who took it at the window (the applicant or the agent by name)
    address: str = ""


def clean_delivery(d: DeliveryInput) -> DeliveryInput:
    """Normalised input, or IntakeError naming the field."""
    if d.method not in METHODS:
        raise IntakeError("intake.delivery_method")
    recipient = " ".join(d.recipient.split())
    if len(recipient) > MAX_RECIPIENT:
        raise IntakeError("person.name", field="recipient", who=RECIPIENT_LABEL)
    if d.method == "window":  # an empty recipient: the service names the agent or applicant
        return DeliveryInput("window", recipient=recipient, address=d.address.strip())
    tracking = re.sub(r"[\s-]", "", d.tracking_number).upper()
    if not tracking:
        raise IntakeError("intake.tracking_required", field="tracking_number")
    carrier = d.carrier or _carrier_of(tracking)
    if carrier not in CARRIERS:
        raise IntakeError(
            "delivery.carrier",
            field="carrier",
            given=carrier[:16],
            known="、".join(f"{k}（{v[0]}）" for k, v in CARRIERS.items()),
        )
    name, shapes = CARRIERS[carrier]
    if not any(re.fullmatch(p, tracking) for p in shapes):
        raise IntakeError("delivery.tracking_shape", field="tracking_number", carrier=name)
    return DeliveryInput("express", carrier, tracking, recipient, d.address.strip())


def _carrier_of(tracking: str) -> str:
    """The carrier a number's own prefix names (SF…, JD…, YT…, JT…), else "" (ask the clerk)."""
    for code, prefix in (("sf", "SF"), ("jd", "JD"), ("yto", "YT"), ("jt", "JT")):
        if tracking.startswith(prefix):
            return code
    return ""


@dataclass(frozen=True)
class DeliveryProof:
    """What a 送达凭证 carries (one delivery of an intake's results)."""

    number: str
    centre_name: str
    station_name: str
    clerk_name: str
    delivered_at: dt.datetime  # aware, station time
    method: str  # window | express
    items: tuple[str, ...]  # item names delivered
    recipient: str = ""
    carrier: str = ""  # carrier name
    tracking_number: str = ""
    address: str = ""
    applicant_name: str = ""
    bundle_name: str = ""

    @property
    def method_label(self) -> str:
        return METHODS[self.method]


class DeliveryProofs(IntakeBase):
    """The 送达凭证 of an intake, rebuilt from its delivered events."""

    def proof(self, sid: str, which: int = -1) -> DeliveryProof:
        """The proof of the intake's WHICH-th delivery (default: the latest)."""
        with self._sessions() as s:
            sub, _ = self._load(s, sid)
            rows = _deliveries(s, sid)
            if not rows:
                raise IntakeError("delivery.none", number=sub.number or "")
            payload, at, clerk_id = rows[which]
            station = s.get(Station, sub.station_id)
            clerk = s.get(Staff, clerk_id) if clerk_id else None
            catalog = self._catalog(sub)
            bundle = catalog.bundle(sub.bundle_id) if sub.bundle_id else None
            names = {i.id: i.name for i in bundle.items} if bundle else {}
            applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
            carrier = str(payload.get("carrier", ""))
            return DeliveryProof(
                number=sub.number or "",
                centre_name=station.centre_name if station else "",
                station_name=station.name if station else "",
                clerk_name=clerk.display_name if clerk else "",
                delivered_at=at.astimezone(STATION_TZ),
                method=str(payload.get("method", "window")),
                items=tuple(names.get(i, i) for i in payload.get("items", ())),
                recipient=str(payload.get("recipient", "")),
                carrier=CARRIERS[carrier][0] if carrier in CARRIERS else carrier,
                tracking_number=str(payload.get("tracking_number", "")),
                address=str(payload.get("address", "")),
                applicant_name=applicant.name if applicant else "",
                bundle_name=bundle.name if bundle else "",
            )


def _deliveries(s: Session, sid: str) -> list[tuple[dict[str, Any], dt.datetime, int | None]]:
    rows = s.execute(
        select(Event.payload, Event.at, Event.clerk_id)
        .where(Event.submission_id == sid, Event.type == "delivered")
        .order_by(Event.station_seq)
    ).all()
    return [(json.loads(p), at, c) for p, at, c in rows]
