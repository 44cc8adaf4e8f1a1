"""Checks on a laid-out screen, shared by the accessibility and large-font tests: which inputs
have no accessible name, and which texts do not fit the space they were given."""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QSlider,
    QStyleOptionViewItem,
    QTableView,
    QTextEdit,
    QWidget,
)

# Everything a clerk operates: each must tell a screen reader what it is.
INTERACTIVE = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractItemView,
    QAbstractSpinBox,
    QTextEdit,
    QPlainTextEdit,
    QSlider,
)


def _shown(widget: QWidget, root: QWidget) -> bool:
    return widget is root or widget.isVisibleTo(root)


def where(widget: QWidget) -> str:
    parts = []
    w: QWidget | None = widget
    while w is not None and len(parts) < 4:
        parts.append(w.objectName() or type(w).__name__)
        w = w.parentWidget()
    return "/".join(reversed(parts))


def accessible_name(widget: QWidget) -> str:
    """What a screen reader announces: the accessible name, or what Qt falls back to (a
    button's text, a form label's buddy)."""
    iface = QAccessible.queryAccessibleInterface(widget)
    return (iface.text(QAccessible.Text.Name) if iface is not None else "").strip()


def unnamed(root: QWidget) -> list[str]:
    found = []
    for w in [root, *root.findChildren(QWidget)]:
        if not isinstance(w, INTERACTIVE) or not _shown(w, root):
            continue
        if isinstance(w, QHeaderView) and accessible_name(w.parentWidget()):
            continue  # a named table's header: its cells are read as the table's column titles
        if w.objectName().startswith("qt_"):
            continue  # Qt's private parts of a composite widget (a spin box's line edit…)
        if not accessible_name(w):
            found.append(f"{type(w).__name__} {where(w)}")
    return found


def _item_overflow(view: QAbstractItemView, index: QModelIndex, width: int) -> bool:
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.font = view.font()
    needed = view.itemDelegateForIndex(index).sizeHint(option, index).width()
    return needed > width + 1


def clipped(root: QWidget) -> Iterator[str]:
    """Texts cut off in ROOT as laid out now: labels and buttons narrower or lower than their
    text, list items and table cells elided, header titles cut."""
    for w in [root, *root.findChildren(QWidget)]:
        if not _shown(w, root) or w.width() <= 0:
            continue
        seen = w.visibleRegion().boundingRect()
        if (
            isinstance(w, (QLabel, QAbstractButton))
            and w.text()
            and not seen.isEmpty()
            and seen.width() < w.width() - 1
        ):
            # a scroll area or splitter shows only part of its width: the rest is cut
            yield f"{where(w)}: {w.text()[:30]!r} shown {seen.width()} of {w.width()}px"
            continue
        if isinstance(w, QLabel) and w.text() and w.pixmap().isNull():
            if w.wordWrap():
                if w.heightForWidth(w.width()) > w.height() + 1:
                    need = w.heightForWidth(w.width())
                    yield f"label {where(w)}: {w.text()[:30]!r} needs {need}px, has {w.height()}"
            elif w.sizeHint().width() > w.width() + 1 or w.sizeHint().height() > w.height() + 1:
                yield f"label {where(w)}: {w.text()[:30]!r} needs {w.sizeHint()}, has {w.size()}"
        elif isinstance(w, QAbstractButton) and w.text() and not isinstance(w.parent(), QLineEdit):
            # (a line edit's clear button shows an icon: its text is for screen readers)
            hint = w.sizeHint()
            if hint.width() > w.width() + 1 or hint.height() > w.height() + 1:
                yield f"button {where(w)}: {w.text()[:30]!r} needs {hint}, has {w.size()}"
        elif isinstance(w, QComboBox) and w.currentText():
            if w.sizeHint().width() > w.width() + 1:
                text = w.currentText()[:30]
                yield f"combo {where(w)}: {text!r} needs {w.sizeHint()}, has {w.size()}"
        elif isinstance(w, QTableView) and w.model() is not None:
            yield from _table_clipped(w)
        elif isinstance(w, QListView) and w.model() is not None and not w.wordWrap():
            model = w.model()
            for row in range(model.rowCount(w.rootIndex())):
                index = model.index(row, w.modelColumn(), w.rootIndex())
                if _item_overflow(w, index, w.viewport().width()):
                    yield f"list {where(w)}: item {str(index.data())[:30]!r} elided"


def _table_clipped(table: QTableView) -> Iterator[str]:
    model = table.model()
    header = table.horizontalHeader()
    for col in range(model.columnCount()):
        if table.isColumnHidden(col):
            continue
        width = table.columnWidth(col)
        title = model.headerData(col, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        if header.isVisible() and title and header.sectionSizeFromContents(col).width() > width + 1:
            yield f"table {where(table)}: header {str(title)!r} cut"
        for row in range(model.rowCount()):
            index = model.index(row, col)
            text = index.data(Qt.ItemDataRole.DisplayRole)
            if not text:
                continue
            if table.wordWrap() and table.rowHeight(row) >= table.sizeHintForRow(row):
                continue  # wrapped, and the row is as high as the wrapped text needs
            if _item_overflow(table, index, width):
                yield f"table {where(table)}: cell {str(text)[:30]!r} elided"
