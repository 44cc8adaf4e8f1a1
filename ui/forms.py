"""一表申请 at the window: after finishing, 打印申请表 / 打印授权书 print the forms the intake
generates (prefilled, for the applicant's signature) through the same print pipeline as the
receipt — kept with the intake first, then sent to the printer — and say how many of the form's
fields the window filled in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication

if TYPE_CHECKING:
    from ui.printflow import PrintOutcome


def print_generated_form(workspace: Any, sid: str, kind: str) -> None:
    """WORKSPACE: the intake screen (its printer, session, finish panel and status line)."""
    s = workspace.session

    def counted(outcome: PrintOutcome, counts: tuple[int, int]) -> None:
        prefilled, total = counts
        if outcome.printed:
            text = QCoreApplication.translate(
                "GeneratedForms",
                "{title}已打印，请申请人核对并签字（本件表单共{total}项信息，窗口自动生成{prefilled}项）。",
            )
        else:
            text = QCoreApplication.translate("GeneratedForms", "{title}：{message}")
        workspace._post(
            text.format(
                title=outcome.title, message=outcome.message, total=total, prefilled=prefilled
            ),
            "success" if outcome.printed else "error",
        )

    def printed(outcomes: list[PrintOutcome]) -> None:
        workspace.result.add_outcomes(outcomes)
        (outcome,) = outcomes
        s.runner.run_db(
            lambda: s.documents.form_autofill(sid),
            lambda counts: counted(outcome, counts),
            lambda _err: counted(outcome, (0, 0)),
            guard=workspace,
        )

    workspace.printer.print_documents(sid, (kind,), printed)
