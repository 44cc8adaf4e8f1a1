"""The one table model the screens share: a list of frozen rows under a fixed header."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)


class RowsTableModel(QAbstractTableModel):
    """Rows are plain values (dataclasses from app/); subclasses give COLUMNS (marked with
    QT_TRANSLATE_NOOP in the subclass's own name, the translation context) and data()."""

    COLUMNS: tuple[Any, ...] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def _reset(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def _at(self, row: int) -> Any:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def _row_with_id(self, key: str) -> int:
        return next((n for n, r in enumerate(self._rows) if r.id == key), -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate(type(self).__name__, str(self.COLUMNS[section]))
        return None
