"""History panel: the undo stack as a list; clicking a row undoes or redoes up to it.

It rebuilds on ``historyChanged`` only: once per recorded step (a whole stroke is one), never per
brush stamp, once when a document opens, and once after a click walks several steps.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from lamapaint.qt.document_adapter import DocumentAdapter

OPEN_ROW_TEXT = "Open"


class HistoryPanel(QWidget):
    """Rows: "Open", then each undoable step, then the redoable ones greyed."""

    def __init__(self, adapter: DocumentAdapter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._updating = False  # setting the current row ourselves, or walking the history
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        self.list.currentRowChanged.connect(self._on_row)
        adapter.historyChanged.connect(self.refresh)  # also emitted when a document is set: one rebuild on open
        self.refresh()

    def refresh(self) -> None:
        if self._updating:
            return  # a walk in progress: refreshed once at its end
        doc = self._adapter.document
        self._updating = True
        try:
            self.list.clear()
            if doc is None:
                return
            done, undone = doc.history.undo_labels, doc.history.redo_labels
            self.list.addItem(OPEN_ROW_TEXT)
            for label in done:
                self.list.addItem(label)
            for label in undone:
                item = QListWidgetItem(label)
                item.setForeground(QColor(Qt.GlobalColor.gray))
                self.list.addItem(item)
            self.list.setCurrentRow(len(done))
        finally:
            self._updating = False

    def _on_row(self, row: int) -> None:
        doc = self._adapter.document
        if self._updating or doc is None or row < 0:
            return
        done = doc.history.undo_count
        # Walk the pointer; the steps' own notifications are ignored, the list is rebuilt once after.
        self._updating = True
        try:
            for _ in range(done - row):
                doc.undo()
            for _ in range(row - done):
                doc.redo()
        finally:
            self._updating = False
        self.refresh()
