"""Sync in the window: the engine is built once (database thread, at the first login) and driven
by one QTimer on the GUI thread; every turn runs on the task runner's pool, so the clerk never
waits on the network.

- `open_sync(ctx, …)` (database thread): the engine, whether the station is enrolled (hub URL and
  token in the keyring), and its first status.
- `run_turn(engine, …)` (pool thread, Qt-free): retries a person asked for, one `engine.step()`,
  the status, the queue while the queue view is open, and the intakes that step marked pushed
  or recorded a department decision for.
- `SyncController` (GUI thread): one turn at a time, the next one at the interval the step asked
  for (`next_interval_ms`); `sync_now()`, `retry()` and `poke()` for the window.
- `SyncIndicatorWidget`: the status bar's always-visible 在线 / 离线 / 待上传 / 错误 / 未登记;
  clicking it opens the queue view (ui/sync_queue.py).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtWidgets import QToolButton, QWidget

from ui.deadline import station_time

if TYPE_CHECKING:
    from app.context import AppContext
    from app.devices import SyncEngineFactory
    from sync.engine import StepResult, SyncEngine
    from sync.status import QueueItem, SyncStatus
    from ui.tasks import TaskError, TaskRunner

log = logging.getLogger("intake.ui.sync")

FIRST_TURN_MS = 1_000  # after login: the window is up before the first request goes out
IDLE_MS = 30_000  # nothing to send: look again (new intakes, decisions at the hub)
MAX_WAIT_MS = 60_000  # a long backoff is waited in steps: the indicator's "waiting for" stays fresh
POKE_MS = 2_000  # an intake was finished or pages captured: send them soon
ERROR_MS = 60_000  # the turn itself crashed (a bug, the local store): try again later
TOUCHING_EVENTS = ("pushed", "item_decided")  # written by the engine (no clerk) into intakes


# ----------------------------------------------------------------------------- Qt-free part


@dataclass(frozen=True)
class SyncSetup:
    """What the window gets at login: the engine (kept by the shell across logins)."""

    engine: SyncEngine
    enrolled: bool
    status: SyncStatus


@dataclass(frozen=True)
class SyncTurn:
    """The outcome of one turn on the pool."""

    result: StepResult
    status: SyncStatus
    queue: list[QueueItem] | None  # read only while the queue view is open
    touched: frozenset[str]  # submission ids marked pushed or given a decision by this step
    retried: int  # parked items put back in line


def describe(engine: SyncEngine) -> SyncSetup:
    """Enrolled = a hub URL in the store and the station's token in the keyring. (Database
    thread; the keyring may be slow to answer too.)"""
    from local_db import messages
    from sync.errors import SyncError
    from sync.keystore import token_key
    from sync.status import LinkState, Problem

    problem: Problem | None = None
    enrolled = False
    if engine.transport_config() is not None:
        try:
            enrolled = bool(engine.tokens.get(token_key(engine.outbox.store_id())))
        except SyncError as exc:  # keyring unavailable
            problem = Problem(exc.code, exc.message, exc.fix)
    status = engine.status()
    if not enrolled:
        problem = problem or Problem(
            "sync.not_enrolled",
            messages.render("sync.not_enrolled"),
            messages.fix("sync.not_enrolled"),
        )
        state: LinkState = "error" if problem.code == "sync.keyring" else "not_enrolled"
        status = dataclasses.replace(status, state=state, problem=problem)
    return SyncSetup(engine, enrolled, status)


def open_sync(
    ctx: AppContext, engine: SyncEngine | None, factory: SyncEngineFactory
) -> SyncSetup | None:
    """On the database thread at login: ENGINE (built by FACTORY the first time) and its state;
    None when sync cannot even start (the window works on without it)."""
    try:
        if engine is None:
            engine = factory(ctx)
        return describe(engine)
    except Exception as exc:
        log.error("sync not available: %s", type(exc).__name__)
        return None


def wake(engine: SyncEngine) -> None:
    """立即同步 (sync now): forget the link's backoff so this step tries the hub at once."""
    engine.wake()


def touched_since(engine: SyncEngine, seq: int) -> frozenset[str]:
    """Intakes the engine changed after station_seq SEQ (pushed, department decisions)."""
    top = engine.outbox.max_seq()
    if top <= seq:
        return frozenset()
    return frozenset(
        e.submission_id
        for e in engine.outbox.pending(seq, top - seq)
        if e.type in TOUCHING_EVENTS and e.clerk_id is None
    )


def run_turn(
    engine: SyncEngine, *, wake_up: bool = False, retries: tuple[str, ...] = (), queue: bool = False
) -> SyncTurn:
    """One turn (pool thread): retries asked for, one step, what the window shows."""
    retried = sum(engine.retry(item) for item in retries)  # also clears the backoff
    if wake_up and not retries:
        wake(engine)
    seq = engine.outbox.max_seq()
    result = engine.step()
    touched = touched_since(engine, seq)
    return SyncTurn(result, engine.status(), engine.queue() if queue else None, touched, retried)


def next_interval_ms(result: StepResult) -> int | None:
    """When to step again: never when not enrolled; at once while there is more; after the
    engine's wait (in steps of at most MAX_WAIT_MS); IDLE_MS when all is sent."""
    if result.kind == "not_enrolled":
        return None
    if result.wait is None:
        return IDLE_MS
    return max(0, min(MAX_WAIT_MS, round(result.wait * 1000)))


# ----------------------------------------------------------------------------- controller


class SyncController(QObject):
    """Drives the engine from the GUI thread: a single-shot timer starts a turn on the pool,
    the turn's result sets the timer again. Never two turns at once."""

    status_changed = Signal(object)  # SyncStatus
    queue_changed = Signal(object)  # list[QueueItem]
    intakes_synced = Signal(object)  # frozenset of submission ids pushed or decided
    turn_finished = Signal(object)  # SyncTurn
    running_changed = Signal(bool)

    def __init__(
        self, setup: SyncSetup | None, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner  # not the session: ui.session imports SyncSetup from here
        self.engine: SyncEngine | None = setup.engine if setup is not None else None
        self.enrolled = bool(setup and setup.enrolled)
        self.status: SyncStatus | None = setup.status if setup is not None else None
        self.queue: list[QueueItem] = []
        self.want_queue = False  # the queue view is open: read the queue after each step
        self.last_turn: SyncTurn | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._on_timer_timeout)
        self._running = False
        self._again = False  # a turn was asked for while one ran
        self._poked = False
        self._wake = False
        self._retries: list[str] = []
        self._stopped = False

    @property
    def available(self) -> bool:
        return self.engine is not None

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if self.status is not None:
            self.status_changed.emit(self.status)
        if self.enrolled:
            self._schedule(FIRST_TURN_MS)

    def stop(self) -> None:
        """Window closing or logout: no further turns (one under way finishes on the pool)."""
        self._stopped = True
        self.timer.stop()

    def _schedule(self, ms: int) -> None:
        if not self._stopped and self.engine is not None:
            self.timer.start(ms)

    # -- requests

    def sync_now(self) -> None:
        """立即同步: a turn at once, the link tried even during a backoff. Not enrolled: the
        step finds out without the network whether the station was enrolled meanwhile."""
        self._wake = True
        self._turn()

    def retry(self, item_id: str) -> None:
        """重试 of a parked item ("item:<n>"), then a turn to send it."""
        self._retries.append(item_id)
        self._turn()

    def poke(self) -> None:
        """Something new to send (an intake finished, pages captured): a turn soon."""
        if not self.enrolled or self._stopped or self.engine is None:
            return
        if self._running:
            self._poked = True
        elif not self.timer.isActive() or self.timer.remainingTime() > POKE_MS:
            self.timer.start(POKE_MS)

    def refresh_queue(self) -> None:
        """Read the queue now (the view was opened); the database thread, no network."""
        engine = self.engine
        if engine is None:
            self.queue_changed.emit([])
            return
        self.runner.run_db(engine.queue, self._on_queue_read, self._on_queue_failed, guard=self)

    def _on_queue_read(self, items: list[QueueItem]) -> None:
        self.queue = items
        self.queue_changed.emit(items)

    def _on_queue_failed(self, err: TaskError) -> None:
        log.warning("sync queue not read: %s", err.code)

    # -- turns

    def _on_timer_timeout(self) -> None:
        self._turn()

    def _turn(self) -> None:
        engine = self.engine
        if engine is None or self._stopped:
            return
        if self._running:
            self._again = True
            return
        self.timer.stop()
        wake_up, retries, queue = self._wake, tuple(self._retries), self.want_queue
        self._wake, self._retries, self._poked = False, [], False
        self._running = True
        self.running_changed.emit(True)
        self.runner.run_pool(
            lambda: run_turn(engine, wake_up=wake_up, retries=retries, queue=queue),
            self._on_turn_done,
            self._on_turn_failed,
            guard=self,
            quiet=True,
        )

    def _finish_turn(self) -> bool:
        """Common end of a turn; True when another turn was asked for meanwhile."""
        self._running = False
        self.running_changed.emit(False)
        again = self._again or bool(self._retries)
        self._again = False
        return again

    def _on_turn_done(self, turn: SyncTurn) -> None:
        again = self._finish_turn()
        self.last_turn = turn
        self.enrolled = turn.result.kind != "not_enrolled"
        self.status = turn.status
        self.status_changed.emit(turn.status)
        if turn.queue is not None:
            self.queue = turn.queue
            self.queue_changed.emit(turn.queue)
        if turn.touched:
            self.intakes_synced.emit(turn.touched)
        self.turn_finished.emit(turn)
        interval = 0 if again else next_interval_ms(turn.result)
        if interval is not None and self._poked:
            interval = min(interval, POKE_MS)
        self._poked = False
        if interval is not None:
            self._schedule(interval)

    def _on_turn_failed(self, err: TaskError) -> None:
        from sync.status import Problem

        again = self._finish_turn()
        if self.status is not None:
            problem = Problem(
                err.code,
                err.message,
                self.tr("稍后自动重试；如反复出现，请联系技术支持。"),
            )
            self.status = dataclasses.replace(self.status, state="error", problem=problem)
            self.status_changed.emit(self.status)
        self._schedule(0 if again else ERROR_MS)


# ----------------------------------------------------------------------------- wording


def waited_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return QCoreApplication.translate("SyncIndicatorWidget", "{days}天{hours}小时").format(
            days=days, hours=hours
        )
    if hours:
        return QCoreApplication.translate("SyncIndicatorWidget", "{hours}小时{minutes}分钟").format(
            hours=hours, minutes=minutes
        )
    if minutes:
        return QCoreApplication.translate("SyncIndicatorWidget", "{minutes}分钟").format(
            minutes=minutes
        )
    return QCoreApplication.translate("SyncIndicatorWidget", "不到1分钟")


def _short(text: str, limit: int = 24) -> str:
    text = text.strip().rstrip("。")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_level(status: SyncStatus | None) -> str:
    """ok / warning / error / neutral: the indicator's colour."""
    if status is None or status.state == "error":
        return "error"
    if status.needs_person:
        return "error"
    if status.state == "offline":
        return "warning"
    if status.state == "online":
        return "ok"
    return "neutral"


def status_line(status: SyncStatus | None) -> str:
    """One line: 同步：在线 · 待上传 3 件 · 最早等待 2小时5分钟 · 1 项需人工处理."""
    if status is None:
        return QCoreApplication.translate("SyncIndicatorWidget", "同步：不可用")
    if status.state == "online":
        head = QCoreApplication.translate("SyncIndicatorWidget", "在线")
    elif status.state == "offline":
        head = QCoreApplication.translate("SyncIndicatorWidget", "离线")
    elif status.state == "not_enrolled":
        head = QCoreApplication.translate("SyncIndicatorWidget", "未登记")
    elif status.state == "error":
        reason = _short(status.problem.message) if status.problem else ""
        head = QCoreApplication.translate("SyncIndicatorWidget", "错误：{reason}").format(
            reason=reason
        )
    else:
        head = QCoreApplication.translate("SyncIndicatorWidget", "正在连接")
    parts = [head]
    if status.waiting:
        parts.append(
            QCoreApplication.translate("SyncIndicatorWidget", "待上传 {count} 件").format(
                count=status.waiting
            )
        )
        if status.oldest_waiting_seconds is not None:
            parts.append(
                QCoreApplication.translate("SyncIndicatorWidget", "最早等待 {duration}").format(
                    duration=waited_text(status.oldest_waiting_seconds)
                )
            )
    elif status.state == "online":
        parts.append(QCoreApplication.translate("SyncIndicatorWidget", "全部已上传"))
    if status.needs_person:
        parts.append(
            QCoreApplication.translate("SyncIndicatorWidget", "{count} 项需人工处理").format(
                count=status.needs_person
            )
        )
    return QCoreApplication.translate("SyncIndicatorWidget", "同步：{summary}").format(
        summary=" · ".join(parts)
    )


def enroll_command(db_path: str | None) -> str:
    command = "intake station enroll URL CODE"
    return f'{command} --db "{db_path}"' if db_path else command


def status_details(status: SyncStatus | None, db_path: str | None = None) -> list[str]:
    """Lines for the tooltip and the queue view's header."""
    if status is None:
        return [
            QCoreApplication.translate(
                "SyncIndicatorWidget", "同步组件未能启动（已记录日志），受理资料保存在本机。"
            ),
            QCoreApplication.translate(
                "SyncIndicatorWidget", "请联系技术支持；可用命令行 intake sync --status 查看原因。"
            ),
        ]
    lines: list[str] = []
    if status.hub_url:
        lines.append(
            QCoreApplication.translate(
                "SyncIndicatorWidget", "县级平台：{url}（站点 {station}）"
            ).format(url=status.hub_url, station=status.station_code or "—")
        )
    if status.waiting:
        lines.append(
            QCoreApplication.translate(
                "SyncIndicatorWidget", "待上传：{count} 件受理记录，{events} 条记录"
            ).format(count=status.waiting, events=status.waiting_events)
        )
    if status.last_success_at is not None:
        lines.append(
            QCoreApplication.translate("SyncIndicatorWidget", "最近一次连通：{time}").format(
                time=station_time(status.last_success_at, "%Y-%m-%d %H:%M:%S")
            )
        )
    if status.next_attempt_at is not None and status.state != "online":
        lines.append(
            QCoreApplication.translate("SyncIndicatorWidget", "下次尝试：{time}").format(
                time=station_time(status.next_attempt_at, "%H:%M:%S")
            )
        )
    if status.state == "not_enrolled":
        lines.append(
            QCoreApplication.translate(
                "SyncIndicatorWidget",
                "本站点尚未登记到县级平台，受理资料保存在本机，不会丢失。",
            )
        )
        lines.append(
            QCoreApplication.translate(
                "SyncIndicatorWidget",
                "登记方法：管理员向县行政审批局索取一次性登记码，在本机命令行执行：{command}"
                "（URL 为平台地址，CODE 为登记码）。登记后点“立即同步”。",
            ).format(command=enroll_command(db_path))
        )
    elif status.problem is not None:
        lines.append(status.problem.message)
        if status.problem.fix:
            lines.append(
                QCoreApplication.translate("SyncIndicatorWidget", "处理办法：{fix}").format(
                    fix=status.problem.fix
                )
            )
    if status.state == "offline" and status.waiting:
        lines.append(
            QCoreApplication.translate(
                "SyncIndicatorWidget", "资料已保存在本机，联网后自动上传，无需重复操作。"
            )
        )
    if status.needs_person:
        lines.append(
            QCoreApplication.translate(
                "SyncIndicatorWidget", "有 {count} 项需人工处理，请在同步队列中查看原因。"
            ).format(count=status.needs_person)
        )
    return lines


# ----------------------------------------------------------------------------- indicator


class SyncIndicatorWidget(QToolButton):
    """The status bar's sync state, coloured; a click opens the queue view."""

    _STYLES: ClassVar[dict[str, str]] = {
        "ok": "color: #1e5e2e; background: #e6f4ea;",
        "warning": "color: #7a4b00; background: #fff4e0; font-weight: bold;",
        "error": "color: #ffffff; background: #b03a2e; font-weight: bold;",
        "neutral": "color: #4b5563; background: #eef0f3;",
    }

    def __init__(self, parent: QWidget | None = None, db_path: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncIndicator")
        self.setAutoRaise(True)
        self.db_path = db_path
        self.level = ""
        self.status: SyncStatus | None = None
        self.setText(self.tr("同步：正在启动"))

    def set_status(self, status: SyncStatus | None) -> None:
        self.status = status
        self.level = status_level(status)
        self.setText(status_line(status))
        details = status_details(status, self.db_path)
        details.append(self.tr("点击查看同步队列（Ctrl+Shift+S）"))
        self.setToolTip("\n".join(details))
        self.setStyleSheet(
            f"QToolButton#syncIndicator {{ {self._STYLES[self.level]} padding: 0 6px; "
            "border-radius: 3px; }"
        )
