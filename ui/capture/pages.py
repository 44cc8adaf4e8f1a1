"""A material's captured pages: the thumbnail strip (in the checklist's page slot and in the
capture dialog), thumbnails decoded on the pool, and the page actions (rotate, reorder, delete)
as service calls on the database thread.

Keys on the strip: R turns the selected page right, L left; Ctrl+← / Ctrl+→ move it; Delete
removes it; T retakes it (the new page takes its place, the old one goes once the new one is
stored).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap, QTransform
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.checklist import MaterialLine
    from app.views import PageView, SubmissionView
    from ui.session import ClerkSession
    from ui.tasks import TaskError

_PAGE_ID = Qt.ItemDataRole.UserRole


def needs_pages(line: MaterialLine) -> bool:
    """Collected paper: what the 2-hour digitise rule waits for (as the intake service counts)."""
    return line.needs_pages


def first_outstanding(
    lines: Iterable[MaterialLine], pages: Iterable[PageView], after: str | None = None
) -> str | None:
    """The next collected paper material without pages (after AFTER, wrapping), else None."""
    paged = {p.material_id for p in pages}
    todo = [line.id for line in lines if needs_pages(line) and line.id not in paged]
    if not todo:
        return None
    ids = [line.id for line in lines]
    if after in ids:
        start = ids.index(after)
        ordered = ids[start + 1 :] + ids[: start + 1]
        return next(m for m in ordered if m in todo)
    return todo[0]


def thumbnail_image(data: bytes, rotation: int, size: QSize) -> QImage:
    """Decode a stored page and make its thumbnail (any thread: QImage, not QPixmap)."""
    image = QImage.fromData(data)
    if image.isNull():
        return image
    if rotation % 360:
        image = image.transformed(
            QTransform().rotate(rotation), Qt.TransformationMode.FastTransformation
        )
    return image.scaled(
        size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def _thumbnail_of(pages: Any, page: PageView, size: QSize) -> QImage:
    return thumbnail_image(pages.page_bytes(page), page.rotation, size)


class ThumbnailLoader(QObject):
    """Thumbnails by (content hash, rotation), decoded on the pool, kept for reuse."""

    LIMIT = 120

    def __init__(self, session: ClerkSession, size: QSize, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.size = size
        self._cache: OrderedDict[tuple[str, int], QImage] = OrderedDict()
        self._loading: set[tuple[str, int]] = set()
        self._waiting: dict[tuple[str, int], list[Callable[[QImage], None]]] = {}

    def load(self, pages: Iterable[PageView], deliver: Callable[[str, QImage], None]) -> None:
        for page in pages:
            key = (page.sha256, page.rotation % 360)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                deliver(page.id, cached)
                continue
            self._waiting.setdefault(key, []).append(partial(deliver, page.id))
            if key in self._loading:
                continue
            self._loading.add(key)
            self.session.runner.run_pool(
                partial(_thumbnail_of, self.session.pages, page, self.size),
                partial(self._on_loaded, key),
                partial(self._on_failed, key),
                guard=self,
            )

    def _on_loaded(self, key: tuple[str, int], image: QImage) -> None:
        self._loading.discard(key)
        if not image.isNull():
            self._cache[key] = image
            while len(self._cache) > self.LIMIT:
                self._cache.popitem(last=False)
        for deliver in self._waiting.pop(key, []):
            deliver(image)

    def _on_failed(self, key: tuple[str, int], _err: object = None) -> None:
        self._loading.discard(key)
        self._waiting.pop(key, None)


class PageStripWidget(QWidget):
    """The pages of one material as thumbnails, in their stored order."""

    rotate_requested = Signal(str, int)  # page id, degrees (±90)
    move_requested = Signal(str, int)  # page id, new 1-based position
    remove_requested = Signal(str)  # page id
    retake_requested = Signal(str)  # page id

    def __init__(self, thumb: QSize | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb = thumb or QSize(72, 96)
        self._pages: tuple[PageView, ...] = ()
        self._notes: dict[str, str] = {}  # page id -> quality findings (Chinese)
        self.list = QListWidget(self)
        self.list.setAccessibleName(self.tr("已采集的页面"))
        self.list.setObjectName("pageStrip")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(self.thumb)
        self.list.setSpacing(4)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMinimumHeight(self.thumb.height() + 40)
        self.list.installEventFilter(self)
        self.list.currentRowChanged.connect(lambda _r: self._update_buttons())
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[str, QToolButton] = {}
        for key, text, tip in (
            ("left", self.tr("⟲ 左转"), self.tr("向左旋转90°（L）")),
            ("right", self.tr("⟳ 右转"), self.tr("向右旋转90°（R）")),
            ("earlier", self.tr("◀ 前移"), self.tr("页面前移（Ctrl+←）")),
            ("later", self.tr("▶ 后移"), self.tr("页面后移（Ctrl+→）")),
            ("remove", self.tr("删除"), self.tr("删除该页（Delete）")),
            ("retake", self.tr("重拍"), self.tr("重新拍摄该页，替换原页（T）")),
        ):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _c=False, k=key: self.act(k))
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- content

    @property
    def pages(self) -> tuple[PageView, ...]:
        return self._pages

    def set_pages(self, pages: Iterable[PageView]) -> None:
        current = self.selected_page()
        keep = current.id if current else None
        self._pages = tuple(sorted(pages, key=lambda p: p.position))
        icons = {
            self.list.item(r).data(_PAGE_ID): self.list.item(r).icon()
            for r in range(self.list.count())
        }
        self.list.clear()
        for n, page in enumerate(self._pages, start=1):
            item = QListWidgetItem(self._label(page, n), self.list)
            item.setData(_PAGE_ID, page.id)
            item.setSizeHint(QSize(self.thumb.width() + 12, self.thumb.height() + 28))
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            icon = icons.get(page.id)
            if icon is not None and not icon.isNull():
                item.setIcon(icon)
            note = self._notes.get(page.id)
            item.setToolTip(note or self.tr("第{n}页").format(n=n))
        row = next((n for n, p in enumerate(self._pages) if p.id == keep), len(self._pages) - 1)
        if row >= 0:
            self.list.setCurrentRow(row)
        self._update_buttons()

    def _label(self, page: PageView, n: int) -> str:
        text = self.tr("第{n}页").format(n=n)
        if page.rotation:
            text = self.tr("{text} ↻{deg}°").format(text=text, deg=page.rotation)
        if page.id in self._notes:
            text = self.tr("⚠ {text}").format(text=text)
        return text

    def set_thumbnail(self, page_id: str, image: QImage) -> None:
        item = self._item(page_id)
        if item is not None and not image.isNull():
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def has_thumbnail(self, page_id: str) -> bool:
        item = self._item(page_id)
        return item is not None and not item.icon().isNull()

    def set_note(self, page_id: str, note: str | None) -> None:
        """Quality findings for a page (shown as ⚠ and in its tooltip)."""
        if note:
            self._notes[page_id] = note
        else:
            self._notes.pop(page_id, None)
        self.set_pages(self._pages)

    def _item(self, page_id: str) -> QListWidgetItem | None:
        for r in range(self.list.count()):
            item = self.list.item(r)
            if item.data(_PAGE_ID) == page_id:
                return item
        return None

    def selected_page(self) -> PageView | None:
        row = self.list.currentRow()
        return self._pages[row] if 0 <= row < len(self._pages) else None

    def select(self, page_id: str) -> None:
        for n, page in enumerate(self._pages):
            if page.id == page_id:
                self.list.setCurrentRow(n)

    # -- actions

    def act(self, action: str) -> None:
        page = self.selected_page()
        if page is None:
            return
        index = self._pages.index(page) + 1
        if action == "left":
            self.rotate_requested.emit(page.id, -90)
        elif action == "right":
            self.rotate_requested.emit(page.id, 90)
        elif action == "earlier" and index > 1:
            self.move_requested.emit(page.id, index - 1)
        elif action == "later" and index < len(self._pages):
            self.move_requested.emit(page.id, index + 1)
        elif action == "remove":
            self.remove_requested.emit(page.id)
        elif action == "retake":
            self.retake_requested.emit(page.id)

    def _update_buttons(self) -> None:
        page = self.selected_page()
        index = self._pages.index(page) + 1 if page else 0
        for key, button in self.buttons.items():
            enabled = page is not None
            if key == "earlier":
                enabled = enabled and index > 1
            elif key == "later":
                enabled = enabled and index < len(self._pages)
            button.setEnabled(enabled)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.list and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier  # type: ignore[attr-defined]
            plain = mods == Qt.KeyboardModifier.NoModifier
            ctrl = mods == Qt.KeyboardModifier.ControlModifier
            action = None
            if plain and key == Qt.Key.Key_R:
                action = "right"
            elif plain and key == Qt.Key.Key_L:
                action = "left"
            elif plain and key == Qt.Key.Key_T:
                action = "retake"
            elif plain and key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                action = "remove"
            elif ctrl and key == Qt.Key.Key_Left:
                action = "earlier"
            elif ctrl and key == Qt.Key.Key_Right:
                action = "later"
            if action is not None:
                self.act(action)
                return True
        return super().eventFilter(obj, event)


class PageActions(QObject):
    """Rotate / move / remove a page of one intake; each ends with the intake's fresh view."""

    def __init__(
        self,
        session: ClerkSession,
        sid: str,
        on_changed: Callable[[SubmissionView], None],
        on_error: Callable[[TaskError], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.sid = sid
        self._on_changed = on_changed
        self._on_error = on_error

    def _run(self, work: Callable[[], Any]) -> None:
        s, sid = self.session, self.sid

        def run() -> SubmissionView:
            work()
            return s.queries.get(sid)

        s.runner.run_db(run, self._on_changed, self._on_error, guard=self)

    def rotate(self, page_id: str, degrees: int) -> None:
        s = self.session
        self._run(lambda: s.pages.rotate_page(s.actor, self.sid, page_id, degrees))

    def move(self, page_id: str, position: int) -> None:
        s = self.session
        self._run(lambda: s.pages.move_page(s.actor, self.sid, page_id, position))

    def remove(self, page_id: str) -> None:
        s = self.session
        self._run(lambda: s.pages.remove_page(s.actor, self.sid, page_id))
