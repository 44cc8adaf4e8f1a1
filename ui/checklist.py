"""The merged material list ("一套材料"): one row per material, its state and why it is needed.

Keys on the list: Space cycles the state, 1 已收, 2 免提交, 3 容缺, 0 缺. 免提交 is offered only
where the material has an electronic licence / shared-data source, 容缺 only where every item
that needs it allows it; the service has the last word and its refusal is shown as it says it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStyle,
    QTableView,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.style import current, px
from ui.tablemodel import RowsTableModel

if TYPE_CHECKING:
    from app.checklist import Checklist, MaterialLine
    from app.views import PageView

_STATE_LABELS = {
    "collected": QT_TRANSLATE_NOOP("ChecklistModel", "已收"),
    "exempt": QT_TRANSLATE_NOOP("ChecklistModel", "免提交"),
    "tolerated": QT_TRANSLATE_NOOP("ChecklistModel", "容缺"),
    "missing": QT_TRANSLATE_NOOP("ChecklistModel", "缺"),
}
_FORM_LABELS = {
    "original": QT_TRANSLATE_NOOP("ChecklistModel", "原件"),
    "copy": QT_TRANSLATE_NOOP("ChecklistModel", "复印件"),
    "original_and_copy": QT_TRANSLATE_NOOP("ChecklistModel", "原件及复印件"),
    "electronic": QT_TRANSLATE_NOOP("ChecklistModel", "电子材料"),
}
_STATE_COLOURS = {
    "collected": ("#e6f4ea", "#1e5e2e"),
    "exempt": ("#e8f0fe", "#1a4a8a"),
    "tolerated": ("#fff4e0", "#7a4b00"),
    "missing": ("#fdecea", "#8a1c12"),
}
# Rows of the list always in view (a 1366×768 counter screen shows them with the verdict folded).
MIN_VISIBLE_ROWS = 12
ITEMS_COLUMN = 5  # 所需事项
# Keys → the mark they set (None: back to 缺).
KEY_MARKS: dict[int, str | None] = {
    Qt.Key.Key_1: "collected",
    Qt.Key.Key_2: "exempt",
    Qt.Key.Key_3: "tolerated",
    Qt.Key.Key_0: None,
}


def state_label(state: str) -> str:
    return QCoreApplication.translate("ChecklistModel", str(_STATE_LABELS[state]))


def form_label(form: str) -> str:
    return QCoreApplication.translate("ChecklistModel", str(_FORM_LABELS.get(form, form)))


def allowed_marks(line: MaterialLine) -> list[str | None]:
    """The states the clerk may set on LINE, in Space-cycle order."""
    marks: list[str | None] = [None, "collected"]
    if line.exemptable:
        marks.append("exempt")
    if line.tolerable:
        marks.append("tolerated")
    return marks


def next_mark(line: MaterialLine) -> str | None:
    marks = allowed_marks(line)
    current = None if line.state == "missing" else line.state
    index = marks.index(current) if current in marks else 0
    return marks[(index + 1) % len(marks)]


class ChecklistModel(RowsTableModel):
    COLUMNS = (
        QT_TRANSLATE_NOOP("ChecklistModel", "序号"),
        QT_TRANSLATE_NOOP("ChecklistModel", "材料名称"),
        QT_TRANSLATE_NOOP("ChecklistModel", "状态"),
        QT_TRANSLATE_NOOP("ChecklistModel", "形式"),
        QT_TRANSLATE_NOOP("ChecklistModel", "份数"),
        QT_TRANSLATE_NOOP("ChecklistModel", "所需事项"),
        QT_TRANSLATE_NOOP("ChecklistModel", "页面"),
    )
    STATE_COLUMN = 2

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pages: Mapping[str, int] = {}
        self._origins: Mapping[str, str] = {}  # 一人一档: line id -> "复用自 <number>（<date>）"

    def set_origins(self, origins: Mapping[str, str]) -> None:
        self._origins = dict(origins)
        if self._rows:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self._rows) - 1, 1))

    def origin(self, material_id: str) -> str:
        return self._origins.get(material_id, "")

    def set_lines(
        self, lines: tuple[MaterialLine, ...], pages: Mapping[str, int] | None = None
    ) -> None:
        same_rows = [ln.id for ln in lines] == [ln.id for ln in self._rows]
        self._pages = dict(pages or {})
        if same_rows and lines:
            self._rows = list(lines)
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(lines) - 1, len(self.COLUMNS) - 1)
            )
        else:
            self._reset(lines)

    def line(self, row: int) -> MaterialLine | None:
        return self._at(row)  # type: ignore[no-any-return]

    def row_of(self, material_id: str) -> int:
        return self._row_with_id(material_id)

    @property
    def lines(self) -> tuple[MaterialLine, ...]:
        return tuple(self._rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        line = self.line(index.row())
        if line is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return index.row() + 1
            if col == 1:
                origin = self._origins.get(line.id) if line.state == "collected" else None
                return f"{line.name}（{origin}）" if origin else line.name
            if col == 2:
                return state_label(line.state)
            if col == 3:
                return form_label(line.form)
            if col == 4:
                return line.copies
            if col == 5:
                return "、".join(r.item_name for r in line.required_by)
            if col == 6:
                n = self._pages.get(line.id, 0)
                return (
                    QCoreApplication.translate("ChecklistModel", "{n}页").format(n=n) if n else "—"
                )
        if role == Qt.ItemDataRole.BackgroundRole and col == self.STATE_COLUMN:
            return QBrush(QColor(_STATE_COLOURS[line.state][0]))
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATE_COLUMN:
            return QBrush(QColor(_STATE_COLOURS[line.state][1]))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 2, 4, 6):
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == 1:
            return line.material.acceptance_standard or None
        if role == Qt.ItemDataRole.ToolTipRole and col == 5:
            return "\n".join(r.item_name for r in line.required_by)
        if role == Qt.ItemDataRole.UserRole:
            return line.id
        return None


class VerdictWidget(QFrame):
    """Always says what is still missing, and what F12 will do: one summary line, the names
    (missing, tolerated, unanswered questions) folded under 详情 so a long list never squeezes
    the checklist below it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdictBanner")
        self.summary = QLabel(self)
        self.summary.setObjectName("verdictSummary")
        self.summary.setWordWrap(True)
        self.details = QLabel(self)
        self.details.setObjectName("verdictDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("verdictToggle")
        self.toggle.setAutoRaise(True)
        self.toggle.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.toggle.clicked.connect(lambda: self.set_expanded(not self.expanded))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 6, 6)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.details)
        self.expanded = False  # the clerk's choice, kept from one intake to the next
        self.verdict: str | None = None
        self.set_checklist(None)

    def text(self) -> str:
        """Everything the banner says, folded or not."""
        detail = self.details.text()
        return f"{self.summary.text()}\n{detail}" if detail else self.summary.text()

    def set_expanded(self, expanded: bool) -> None:
        self.expanded = expanded
        self._update_fold()

    def _update_fold(self) -> None:
        has_details = bool(self.details.text())
        self.toggle.setVisible(has_details)
        self.details.setVisible(has_details and self.expanded)
        self.toggle.setText(self.tr("收起 ▴") if self.expanded else self.tr("详情 ▾"))
        self.toggle.setToolTip(
            self.tr("收起所缺材料的名单") if self.expanded else self.tr("展开所缺材料的名单")
        )

    def _paint(self, back: str, fore: str) -> None:
        self.setStyleSheet(
            f"#verdictBanner {{ background: {back}; border-radius: 4px; }}"
            f" #verdictBanner QLabel, #verdictBanner QToolButton"
            f" {{ color: {fore}; background: transparent; }}"
        )

    def set_checklist(
        self, checklist: Checklist | None, question_texts: Mapping[str, str] | None = None
    ) -> None:
        details: list[str] = []
        if checklist is None:
            self.verdict = None
            self._paint("#f1f3f6", "#4b5563")
            self.summary.setText(self.tr("请选择一件事和申请的事项，材料清单将显示在这里。"))
            self.details.clear()
            self._update_fold()
            return
        self.verdict = checklist.verdict
        names = {m.id: m.name for m in checklist.materials}
        missing = "、".join(names[m] for m in checklist.missing)
        tolerated = "、".join(names[m] for m in checklist.tolerated)
        if checklist.unanswered:
            pending = "、".join((question_texts or {}).get(q, q) for q in checklist.unanswered)
            text = self.tr("请先回答 {n} 个情形问题。").format(n=len(checklist.unanswered))
            if missing:
                text = self.tr("{text}目前还缺 {count} 项。").format(
                    text=text, count=len(checklist.missing)
                )
            details.append(self.tr("待回答：{questions}").format(questions=pending))
            if missing:
                details.append(self.tr("所缺：{missing}").format(missing=missing))
            self._paint("#fff4e0", "#7a4b00")
        elif checklist.verdict == "incomplete":
            text = self.tr(
                "材料不齐：还缺 {count} 项。按 F12 出具一次告知通知书（一次性告知全部所缺材料）。"
            ).format(count=len(checklist.missing))
            details.append(self.tr("所缺：{missing}").format(missing=missing))
            self._paint("#fdecea", "#8a1c12")
        elif checklist.verdict == "complete_with_tolerance":
            text = self.tr(
                "容缺受理：{count} 项容后补交，须签署告知承诺书。按 F12 打印告知承诺书和收件回执。"
            ).format(count=len(checklist.tolerated))
            details.append(self.tr("容后补交：{tolerated}").format(tolerated=tolerated))
            self._paint("#fff4e0", "#7a4b00")
        else:
            text = self.tr("材料齐全，无缺项。按 F12 收件并打印收件回执。")
            self._paint("#e6f4ea", "#1e5e2e")
        r = checklist.reduction
        if r.separate:
            details.append(
                self.tr(
                    "一套材料：分项共需 {separate} 份，合并免提交后 {merged} 份（精简 {percent}%）。"
                ).format(separate=r.separate, merged=r.merged, percent=r.percent)
            )
        self.summary.setText(text)
        self.details.setText("\n".join(details))
        self._update_fold()


class PageSlotWidget(QFrame):
    """Where a material's captured pages show as thumbnails.

    The capture work (document camera, scanner folder) fills it: `set_pages` with the stored
    pages, `set_thumbnail` once a page image is decoded off the GUI thread (`pages_shown` says
    which pages want one); the capture button (F8) asks for a capture of the current material
    through `capture_requested`. The strip's page actions (ui.capture.pages: R/L rotate,
    Ctrl+←/→ move, Delete, T retake) come out as the `page_*_requested` signals.
    """

    capture_requested = Signal(str)  # material id
    pages_shown = Signal(object)  # tuple[PageView, ...] now on show (thumbnails wanted)
    page_rotate_requested = Signal(str, int)  # page id, degrees
    page_move_requested = Signal(str, int)  # page id, 1-based position
    page_remove_requested = Signal(str)  # page id
    page_retake_requested = Signal(str, str)  # material id, page id
    THUMB = QSize(72, 96)

    def __init__(self, parent: QWidget | None = None) -> None:
        from ui.capture.pages import PageStripWidget

        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._material_id: str | None = None
        self.title = QLabel(self.tr("材料页面"), self)
        self.title.setObjectName("sectionHint")
        self.strip = PageStripWidget(self.THUMB, self)
        self.strip.setMinimumHeight(self.THUMB.height() + 72)  # a row of thumbnails + buttons
        self.empty = QLabel(
            self.tr("尚未采集页面。纸质材料收件后须在2小时内完成数字化并推送。"), self
        )
        self.empty.setObjectName("fieldHint")
        self.empty.setWordWrap(True)
        # Two lines kept free: the splitter above does not ask a wrapped label its height.
        self.empty.setMinimumHeight(self.empty.fontMetrics().lineSpacing() * 2 + 4)
        self.capture_button = QPushButton(self.tr("采集页面 F8"), self)
        self.capture_button.setEnabled(False)
        self.capture_button.setToolTip(self.tr("高拍仪拍摄、导入扫描文件（F8 或 Alt+C）"))
        self.capture_button.clicked.connect(self._on_capture_button_clicked)
        self.strip.rotate_requested.connect(self.page_rotate_requested)
        self.strip.move_requested.connect(self.page_move_requested)
        self.strip.remove_requested.connect(self.page_remove_requested)
        self.strip.retake_requested.connect(
            lambda page_id: self.page_retake_requested.emit(self._material_id or "", page_id)
        )
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.capture_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.strip)

    @property
    def material_id(self) -> str | None:
        return self._material_id

    def set_capture_available(self, available: bool) -> None:
        self.capture_button.setEnabled(available and self._material_id is not None)

    def set_pages(self, material_id: str | None, pages: tuple[PageView, ...]) -> None:
        self._material_id = material_id
        self.strip.set_pages(pages)
        self.strip.setVisible(bool(pages))
        self.empty.setVisible(not pages)
        self.capture_button.setEnabled(material_id is not None)
        if pages:
            self.pages_shown.emit(tuple(pages))

    def set_thumbnail(self, page_id: str, image: Any) -> None:
        self.strip.set_thumbnail(page_id, image)

    def _on_capture_button_clicked(self) -> None:
        if self._material_id:
            self.capture_requested.emit(self._material_id)


class ItemsColumnFitter(QObject):
    """所需事项 only where it has room: without it a material list needs no sideways
    scrolling, and the detail names the items of the selected material in full. Follows the
    table's size and its model's rows."""

    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self.table = table
        table.installEventFilter(self)
        model = table.model()
        model.modelReset.connect(self.fit)
        model.dataChanged.connect(self.fit)
        model.rowsInserted.connect(self.fit)

    def fit(self) -> None:
        table = self.table
        header = table.horizontalHeader()
        for c in range(table.model().columnCount()):
            if c != ITEMS_COLUMN:
                table.resizeColumnToContents(c)  # rows changed: the widths follow at once
        others = sum(
            max(header.sectionSizeHint(c), table.sizeHintForColumn(c))
            for c in range(table.model().columnCount())
            if c != ITEMS_COLUMN
        )
        room = table.viewport().width() - others
        table.setColumnHidden(ITEMS_COLUMN, room < px(120))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.table and event.type() == QEvent.Type.Resize:
            self.fit()
        return False


class ChecklistWidget(QWidget):
    marks_chosen = Signal(dict)  # material id → mark (None: 缺)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.checklist: Checklist | None = None
        self._pages: tuple[PageView, ...] = ()
        self.verdict = VerdictWidget(self)
        self.model = ChecklistModel(self)
        self.table = QTableView(self)
        self.table.setAccessibleName(self.tr("材料清单"))
        self.table.setObjectName("checklistTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        # Material names are never cut: their column fits its contents; 所需事项 takes what
        # is left (elided at large font sizes: the detail below lists the items in full).
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ITEMS_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(px(40))
        self.fitter = ItemsColumnFitter(self.table)
        # Compact rows and a floor of MIN_VISIBLE_ROWS: the list is what the clerk works down.
        self.table.ensurePolished()
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        scrollbar = self.table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        # Fewer rows at a large font: 12 rows of 150 % text leave a 1366×768 screen too short
        # (the list still grows with the window; this is only its floor).
        floor = {125: 8, 150: 5}.get(current().font_scale, MIN_VISIBLE_ROWS)
        self.table.setMinimumHeight(  # rows + header + a horizontal scroll bar + the frame
            header.sizeHint().height()
            + floor * rows.defaultSectionSize()
            + scrollbar
            + 2 * self.table.frameWidth()
        )
        self.table.installEventFilter(self)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)

        self.buttons: dict[str | None, QPushButton] = {}
        bar = QHBoxLayout()
        for mark, text in (
            ("collected", self.tr("已收 1")),
            ("exempt", self.tr("免提交 2")),
            ("tolerated", self.tr("容缺 3")),
            (None, self.tr("缺 0")),
        ):
            button = QPushButton(text, self)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _c=False, m=mark: self.mark_current(m))
            bar.addWidget(button)
            self.buttons[mark] = button
        self.all_button = QPushButton(self.tr("其余全部已收(&A)"), self)
        self.all_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.all_button.setToolTip(
            self.tr("把申请人带来的“缺”材料标为已收；窗口表格须申请人现场填写签字后逐项标记")
        )
        self.all_button.clicked.connect(self.mark_all_missing_collected)
        bar.addStretch(1)
        bar.addWidget(self.all_button)

        self.detail = QTextBrowser(self)
        self.detail.setAccessibleName(self.tr("所选材料的受理标准和所需原因"))
        self.detail.setObjectName("materialDetail")
        self.detail.setOpenLinks(False)
        self.pages = PageSlotWidget(self)
        # Side by side: stacked, the two left a 1366×768 screen too little height for the list.
        detail_box = QSplitter(Qt.Orientation.Horizontal, self)
        detail_box.addWidget(self.detail)
        detail_box.addWidget(self.pages)
        detail_box.setChildrenCollapsible(False)
        detail_box.setStretchFactor(0, 1)
        detail_box.setStretchFactor(1, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        table_box = QWidget(split)
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.table, 1)
        table_layout.addLayout(bar)
        split.addWidget(table_box)
        split.addWidget(detail_box)
        split.setCollapsible(0, False)
        split.setStretchFactor(0, 1)  # beyond the list's floor, height is shared evenly
        split.setStretchFactor(1, 1)
        self.detail.setMinimumHeight(self.detail.fontMetrics().height() * 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.verdict)
        layout.addWidget(split, 1)
        self._update_buttons()
        self._show_detail(None)

    # -- data

    def set_checklist(
        self,
        checklist: Checklist | None,
        pages: tuple[PageView, ...] = (),
        question_texts: Mapping[str, str] | None = None,
    ) -> None:
        current = self.current_line()
        keep = current.id if current else None
        self.checklist = checklist
        self._pages = pages
        counts: dict[str, int] = {}
        for p in pages:
            counts[p.material_id] = counts.get(p.material_id, 0) + 1
        self.model.set_lines(checklist.materials if checklist else (), counts)
        self.verdict.set_checklist(checklist, question_texts)
        row = self.model.row_of(keep) if keep else -1
        if row < 0 and self.model.rowCount():
            row = 0
        if row >= 0:
            self.table.setCurrentIndex(self.model.index(row, 1))
        self._show_detail(self.current_line())
        self._update_buttons()

    def set_origins(self, origins: Mapping[str, str]) -> None:
        """Materials reused from an earlier intake (一人一档), shown with their origin."""
        self.model.set_origins(origins)

    def set_pages(self, pages: tuple[PageView, ...]) -> None:
        """New captured pages (counts in the list, thumbnails in the slot), nothing else."""
        self._pages = pages
        counts: dict[str, int] = {}
        for p in pages:
            counts[p.material_id] = counts.get(p.material_id, 0) + 1
        self.model.set_lines(self.model.lines, counts)
        line = self.current_line()
        self.pages.set_pages(
            line.id if line else None,
            tuple(p for p in pages if line is not None and p.material_id == line.id),
        )

    def current_line(self) -> MaterialLine | None:
        index = self.table.currentIndex()
        return self.model.line(index.row()) if index.isValid() else None

    def select_material(self, material_id: str) -> None:
        row = self.model.row_of(material_id)
        if row >= 0:
            self.table.setCurrentIndex(self.model.index(row, 1))

    # -- marking

    def mark_current(self, mark: str | None) -> None:
        line = self.current_line()
        if line is None or line.produced_by is not None:  # issued within the bundle: no mark
            return
        current = None if line.state == "missing" else line.state
        if mark != current:
            self.marks_chosen.emit({line.id: mark})
        if mark in allowed_marks(line):  # a refused mark keeps the row for the clerk to see why
            row = self.model.row_of(line.id) + 1
            if 0 < row < self.model.rowCount():  # on to the next material
                self.table.setCurrentIndex(self.model.index(row, 1))

    def cycle_current(self) -> None:
        line = self.current_line()
        if line is not None and line.produced_by is None:
            self.marks_chosen.emit({line.id: next_mark(line)})

    def mark_all_missing_collected(self) -> None:
        if self.checklist is None:
            return
        missing = {m.id: "collected" for m in self.checklist.materials if m.bulk_collectable}
        if missing:
            self.marks_chosen.emit(missing)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.table and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier  # type: ignore[attr-defined]
            if mods == Qt.KeyboardModifier.NoModifier:
                if key == Qt.Key.Key_Space:
                    self.cycle_current()
                    return True
                if key in KEY_MARKS:
                    self.mark_current(KEY_MARKS[key])
                    return True
        return super().eventFilter(obj, event)

    def _on_table_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_detail(self.model.line(current.row()))
        self._update_buttons()

    def _update_buttons(self) -> None:
        line = self.current_line()
        markable = line is not None and line.produced_by is None
        self.buttons["collected"].setEnabled(markable)
        self.buttons[None].setEnabled(markable)
        self.buttons["exempt"].setEnabled(bool(markable and line and line.exemptable))
        self.buttons["tolerated"].setEnabled(bool(markable and line and line.tolerable))
        self.buttons["exempt"].setToolTip(
            self.tr("可通过电子证照/数据共享获取，无需提交纸质材料")
            if line and line.exemptable
            else self.tr("该材料没有电子证照或共享数据来源，不能免提交")
        )
        self.buttons["tolerated"].setToolTip(
            self.tr("允许容缺受理：申请人签署告知承诺书后限期补交")
            if line and line.tolerable
            else self.tr("该材料不允许容缺，必须当场提交")
        )
        self.all_button.setEnabled(
            bool(self.checklist and any(m.bulk_collectable for m in self.checklist.materials))
        )

    # -- detail

    def _show_detail(self, line: MaterialLine | None) -> None:
        if line is None:
            self.detail.setHtml(
                "<p style='color:#6b7280'>{}</p>".format(
                    html.escape(self.tr("选中一项材料，查看受理标准和所需原因。"))
                )
            )
            self.pages.set_pages(None, ())
            return
        m = line.material
        e = html.escape
        parts = [f"<h3 style='margin:2px 0'>{e(line.name)}</h3>"]
        facts = self.tr("{form} · {copies}份 · 当前：{state}").format(
            form=form_label(line.form), copies=line.copies, state=state_label(line.state)
        )
        parts.append(f"<p>{e(facts)}</p>")
        if m.acceptance_standard:
            parts.append(
                self.tr("<p><b>受理标准</b>：{text}</p>").format(text=e(m.acceptance_standard))
            )
        parts.append(self.tr("<p><b>为何需要</b>：</p>"))
        parts.append("<ul style='margin-top:0'>")
        for r in line.required_by:
            why = r.reason or self.tr("该事项的必需材料")
            if r.note:
                item = self.tr("<li>{item}：{why}（{note}）</li>").format(
                    item=e(r.item_name), why=e(why), note=e(r.note)
                )
            else:
                item = self.tr("<li>{item}：{why}</li>").format(item=e(r.item_name), why=e(why))
            parts.append(item)
        parts.append("</ul>")
        obtain = m.how_to_obtain or m.issuer
        if obtain:
            parts.append(self.tr("<p><b>如何取得</b>：{text}</p>").format(text=e(obtain)))
        if line.produced_by is not None:
            parts.append(
                self.tr(
                    "<p><b>免提交（本件产生）</b>：由本件事中的“{item}”办理产生，无需申请人提交</p>"
                ).format(item=e(line.produced_by.name))
            )
        elif line.exemptable:
            parts.append(
                self.tr("<p><b>可免提交</b>：{text}</p>").format(text=e(m.exempt_via or ""))
            )
        if line.tolerable:
            days = m.tolerance_days
            text = (
                self.tr("允许容缺，{days}个工作日内补交").format(days=days)
                if days
                else self.tr("允许容缺受理")
            )
            parts.append(self.tr("<p><b>容缺</b>：{text}</p>").format(text=e(text)))
        if m.notes:
            parts.append(f"<p style='color:#6b7280'>{e(m.notes)}</p>")
        self.detail.setHtml("".join(parts))
        self.pages.set_pages(line.id, tuple(p for p in self._pages if p.material_id == line.id))
