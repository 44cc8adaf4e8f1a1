"""Print a finished intake's documents: rebuild → PDF → keep with the submission → printer.

The PDF is saved with the submission before it goes to the printer, so a printer that is off,
out of paper or missing never loses a document: the clerk sees the printer's message and can
print the kept PDF again. Store work runs on the database thread, PDF building and printing on
the pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject

from ui.tasks import TaskError

if TYPE_CHECKING:
    from app.documents import DocKind
    from ui.session import ClerkSession

_TITLES = {
    "receipt": QT_TRANSLATE_NOOP("DocumentPrinter", "收件回执"),
    "notice": QT_TRANSLATE_NOOP("DocumentPrinter", "一次告知通知书"),
    "commitment": QT_TRANSLATE_NOOP("DocumentPrinter", "容缺受理告知承诺书"),
    "return_list": QT_TRANSLATE_NOOP("DocumentPrinter", "撤回申请材料退还清单"),
    "supplement": QT_TRANSLATE_NOOP("DocumentPrinter", "补正材料收件回执"),
    "application_form": QT_TRANSLATE_NOOP("DocumentPrinter", "一件事联办申请表"),
    "authorization": QT_TRANSLATE_NOOP("DocumentPrinter", "信息查询核验授权书"),
    "delivery_proof": QT_TRANSLATE_NOOP("DocumentPrinter", "送达凭证"),  # ui/handover.py
}


def document_title(kind: str) -> str:
    return QCoreApplication.translate("DocumentPrinter", str(_TITLES.get(kind, kind)))


@dataclass
class PrintOutcome:
    kind: DocKind
    reprint: bool = False
    number: str = ""
    saved: bool = False  # the PDF is kept with the submission
    sha256: str | None = None
    printed: bool = False
    message: str = ""  # the printer's (or the failing step's) message, Chinese
    pdf: bytes = field(default=b"", repr=False)

    @property
    def title(self) -> str:
        return document_title(self.kind)


def build_pdf(doc: Any, paper: str) -> bytes:
    from printing import documents as builders  # reportlab: imported on first print only

    return builders.build_document(doc, paper)  # type: ignore[arg-type]


class DocumentPrinter:
    """Runs the print pipeline for several documents in order and reports every outcome."""

    def __init__(self, session: ClerkSession, guard: QObject | None = None) -> None:
        self.session = session
        self.guard = guard

    def print_documents(
        self,
        sid: str,
        kinds: tuple[DocKind, ...] | list[DocKind],
        on_finished: Callable[[list[PrintOutcome]], None],
        *,
        reprint: bool = False,
    ) -> None:
        queue = list(kinds)
        outcomes: list[PrintOutcome] = []

        def next_kind() -> None:
            if not queue:
                on_finished(outcomes)
                return
            outcome = PrintOutcome(queue.pop(0), reprint)
            outcomes.append(outcome)
            self._one(sid, outcome, next_kind)

        next_kind()

    def print_again(
        self, outcome: PrintOutcome, on_finished: Callable[[PrintOutcome], None]
    ) -> None:
        """Send the kept PDF to the printer again (after the clerk fixed the printer)."""
        self._send(outcome, lambda: on_finished(outcome))

    # -- one document

    def _one(self, sid: str, outcome: PrintOutcome, then: Callable[[], None]) -> None:
        s = self.session
        runner = s.runner

        def failed(step_message: str) -> Callable[[TaskError], None]:
            def handler(err: TaskError) -> None:
                outcome.message = step_message.format(error=err.message)
                then()

            return handler

        def built(pdf: bytes) -> None:
            outcome.pdf = pdf
            runner.run_db(
                lambda: s.documents.save_document(
                    s.actor, sid, outcome.kind, pdf, reprint=outcome.reprint
                ),
                saved,
                saved_failed,
                guard=self.guard,
            )

        def saved(sha: str) -> None:
            outcome.saved, outcome.sha256 = True, sha
            self._send(outcome, then)

        def saved_failed(err: TaskError) -> None:
            # Still print: the applicant must leave with the paper; the clerk sees why it was
            # not kept.
            outcome.message = QCoreApplication.translate(
                "DocumentPrinter", "文书未能保存到本机：{error}"
            ).format(error=err.message)
            self._send(outcome, then, keep_message=True)

        def got_document(doc: Any) -> None:
            outcome.number = doc.number
            runner.run_pool(
                lambda: build_pdf(doc, s.paper),
                built,
                failed(QCoreApplication.translate("DocumentPrinter", "生成文书失败：{error}")),
                guard=self.guard,
            )

        runner.run_db(
            lambda: s.documents.document(s.actor, sid, outcome.kind, reprint=outcome.reprint),
            got_document,
            failed(QCoreApplication.translate("DocumentPrinter", "无法生成文书：{error}")),
            guard=self.guard,
        )

    def _send(
        self, outcome: PrintOutcome, then: Callable[[], None], keep_message: bool = False
    ) -> None:
        s = self.session
        job = QCoreApplication.translate("DocumentPrinter", "{number} {title}").format(
            number=outcome.number, title=outcome.title
        )
        if outcome.reprint:
            job = QCoreApplication.translate("DocumentPrinter", "{job}（补打）").format(job=job)

        def printed(result: Any) -> None:
            outcome.printed = bool(result.ok)
            if not keep_message or not result.ok:
                outcome.message = result.message
            then()

        def print_failed(err: TaskError) -> None:
            outcome.printed = False
            outcome.message = QCoreApplication.translate(
                "DocumentPrinter", "打印失败：{error}"
            ).format(error=err.message)
            then()

        s.runner.run_pool(
            lambda: s.printer.print_pdf(outcome.pdf, s.printer_name, 1, job_name=job),
            printed,
            print_failed,
            guard=self.guard,
        )
