"""Layers panel: one row per result layer (top first), the original locked at the bottom.

Rows toggle visibility with their check box, rename on double-click, reorder by drag, delete with
the button or the Delete key. Every edit goes through a Document command (one undo step).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lamapaint.qt.document_adapter import DocumentAdapter

log = logging.getLogger(__name__)

ORIGINAL_ROW_TEXT = "Original photo (locked)"
_ID_ROLE = Qt.ItemDataRole.UserRole


class _LayerList(QListWidget):
    """A list whose internal drag-and-drop is reported as a (layer id, new row) move."""

    rowMoved = Signal(str, int)

    def dropEvent(self, event) -> None:  # noqa: ANN001 - QDropEvent
        item = self.currentItem()
        layer_id = item.data(_ID_ROLE) if item is not None else None
        super().dropEvent(event)
        event.setDropAction(Qt.DropAction.IgnoreAction)  # the document decides; we rebuild the rows
        if layer_id:
            self.rowMoved.emit(layer_id, self.row(self.currentItem()) if self.currentItem() else 0)


class LayersPanel(QWidget):
    layerSelected = Signal(object)  # layer id or None

    def __init__(self, adapter: DocumentAdapter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._updating = False
        self.list = _LayerList(self)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.delete_button = QPushButton("Delete layer", self)
        self.delete_button.setToolTip("Delete the selected result layer (Del)")
        self.delete_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

        self.list.itemChanged.connect(self._on_item_changed)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.rowMoved.connect(self._on_row_moved)
        self.delete_button.clicked.connect(self.delete_selected)
        adapter.layersChanged.connect(self.refresh)
        adapter.documentReplaced.connect(self.refresh)
        self.refresh()

    def selected_layer_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(_ID_ROLE) if item is not None else None

    def refresh(self, *_args: object) -> None:
        doc = self._adapter.document
        selected = self.selected_layer_id()
        self._updating = True
        try:
            self.list.clear()
            if doc is None:
                return
            for layer in reversed(list(doc.layers)):
                item = QListWidgetItem(layer.name)
                item.setData(_ID_ROLE, layer.id)
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsEditable
                    | Qt.ItemFlag.ItemIsUserCheckable
                    | Qt.ItemFlag.ItemIsDragEnabled
                )
                item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
                item.setToolTip(_describe(layer.info))
                self.list.addItem(item)
                if layer.id == selected:
                    self.list.setCurrentItem(item)
            original = QListWidgetItem(ORIGINAL_ROW_TEXT)
            original.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(original)
        finally:
            self._updating = False
        self.delete_button.setEnabled(self.selected_layer_id() is not None)

    def delete_selected(self) -> None:
        doc = self._adapter.document
        layer_id = self.selected_layer_id()
        if doc is not None and layer_id:
            doc.delete_layer(layer_id)

    def keyPressEvent(self, event) -> None:  # noqa: ANN001 - QKeyEvent
        if event.key() == Qt.Key.Key_Delete:
            self.delete_selected()
        else:
            super().keyPressEvent(event)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        doc = self._adapter.document
        layer_id = item.data(_ID_ROLE)
        if self._updating or doc is None or not layer_id:
            return
        try:
            layer = doc.layers.find(layer_id)
        except KeyError:
            return
        visible = item.checkState() == Qt.CheckState.Checked
        if visible != layer.visible:
            doc.set_layer_visible(layer_id, visible)
        elif item.text().strip() and item.text() != layer.name:
            doc.rename_layer(layer_id, item.text().strip())

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if self._updating:
            return
        layer_id = current.data(_ID_ROLE) if current is not None else None
        self.delete_button.setEnabled(bool(layer_id))
        self.layerSelected.emit(layer_id or None)

    def _on_row_moved(self, layer_id: str, row: int) -> None:
        doc = self._adapter.document
        if doc is None:
            return
        count = len(doc.layers)
        # Rows run top layer first; the stack runs bottom first; the original row is not a layer.
        new_index = max(0, min(count - 1, count - 1 - row))
        if doc.layers.index(layer_id) != new_index:
            doc.move_layer(layer_id, new_index)
        else:
            self.refresh()


def _describe(info: dict) -> str:
    parts = [str(info[k]) for k in ("backend", "device", "precision") if info.get(k)]
    if "seconds" in info:
        parts.append(f"{float(info['seconds']):.2f} s")
    return " · ".join(parts)
