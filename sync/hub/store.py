"""The hub's storage operations: enrollment, tokens, events, manifests, status feed, catalog,
the copy of each station's audit log, and the stations' receipt-signing keys.

Every write is idempotent: an event is keyed by its client id (the same content again is a
duplicate, different content is a conflict), a page by its hash, a manifest is a set, a decision by
its decision id, an audit entry by its station id (and checked against the chain), a receipt key by
its key id. One station can never write to another station's submissions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from sync.hub.audit_copy import AuditOps
from sync.hub.catalog import CatalogOps
from sync.hub.decisions import DecisionOps
from sync.hub.enrolment import EnrolmentOps
from sync.hub.ingest import IngestOps
from sync.hub.models import (
    HubEvent,
    HubFeed,
    HubStation,
    HubSubmission,
)
from sync.hub.online import OnlineOps
from sync.hub.receipt_keys import ReceiptOps


class HubStore(EnrolmentOps, IngestOps, AuditOps, ReceiptOps, DecisionOps, CatalogOps, OnlineOps):
    """The hub's storage: one class made of the parts above, each in its own module."""

    # ---------------------------------------------- checks used by tests and admins

    def counts(self) -> dict[str, int]:
        with self.sessions() as s:
            return {
                "events": s.scalar(select(func.count()).select_from(HubEvent)) or 0,
                "submissions": s.scalar(select(func.count()).select_from(HubSubmission)) or 0,
                "feed": s.scalar(select(func.count()).select_from(HubFeed)) or 0,
            }

    def events_of(self, station_code: str | None = None) -> list[dict[str, Any]]:
        with self.sessions() as s:
            stmt = select(HubEvent, HubStation.code).join(
                HubStation, HubStation.id == HubEvent.station_id
            )
            if station_code:
                stmt = stmt.where(HubStation.code == station_code)
            return [
                {
                    "id": e.id,
                    "seq": e.seq,
                    "submission_id": e.submission_id,
                    "type": e.type,
                    "payload": self.payload_of(e.id, e.payload),
                    "clerk_id": e.clerk_id,
                    "at": e.at,
                    "station": code,
                    "via": e.via,
                }
                for e, code in s.execute(stmt.order_by(HubEvent.station_id, HubEvent.seq))
            ]
