"""Scanned pages of a submission: attach, remove, rotate, reorder, read back (blobs encrypted in
the attachment store, one event each)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import IntakeError
from app.intake_base import IntakeBase
from app.views import (
    PageView,
    StaffView,
)
from local_db.models import (
    Attachment,
)

log = logging.getLogger("intake.service")


class IntakePages(IntakeBase):
    """Captured pages of a submission, one event each."""

    def attach_page(
        self, actor: StaffView, sid: str, material_id: str, data: bytes, mime: str
    ) -> PageView:
        """Store a captured page under a material; the intake becomes digitised when the last
        collected paper material has its pages."""
        sha = self._attachments.put(data)  # content-addressed, idempotent: safe before the row
        now = self._clock.now()
        with self._tx() as s:
            sub, state = self._load(s, sid)
            if sub.bundle_id:
                result = self._result(s, sub)
                if result.line(material_id) is None:
                    raise IntakeError("capture.material_not_in_list", material=material_id)
            position = 1 + (
                s.scalar(
                    select(func.max(Attachment.position)).where(
                        Attachment.submission_id == sid, Attachment.material_id == material_id
                    )
                )
                or 0
            )
            att = Attachment(
                id=str(uuid.uuid4()),
                submission_id=sid,
                material_id=material_id,
                position=position,
                sha256=sha,
                address=self._attachments.address(sha),
                size=len(data),
                mime=mime,
                rotation=0,
                removed=False,
                created_at=now,
            )
            s.add(att)
            s.flush()
            state = self._event(
                s,
                sub,
                state,
                actor,
                "page_attached",
                {
                    "attachment": att.id,
                    "material": material_id,
                    "sha256": sha,
                    "size": len(data),
                    "mime": mime,
                },
            )
            if state.stage == "received" and not self._paper_outstanding(
                s, sub, self._result(s, sub)
            ):
                self._event(s, sub, state, actor, "digitised", {})
            return PageView(att.id, material_id, position, sha, len(data), mime, 0)

    def remove_page(self, actor: StaffView, sid: str, attachment_id: str) -> None:
        with self._tx() as s:
            sub, state = self._load(s, sid)
            att = s.get(Attachment, attachment_id)
            if att is None or att.submission_id != sid or att.removed:
                raise IntakeError("capture.no_page")
            att.removed = True
            self._event(s, sub, state, actor, "page_removed", {"attachment": attachment_id})

    def rotate_page(self, actor: StaffView, sid: str, attachment_id: str, degrees: int) -> PageView:
        """Turn a page by a multiple of 90° (kept as metadata: the stored image is untouched)."""
        if degrees % 90:
            raise IntakeError("capture.bad_rotation")
        with self._tx() as s:
            sub, state = self._load(s, sid)
            att = self._page(s, sid, attachment_id)
            att.rotation = (att.rotation + degrees) % 360
            self._event(
                s,
                sub,
                state,
                actor,
                "page_rotated",
                {"attachment": attachment_id, "rotation": att.rotation},
            )
            return _page_view(att)

    def move_page(
        self, actor: StaffView, sid: str, attachment_id: str, position: int
    ) -> list[PageView]:
        """Put a page at POSITION (1-based) among its material's pages; returns the new order."""
        with self._tx() as s:
            sub, state = self._load(s, sid)
            att = self._page(s, sid, attachment_id)
            pages = list(
                s.scalars(
                    select(Attachment)
                    .where(
                        Attachment.submission_id == sid,
                        Attachment.material_id == att.material_id,
                        Attachment.removed.is_(False),
                    )
                    .order_by(Attachment.position)
                )
            )
            if not 1 <= position <= len(pages):
                raise IntakeError("capture.bad_position", len_pages=len(pages))
            pages.remove(att)
            pages.insert(position - 1, att)
            for n, page in enumerate(pages, start=1):
                page.position = n
            self._event(
                s,
                sub,
                state,
                actor,
                "page_moved",
                {"attachment": attachment_id, "position": position},
            )
            return [_page_view(p) for p in pages]

    @staticmethod
    def _page(s: Session, sid: str, attachment_id: str) -> Attachment:
        att = s.get(Attachment, attachment_id)
        if att is None or att.submission_id != sid or att.removed:
            raise IntakeError("capture.no_page")
        return att

    def page_bytes(self, page: PageView) -> bytes:
        return self._attachments.get(page.sha256)


def _page_view(a: Attachment) -> PageView:
    return PageView(a.id, a.material_id, a.position, a.sha256, a.size, a.mime, a.rotation)
