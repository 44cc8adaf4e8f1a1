"""The background mechanism: one database thread, a pool, results back on the GUI thread; and a
whole intake through the real (threaded) runner."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.errors import IntakeError
from tests.expected_logs import TASK_FAILED
from ui.tasks import TaskError, TaskRunner

pytestmark = [
    pytest.mark.gui,
    TASK_FAILED,
]


@pytest.fixture
def runner(qapp: Any) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    r.shutdown()


def test_results_come_back_on_the_gui_thread_in_order(qtbot: Any, runner: TaskRunner) -> None:
    seen: list[tuple[int, str, bool]] = []
    workers: set[str] = set()

    def work(n: int) -> int:
        workers.add(threading.current_thread().name)
        return n

    for n in range(20):
        runner.run_db(
            lambda n=n: work(n),
            lambda r: seen.append((r, "ok", threading.current_thread() is threading.main_thread())),
        )
    qtbot.waitUntil(lambda: len(seen) == 20, timeout=5000)
    assert [s[0] for s in seen] == list(range(20))
    assert all(on_gui for _n, _ok, on_gui in seen)
    assert len(workers) == 1 and next(iter(workers)).startswith("intake-db")
    assert not runner.busy


def test_domain_errors_carry_their_message_and_others_a_generic_one(
    qtbot: Any, runner: TaskRunner, caplog: Any
) -> None:
    errors: list[TaskError] = []

    def refuse() -> None:
        raise IntakeError("intake.not_found")

    def crash() -> None:
        raise ValueError("张三 110105194912310021")  # what a careless parser might quote

    runner.run_db(refuse, on_error=errors.append)
    with caplog.at_level(logging.ERROR, logger="intake.ui.tasks"):
        runner.run_pool(crash, on_error=errors.append)
        qtbot.waitUntil(lambda: len(errors) == 2, timeout=5000)
    by_code = {e.code: e for e in errors}
    assert by_code["intake.not_found"].message == "找不到该受理记录。"
    assert "程序内部错误" in by_code["internal"].message
    assert "ValueError" in caplog.text and "张三" not in caplog.text and "110105" not in caplog.text


def test_unhandled_errors_go_to_the_failed_signal(qtbot: Any, runner: TaskRunner) -> None:
    def refuse() -> None:
        raise IntakeError(
            "intake.transition",
            stage="withdrawn",
            event="received",
            stage_label="已撤回",
            what="收件",
        )

    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.run_db(refuse)
    assert blocker.args[0].message.startswith("当前状态")


def test_whole_intake_with_the_threaded_runner(
    qtbot: Any, ctx: Any, printer: Any, reader: Any
) -> None:
    from app.options import Options
    from ui.shell import AppShell

    threaded = TaskRunner()
    shell = AppShell(
        Options.of(idle_lock_minutes=0),
        threaded,
        context_factory=lambda: ctx,
        printer=printer,
        reader=reader,
    )
    qtbot.addWidget(shell.login)
    try:
        shell.start()
        qtbot.waitUntil(lambda: shell.login.ready, timeout=15_000)
        shell.login.username.setText("wangfang")
        shell.login.password.setText("clerk1234")
        qtbot.keyClick(shell.login.password, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: shell.window is not None, timeout=5000)
        window = shell.window
        qtbot.addWidget(window)
        intake = window.intake

        reader.present()
        window.poll_card()
        qtbot.waitUntil(lambda: intake.applicant.verified("resident_id"), timeout=5000)
        qtbot.waitUntil(lambda: intake.submission_id is not None, timeout=5000)
        intake.applicant.phone_edit.setText("13812345678")  # a card has no phone: typed
        intake.save_applicant_now()
        intake.bundles.choose("newborn_birth")
        qtbot.waitUntil(lambda: intake.checklist is not None, timeout=5000)
        for qid, index in (
            ("parents_married", 1),
            ("applied_by_agent", 2),
            ("parents_local_insured", 1),
        ):
            intake.questions.editor(qid).setCurrentIndex(index)
        qtbot.waitUntil(lambda: not intake.checklist.unanswered, timeout=5000)
        intake.materials.mark_all_missing_collected()
        # the rest 已收 leaves the form signed at the window to be marked on its own
        qtbot.waitUntil(lambda: intake.checklist.missing == ("application_form",), timeout=5000)
        intake.materials.select_material("application_form")
        intake.materials.mark_current("collected")
        qtbot.waitUntil(lambda: intake.checklist.verdict == "complete", timeout=5000)
        intake.finish()
        qtbot.waitUntil(lambda: intake.finished, timeout=15_000)
        sid = intake.submission_id
        assert ctx.queries.get(sid).stage == "received"
        assert [k for k, _sha, _r, _at in ctx.documents.documents(sid)] == ["receipt"]
        assert len(printer.jobs) == 1
        window.shutdown()
        window.close()
    finally:
        threaded.shutdown()
