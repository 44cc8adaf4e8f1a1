"""一表申请: the documents service extended with the forms the window generates — the
一件事联办申请表 and the 个人信息查询核验授权书, printed prefilled for the applicant's signature and
kept with the intake like every other document. Keeping one also records its prefilled and total
field counts (form_prints), from which the supervisor's 表单信息自动生成率 is summed."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.documents import GENERATED_FORM_KINDS, DocKind, IntakeDocument
from app.form_content import FormContent, FormKind, assemble
from app.intake_base import applicant_view
from app.intake_documents import IntakeDocuments
from app.views import APPLICANT_FIELDS, StaffView
from local_db.models import Applicant, FormPrint, Submission

log = logging.getLogger("intake.service")


class IntakeForms(IntakeDocuments):
    """Documents, plus the generated forms' content and their field counts."""

    def document(
        self, actor: StaffView | None, sid: str, kind: DocKind, *, reprint: bool = False
    ) -> IntakeDocument:
        doc = super().document(actor, sid, kind, reprint=reprint)
        if kind not in GENERATED_FORM_KINDS:
            return doc
        with self._sessions() as s:
            sub, _ = self._load(s, sid)
            content = self._content(s, sub, kind)  # type: ignore[arg-type]
        return dataclasses.replace(doc, form=content)

    def form_autofill(self, sid: str) -> tuple[int, int]:
        """(prefilled, total) over the forms printed for intake SID: its own 自动生成率."""
        with self._sessions() as s:
            row = s.execute(
                select(
                    func.coalesce(func.sum(FormPrint.fields_prefilled), 0),
                    func.coalesce(func.sum(FormPrint.fields_total), 0),
                ).where(FormPrint.submission_id == sid)
            ).one()
            return int(row[0]), int(row[1])

    def _content(self, s: Session, sub: Submission, kind: FormKind) -> FormContent:
        applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
        record: dict[str, object] = {}
        if applicant is not None:
            view = applicant_view(applicant)
            record = {f: getattr(view, f) for f in APPLICANT_FIELDS}
            record["kind"] = view.kind
        return assemble(
            kind,
            self._catalog(sub),
            self._require_bundle(sub),
            self._result(s, sub),
            record,
            self._answers(s, sub.id),
            sub.jurisdiction,
        )

    def _kept(self, s: Session, sub: Submission, kind: DocKind, doc_id: str) -> None:
        if kind not in GENERATED_FORM_KINDS:
            return
        # Rebuilt in the keeping transaction, from the same store the PDF was built from.
        content = self._content(s, sub, kind)  # type: ignore[arg-type]
        row = s.get(FormPrint, (sub.id, kind))
        if row is None:  # a reprint replaces the counts: one form per intake and kind
            row = FormPrint(submission_id=sub.id, kind=kind)
            s.add(row)
        row.document_id = doc_id
        row.fields_total = content.total
        row.fields_prefilled = content.prefilled
        row.printed_at = self._clock.now()
        log.info(
            "intake %s: %s kept, %d of %d fields prefilled",
            sub.number,
            kind,
            content.prefilled,
            content.total,
        )
