"""The one background mechanism of the window.

All service and database calls run on a single-thread executor (SQLite wants one writer, and
FIFO order keeps a clerk's edits in the order they were made); printing, PDF building and device
polls run on a small pool. Each result comes back to the GUI thread through one queued signal and
the caller's callback runs there. Tests swap in `InlineTaskRunner`, which runs work at once.

Errors: a `DomainError` carries a Chinese message meant for the clerk; anything else is logged
(type and stack only: exception texts may carry personal data) and reported with a generic
message. Either goes to the task's `on_error`, or to the `failed` signal when none was given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger("intake.ui.tasks")

Done = Callable[[Any], None]
Failed = Callable[["TaskError"], None]


class TaskError(NamedTuple):
    """What a failed task reports to the GUI: the Chinese message and, for domain errors, the
    stable code and the error itself (its `details` name the field at fault)."""

    message: str
    code: str
    error: BaseException

    @property
    def field(self) -> str | None:
        details = getattr(self.error, "details", None) or {}
        value = details.get("field")
        return str(value) if value else None


def task_error(exc: BaseException) -> TaskError:
    from local_db.errors import DomainError  # light module; imported here to keep startup lean

    if isinstance(exc, DomainError):
        return TaskError(exc.message, exc.code, exc)
    import traceback

    # No exception text in the log: a ValueError from a parser may quote what the clerk typed.
    # Frames as file:line (function) only; source lines can quote literals too.
    stack = "\n".join(
        f"  {f.filename}:{f.lineno} ({f.name})" for f in traceback.extract_tb(exc.__traceback__)
    )
    log.error("task failed with %s\n%s", type(exc).__name__, stack)
    return TaskError(
        QCoreApplication.translate(
            "TaskRunner", "操作失败：程序内部错误（已记录日志）。请重试；如反复出现，请联系管理员。"
        ),
        "internal",
        exc,
    )


class _Job:
    __slots__ = ("future", "guard", "on_done", "on_error", "quiet")

    def __init__(
        self,
        on_done: Done | None,
        on_error: Failed | None,
        guard: QObject | None,
        quiet: bool = False,
    ) -> None:
        self.on_done = on_done
        self.on_error = on_error
        self.guard = guard
        self.quiet = quiet  # background work (sync) does not light the busy indicator
        self.future: Future[Any] | None = None


class TaskRunner(QObject):
    """Owns the executors; lives on the GUI thread."""

    failed = Signal(object)  # TaskError of a task that had no on_error
    busy_changed = Signal(bool)
    _finished = Signal(object)  # internal: a _Job whose future is done (queued to GUI thread)

    def __init__(self, parent: QObject | None = None, pool_workers: int = 2) -> None:
        super().__init__(parent)
        self._pool_workers = pool_workers
        self._db: ThreadPoolExecutor | None = None  # made on first use: not on the start-up path
        self._pool: ThreadPoolExecutor | None = None
        self._pending = 0
        self._finished.connect(self._on_runner_finished)

    def _executors(self) -> tuple[ThreadPoolExecutor, ThreadPoolExecutor]:
        if self._db is None or self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-db")
            self._pool = ThreadPoolExecutor(
                max_workers=self._pool_workers, thread_name_prefix="intake-pool"
            )
        return self._db, self._pool

    # -- submitting

    def run_db(
        self,
        fn: Callable[[], Any],
        on_done: Done | None = None,
        on_error: Failed | None = None,
        *,
        guard: QObject | None = None,
    ) -> None:
        """Run FN on the database thread (in submission order)."""
        self._submit(False, fn, _Job(on_done, on_error, guard))

    def run_pool(
        self,
        fn: Callable[[], Any],
        on_done: Done | None = None,
        on_error: Failed | None = None,
        *,
        guard: QObject | None = None,
        quiet: bool = False,
    ) -> None:
        """Run FN on the worker pool (printing, PDF building, devices, sync). quiet: background
        work the clerk did not ask for does not count as busy."""
        self._submit(True, fn, _Job(on_done, on_error, guard, quiet))

    def _submit(self, on_pool: bool, fn: Callable[[], Any], job: _Job) -> None:
        executor = self._executors()[1 if on_pool else 0]
        if not job.quiet:
            self._pending += 1
            if self._pending == 1:
                self.busy_changed.emit(True)
        job.future = executor.submit(fn)
        # Emitted from the worker thread; the receiver lives here, so delivery is queued.
        job.future.add_done_callback(lambda _f: self._finished.emit(job))

    @Slot(object)
    def _on_runner_finished(self, job: _Job) -> None:
        if not job.quiet:
            self._pending -= 1
            if self._pending == 0:
                self.busy_changed.emit(False)
        assert job.future is not None
        if job.future.cancelled():
            return  # dropped at shutdown
        exc = job.future.exception()
        self._deliver(job, None if exc is not None else job.future.result(), exc)

    def _deliver(self, job: _Job, result: Any, exc: BaseException | None) -> None:
        if job.guard is not None and not shiboken6.isValid(job.guard):
            return  # the screen that asked is gone
        if exc is not None:
            err = task_error(exc)
            if job.on_error is not None:
                job.on_error(err)
            else:
                self.failed.emit(err)
        elif job.on_done is not None:
            job.on_done(result)

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def shutdown(self) -> None:
        """Finish queued database work (drafts must reach the disk); drop queued pool work."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._db is not None:
            self._db.shutdown(wait=True)


class InlineTaskRunner(TaskRunner):
    """Runs every task at once on the calling thread: deterministic tests, same callbacks."""

    def __init__(self, parent: QObject | None = None) -> None:
        QObject.__init__(self, parent)
        self._pending = 0

    def _submit(self, on_pool: bool, fn: Callable[[], Any], job: _Job) -> None:
        try:
            result = fn()
        except Exception as exc:
            self._deliver(job, None, exc)
            return
        self._deliver(job, result, None)

    def shutdown(self) -> None:
        pass
