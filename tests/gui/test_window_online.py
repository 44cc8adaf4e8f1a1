"""线上申请 in the window against the real hub on loopback: the count in the status bar, the
queue (Ctrl+Shift+O) with the two hours counting down (red under 30 minutes, flagged overdue),
认领并审核 -> the checklist with the uploads -> 答复申请人, and a claim another window holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PySide6.QtCore import Qt
from sqlalchemy import update

from sync.engine import SyncEngine
from sync.hub.models import HubOnlineApplication
from sync.hub.server import HubThread
from sync.jobs.shared import SyncConfig
from sync.keystore import MemoryTokenStore
from tests.expected_logs import NO_KEYRING_CHECKPOINT, RECEIPT_KEY_REFUSED, SYNC_PAUSED
from tests.gui.conftest import login, running_shell
from tests.online_doubles import COUNTY, PLATFORM_TOKEN, application, jpeg_bytes, pdf_bytes

pytestmark = [
    pytest.mark.gui,
    SYNC_PAUSED,
    RECEIPT_KEY_REFUSED,
    NO_KEYRING_CHECKPOINT,
]
FAST = SyncConfig(backoff_base=0.05, backoff_cap=0.3, connect_timeout=1, read_timeout=3)
PLATFORM = {"Authorization": f"Bearer {PLATFORM_TOKEN}"}
UPLOADS = [
    ("birth_medical_certificate_application", "出生信息.pdf", pdf_bytes("birth info")),
    ("marriage_certificate", "结婚证.jpg", jpeg_bytes()),
]


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: Any) -> Iterator[HubThread]:
    monkeypatch.setenv("INTAKE_HUB_PLATFORM_TOKEN", PLATFORM_TOKEN)
    h = HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "hub-blobs").start()
    yield h
    h.stop()


@pytest.fixture
def engine(ctx: Any, hub: HubThread) -> SyncEngine:
    eng = SyncEngine.from_context(ctx, tokens=MemoryTokenStore(), config=FAST, clock=ctx.clock)
    eng.enroll(hub.url, hub.store.issue_enroll_code("XX01", county=COUNTY))
    return eng


@pytest.fixture
def online_window(qtbot: Any, ctx: Any, printer: Any, reader: Any, engine: SyncEngine) -> Any:
    from ui.tasks import InlineTaskRunner

    gen = running_shell(
        qtbot,
        InlineTaskRunner(),
        ctx,
        printer=printer,
        reader=reader,
        sync_factory=lambda _ctx: engine,
    )
    shell = next(gen)
    yield login(qtbot, shell)
    next(gen, None)


def submit(hub: HubThread, ref: str, arrived_ago: dt.timedelta | None = None) -> str:
    r = requests.post(
        f"{hub.url}/v1/online/applications", json=application(ref, UPLOADS), headers=PLATFORM
    )
    assert r.status_code == 201, r.text
    aid: str = r.json()["id"]
    if arrived_ago is not None:  # as if it had arrived earlier
        with hub.store.write() as s:
            s.execute(
                update(HubOnlineApplication)
                .where(HubOnlineApplication.id == aid)
                .values(received_at=dt.datetime.now(dt.UTC) - arrived_ago)
            )
    return aid


def open_queue(qtbot: Any, window: Any) -> Any:
    qtbot.keyClick(
        window,
        Qt.Key.Key_O,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    dialog = window.online_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_queue_claim_review_answer_in_the_window(
    qtbot: Any, online_window: Any, engine: SyncEngine, hub: HubThread
) -> None:
    window = online_window
    assert not window.online_indicator.isVisibleTo(window)  # nothing waiting: not shown
    aid = submit(hub, "ZW-GUI-1")
    urgent = submit(hub, "ZW-GUI-2", dt.timedelta(hours=1, minutes=45))
    late = submit(hub, "ZW-GUI-3", dt.timedelta(hours=2, minutes=10))
    engine.run_until_idle(max_seconds=20)
    window.online_indicator.refresh()
    assert window.online_indicator.text() == "线上申请：3件待审"
    assert window.online_indicator.isVisibleTo(window)
    assert "#b03a2e" in window.online_indicator.styleSheet()  # one is urgent: red

    dialog = open_queue(qtbot, window)
    table = dialog.table
    assert table.rowCount() == 3
    rows = {table.item(r, 0).data(Qt.ItemDataRole.UserRole): r for r in range(3)}
    fresh, hurry, over = (table.item(rows[i], 3) for i in (aid, urgent, late))
    assert fresh.text() in ("剩余2小时00分", "剩余1小时59分")
    assert fresh.foreground().color().name() != "#b03a2e"
    assert (
        hurry.text() in ("剩余15分", "剩余14分") and hurry.foreground().color().name() == "#b03a2e"
    )
    assert over.text().startswith("已超时") and over.font().bold()
    assert table.item(rows[aid], 0).text() == "李小明"
    assert table.item(rows[aid], 1).text() == "新生儿出生"
    assert table.item(rows[aid], 4).text() == "待认领"

    dialog.select(aid)
    qtbot.mouseClick(dialog.claim_button, Qt.MouseButton.LeftButton)
    assert dialog.current is not None and dialog.current.id == aid
    items = {
        dialog.materials.item(r).data(Qt.ItemDataRole.UserRole): dialog.materials.item(r)
        for r in range(dialog.materials.count())
    }
    assert "（已上传文件）" in items["marriage_certificate"].text()
    assert items["marriage_certificate"].checkState() == Qt.CheckState.Checked
    assert items["household_register"].checkState() == Qt.CheckState.Unchecked
    for key, item in items.items():  # the clerk finds everything but the 户口簿 in order
        if key != "household_register":
            item.setCheckState(Qt.CheckState.Checked)
    assert "本窗口" in table.item(dialog.table.currentRow(), 4).text()
    qtbot.mouseClick(dialog.answer_button, Qt.MouseButton.LeftButton)
    assert "电子一次告知通知书" in dialog.result_label.text()
    assert "已通过县级平台送达申请人" in dialog.result_label.text()
    seen = requests.get(f"{hub.url}/v1/online/applications/{aid}", headers=PLATFORM).json()
    assert seen["decision"] == "notice" and seen["answer"]["missing"] == ["居民户口簿"]
    assert table.rowCount() == 2 and window.online_indicator.text() == "线上申请：2件待审"


def test_a_claim_another_window_holds_is_refused_with_its_name(
    qtbot: Any, online_window: Any, engine: SyncEngine, hub: HubThread
) -> None:
    aid = submit(hub, "ZW-GUI-4")
    engine.run_until_idle(max_seconds=20)
    other = requests.Session()
    code = hub.store.issue_enroll_code("XX02", county=COUNTY)
    token = requests.post(
        f"{hub.url}/v1/enrollments",
        json={
            "code": code,
            "store_id": "00000000-0000-4000-8000-000000000002",
            "station_code": "XX02",
        },
    ).json()["token"]
    other.headers["Authorization"] = f"Bearer {token}"
    assert other.post(f"{hub.url}/v1/online/applications/{aid}/claim").status_code == 200
    dialog = open_queue(qtbot, online_window)
    dialog.select(aid)
    qtbot.mouseClick(dialog.claim_button, Qt.MouseButton.LeftButton)
    assert "已由 XX02 认领审核" in dialog.status_label.text()
    assert dialog.current is None and not dialog.answer_button.isEnabled()
