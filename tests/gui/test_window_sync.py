"""Sync in the window: the status bar indicator, the queue view, 立即同步 and 重试, against the
real engine and the real hub on loopback (tests/sync_doubles.py, sync.hub), inline runner."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PySide6.QtCore import Qt

from sync.engine import SyncEngine
from sync.hub.models import HubFeed, HubStation, HubSubmission
from sync.hub.server import HubThread
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore
from tests.expected_logs import STATUS_UPDATE_REFUSED, SYNC_PAUSED, TASK_FAILED
from tests.gui.conftest import login, running_shell
from tests.gui.test_window_intake import (
    F12,
    answer_questions,
    choose_newborn,
    enter_applicant,
    mark_by_keys,
)
from tests.sync_doubles import intake_with_pages
from ui.sync import ERROR_MS, IDLE_MS, SyncController, describe

pytestmark = [
    pytest.mark.gui,
    SYNC_PAUSED,
    TASK_FAILED,
    STATUS_UPDATE_REFUSED,
]

FAST = SyncConfig(
    backoff_base=0.05,
    backoff_cap=0.3,
    connect_timeout=1,
    read_timeout=3,
    status_interval=0,
    catalog_interval=0,
)


class Hub:
    """The hub on loopback, which a test can take down and bring back on the same port."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.thread: HubThread | None = HubThread(*self._where()).start()
        self.port = self.thread.port
        self.url = self.thread.url

    def _where(self) -> tuple[str, Path]:
        return f"sqlite:///{self.base}/hub.sqlite3", self.base / "hub-blobs"

    @property
    def store(self) -> Any:
        assert self.thread is not None
        return self.thread.store

    def down(self) -> None:
        if self.thread is not None:
            self.thread.stop()
            self.thread = None

    def up(self) -> None:
        self.thread = HubThread(*self._where(), port=self.port).start()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(tmp_path)
    yield h
    h.down()


@pytest.fixture
def engine(ctx: Any, hub: Hub) -> SyncEngine:
    """The station XX01 enrolled at the hub, its token in an in-memory store."""
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=ctx.clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01"))
    return eng


@pytest.fixture
def sync_shell(
    qtbot: Any, ctx: Any, printer: Any, reader: Any, engine: SyncEngine
) -> Iterator[Any]:
    from ui.tasks import InlineTaskRunner

    yield from running_shell(
        qtbot,
        InlineTaskRunner(),
        ctx,
        printer=printer,
        reader=reader,
        sync_factory=lambda _ctx: engine,
    )


@pytest.fixture
def sync_window(qtbot: Any, sync_shell: Any) -> Any:
    return login(qtbot, sync_shell)


def clerk(ctx: Any) -> Any:
    return ctx.staff.login("wangfang", "clerk1234")


def intake_in_window(qtbot: Any, window: Any, ctx: Any) -> str:
    """A whole intake by keyboard (F12 prints), then its paper captured as the camera would."""
    enter_applicant(qtbot, window)
    choose_newborn(qtbot, window)
    answer_questions(qtbot, window)
    mark_by_keys(
        qtbot,
        window,
        {"resident_id_card.father": Qt.Key.Key_2, "resident_id_card.mother": Qt.Key.Key_2},
    )
    qtbot.keyClick(window.intake.materials.table, F12)
    assert window.intake.finished
    sid = window.intake.submission_id
    for m in ctx.intake.checklist(sid).materials:
        if m.needs_pages:
            ctx.pages.attach_page(
                window.session.actor, sid, m.id, b"page " + m.id.encode(), "image/png"
            )
    assert ctx.queries.get(sid).stage == "digitised"
    return sid


def drain(qtbot: Any, window: Any) -> None:
    """立即同步, then the turns the engine asks for until everything is on the hub."""
    window.sync.sync_now()
    qtbot.waitUntil(lambda: drained(window), timeout=20_000)


def drained(window: Any) -> bool:
    """The last step found nothing left (marking pushed comes a step after the upload)."""
    turn = window.sync.last_turn
    return (
        turn is not None
        and turn.result.kind == "idle"
        and turn.status.state == "online"
        and turn.status.waiting == 0
    )


def ledger_push_text(window: Any, sid: str) -> str:
    model = window.ledger.model
    row = next(n for n, r in enumerate(model.rows) if r.submission_id == sid)
    return model.index(row, 7).data()


# ----------------------------------------------------------------------------- not enrolled


@pytest.mark.parametrize("hub_url", [None, "http://127.0.0.1:9"])
def test_a_station_not_enrolled_says_so_and_schedules_nothing(
    qtbot: Any, shell: Any, ctx: Any, hub_url: str | None
) -> None:
    """The default engine (OS keyring; the tests' null backend holds no token): no hub URL, or
    a hub URL whose token is not in the keyring, is 未登记."""
    if hub_url:
        SyncEngine.from_context(ctx).outbox.set(hub_url=hub_url)
    window = login(qtbot, shell)
    indicator = window.sync_indicator
    assert shell.sync_engine is not None and not window.sync.enrolled
    assert indicator.text().startswith("同步：未登记") and indicator.level == "neutral"
    assert "intake station enroll URL CODE" in indicator.toolTip()
    assert str(ctx.db_path) in indicator.toolTip()
    assert not window.sync.timer.isActive()
    window.sync.sync_now()  # finds out without the network that nothing changed
    assert window.sync.last_turn.result.kind == "not_enrolled"
    assert indicator.text().startswith("同步：未登记") and not window.sync.timer.isActive()
    dialog = window.show_sync_queue()
    assert "未登记" in dialog.summary.text() and "intake station enroll" in dialog.details.text()


# ----------------------------------------------------------------------------- offline, drained


def test_intakes_wait_offline_and_sync_now_drains_them_when_the_hub_is_back(
    qtbot: Any, sync_window: Any, ctx: Any, hub: Hub
) -> None:
    window = sync_window
    hub.down()
    sid = intake_in_window(qtbot, window, ctx)
    other = intake_with_pages(ctx, clerk(ctx), random.Random(1))
    window.sync.sync_now()
    status = window.sync.status
    assert status.state == "offline" and status.waiting == 2
    text = window.sync_indicator.text()
    assert text.startswith("同步：离线") and "待上传 2 件" in text and "最早等待" in text
    assert window.sync_indicator.level == "warning"
    assert "资料已保存在本机" in window.sync_indicator.toolTip()
    # the engine's backoff decides the next turn (FAST: at most 0.3 s)
    assert window.sync.timer.isActive() and window.sync.timer.interval() <= 300
    assert ctx.queries.get(sid).pushed_at is None and ctx.queries.get(other).pushed_at is None

    dialog = window.show_sync_queue()
    model = dialog.model
    assert model.rowCount() == 2
    numbers = {model.index(r, 0).data() for r in range(2)}
    assert numbers == {ctx.queries.get(sid).number, ctx.queries.get(other).number}
    head = model.item_at(0)
    assert head.state == "retrying" and head.attempts >= 1 and head.next_retry_at is not None
    assert model.index(0, 2).data() == "等待重试" and "无法连接县级平台" in model.index(0, 8).data()
    assert model.index(0, 9).data() and model.index(0, 7).data() != "—"
    assert int(model.index(0, 4).data()) > 0  # events waiting
    assert model.index(1, 2).data() == "等待上传"
    assert not dialog.retry_button.isEnabled()  # nothing parked

    hub.up()
    qtbot.mouseClick(dialog.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: drained(window), timeout=20_000)
    assert window.sync_indicator.text() == "同步：在线 · 全部已上传"
    assert window.sync_indicator.level == "ok"
    assert ctx.queries.get(sid).stage == "pushed" and ctx.queries.get(other).stage == "pushed"
    assert ledger_push_text(window, sid) == "已推送"  # the ledger was refreshed by the sync
    assert model.rowCount() == 0 and dialog.empty.isVisibleTo(dialog)
    assert window.sync.timer.isActive() and window.sync.timer.interval() == IDLE_MS


# ----------------------------------------------------------------------------- decisions


def test_a_department_decision_shows_in_the_open_intake_after_the_next_step(
    qtbot: Any, sync_window: Any, ctx: Any, hub: Hub
) -> None:
    window = sync_window
    sid = intake_with_pages(ctx, clerk(ctx), random.Random(2))
    drain(qtbot, window)
    window.open_intake(sid)  # pushed: opens in 查询与后续
    detail = window.search.detail
    assert detail.view.id == sid and detail.view.stage == "pushed"
    v = ctx.queries.get(sid)
    key = hub.store.issue_dept_key("新乡县卫健委")
    answer = requests.post(
        f"{hub.url}/v1/dept/decisions",
        json={"number": v.number, "item_id": v.items[0], "decision": "accepted"},
        headers={"Authorization": "Bearer " + key},
        timeout=10,
    )
    assert answer.status_code == 201
    window.sync.sync_now()
    qtbot.waitUntil(lambda: detail.view.stage == "accepted", timeout=20_000)
    assert detail.state_label.text() == ctx.queries.get(sid).label
    assert "办理结果" in detail.info.text()
    row = next(r for r in window.ledger.model.rows if r.submission_id == sid)
    assert row.stage == "accepted"


# ----------------------------------------------------------------------------- parked, retry


def _feed_row(hub: Hub, sid: str, item: str, decision: str) -> None:
    """A status update the hub should never have sent (as tests/integration/test_sync_e2e.py)."""
    with hub.store.write() as s:
        sub = s.get(HubSubmission, sid)
        st = s.get(HubStation, sub.station_id)
        st.feed_seq += 1
        s.add(
            HubFeed(
                station_id=st.id,
                cursor=st.feed_seq,
                submission_id=sid,
                item_id=item,
                decision=decision,
                reason="",
                department="",
                decision_id=f"raw-{st.feed_seq}",
                decided_at=dt.datetime.now(dt.UTC),
            )
        )


def test_a_parked_item_shows_its_reason_and_retry_goes_through_the_engine(
    qtbot: Any, sync_window: Any, ctx: Any, hub: Hub, engine: SyncEngine, monkeypatch: Any
) -> None:
    window = sync_window
    sid = intake_with_pages(ctx, clerk(ctx), random.Random(3))
    drain(qtbot, window)
    _feed_row(hub, sid, ctx.queries.get(sid).items[0], "maybe")  # not a decision
    window.sync.sync_now()
    qtbot.waitUntil(lambda: window.sync.status.needs_person == 1, timeout=20_000)
    indicator = window.sync_indicator
    assert "1 项需人工处理" in indicator.text() and indicator.level == "error"

    qtbot.keyClick(
        window,
        Qt.Key.Key_S,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    dialog = window.sync_dialog
    assert dialog is not None and dialog.isVisible()
    model = dialog.model
    row = next(r for r in range(model.rowCount()) if model.item_at(r).state == "needs_person")
    parked = model.item_at(row)
    assert parked.kind == "status" and parked.number == ctx.queries.get(sid).number
    assert model.index(row, 1).data() == "办理结果" and model.index(row, 2).data() == "需人工处理"
    assert "办理结果格式不正确" in model.index(row, 8).data()
    assert "县行政审批局" in model.index(row, 9).data()

    calls: list[str | None] = []
    real_retry = engine.retry

    def retry(item_id: str | None = None) -> int:
        calls.append(item_id)
        return real_retry(item_id)

    monkeypatch.setattr(engine, "retry", retry)
    dialog.table.setCurrentIndex(model.index(row, 0))
    assert dialog.retry_button.isEnabled()
    qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    assert parked.id in calls
    assert window.sync.last_turn.retried == 1 and "重新安排 1 项" in dialog.note.text()
    qtbot.waitUntil(lambda: window.sync.status.needs_person == 0, timeout=20_000)
    assert all(q.id != parked.id for q in dialog.model.items)
    assert "需人工处理" not in indicator.text()


# ----------------------------------------------------------------------------- scheduling


class HeldRunner:
    """A runner that keeps pool work until the test releases it (as a slow link would)."""

    def __init__(self) -> None:
        self.pool: list[tuple[Any, Any, Any]] = []
        self.db: list[Any] = []

    def run_pool(
        self,
        fn: Any,
        on_done: Any = None,
        on_error: Any = None,
        *,
        guard: Any = None,
        quiet: bool = False,
    ) -> None:
        assert quiet  # sync turns are background work: they must not light "处理中"
        self.pool.append((fn, on_done, on_error))

    def run_db(
        self, fn: Any, on_done: Any = None, on_error: Any = None, *, guard: Any = None
    ) -> None:
        self.db.append(fn)

    def release(self) -> None:
        fn, on_done, _on_error = self.pool.pop(0)
        on_done(fn())


def test_turns_run_on_the_pool_one_at_a_time(qtbot: Any, engine: SyncEngine) -> None:
    runner = HeldRunner()
    controller = SyncController(describe(engine), runner)  # type: ignore[arg-type]
    controller.start()
    assert controller.timer.isActive()  # enrolled: the first turn is scheduled, not run
    controller.sync_now()
    controller.sync_now()  # while a turn is out: no second one
    controller.timer.timeout.emit()
    assert len(runner.pool) == 1 and not runner.db and controller.running
    assert not controller.timer.isActive()
    runner.release()
    assert not controller.running and controller.last_turn.result.kind in (
        "uploaded",
        "pulled",
        "idle",
    )
    assert controller.timer.isActive() and controller.timer.interval() == 0  # asked again meanwhile
    controller.stop()
    assert not controller.timer.isActive()
    controller.timer.timeout.emit()
    controller.sync_now()
    assert not runner.pool  # stopped: nothing more goes out


def test_the_real_runner_steps_on_a_pool_thread(
    qtbot: Any, engine: SyncEngine, monkeypatch: Any
) -> None:
    from ui.tasks import TaskRunner

    threads: list[str] = []
    real_step = engine.step

    def step() -> Any:
        threads.append(threading.current_thread().name)
        return real_step()

    monkeypatch.setattr(engine, "step", step)
    runner = TaskRunner()
    try:
        controller = SyncController(describe(engine), runner)
        with qtbot.waitSignal(controller.turn_finished, timeout=20_000):
            controller.sync_now()
        controller.stop()
        assert threads and all(t.startswith("intake-pool") for t in threads)
        assert controller.status.state == "online"
    finally:
        runner.shutdown()


def test_the_ledger_is_not_refreshed_by_turns_that_change_no_intake(
    qtbot: Any, sync_window: Any, monkeypatch: Any
) -> None:
    window = sync_window
    drain(qtbot, window)
    refreshed: list[int] = []
    monkeypatch.setattr(window.ledger, "refresh", lambda: refreshed.append(1))
    window.sync.sync_now()
    assert window.sync.last_turn.result.kind == "idle" and not window.sync.last_turn.touched
    assert not refreshed


def test_a_turn_that_crashes_shows_an_error_and_tries_again_later(
    qtbot: Any, sync_window: Any, engine: SyncEngine, monkeypatch: Any
) -> None:
    window = sync_window

    def broken() -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "step", broken)
    window.sync.sync_now()
    indicator = window.sync_indicator
    assert indicator.text().startswith("同步：错误：") and indicator.level == "error"
    assert "稍后自动重试" in indicator.toolTip()
    assert window.sync.timer.isActive() and window.sync.timer.interval() == ERROR_MS
    assert not window.messages.isVisible()  # the status bar says it; no message over the work


def test_the_engine_is_built_once_and_outlives_a_logout(
    qtbot: Any, sync_shell: Any, engine: SyncEngine
) -> None:
    first = login(qtbot, sync_shell)
    assert sync_shell.sync_engine is engine and first.sync.engine is engine
    first.logout_requested.emit()
    assert not first.sync.timer.isActive()
    second = login(qtbot, sync_shell)
    assert second is not first and second.sync.engine is engine and second.sync.enrolled
    assert second.sync.timer.isActive()  # the first turn is scheduled for the new window


def test_every_kind_of_queue_item_has_a_chinese_label() -> None:
    import typing

    from sync.status import QueueItem
    from ui.sync_queue import KIND_LABELS

    kinds = typing.get_args(typing.get_type_hints(QueueItem)["kind"])
    assert kinds and set(kinds) <= set(KIND_LABELS)
