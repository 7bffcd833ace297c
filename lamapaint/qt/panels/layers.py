"""Layers panel: one row per result layer (top first), the original locked at the bottom.

Rows toggle visibility with their check box, rename on double-click, reorder by drag, delete with
the button or the Delete key; a right-click menu offers the same plus Merge Down and the run's
details. Every edit goes through a Document command (one undo step).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lamapaint.core.layers import Layer
from lamapaint.inpaint.types import RunInfo, run_details, run_summary
from lamapaint.qt.document_adapter import DocumentAdapter
from lamapaint.qt.actions import HELP_GROUP_PROPERTY

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
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._show_menu)
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
        # An action, not a key handler, so the F1 list finds the key with the others.
        self.delete_action = QAction("Delete Layer", self)
        self.delete_action.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_action.setStatusTip("Delete the selected result layer (while the Layers panel has the focus)")
        self.delete_action.setProperty(HELP_GROUP_PROPERTY, "Layers panel")
        self.delete_action.triggered.connect(self.delete_selected)
        self.addAction(self.delete_action)
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
                item.setToolTip(describe_layer(layer))
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

    def merge_selected_down(self) -> None:
        doc = self._adapter.document
        layer_id = self.selected_layer_id()
        if doc is not None and layer_id and doc.layers.index(layer_id) > 0:
            doc.merge_down(layer_id)

    def toggle_selected(self) -> None:
        doc = self._adapter.document
        layer_id = self.selected_layer_id()
        if doc is not None and layer_id:
            doc.set_layer_visible(layer_id, not doc.layers.find(layer_id).visible)

    def rename_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None and item.data(_ID_ROLE):
            self.list.editItem(item)

    def show_details(self) -> None:
        doc = self._adapter.document
        layer_id = self.selected_layer_id()
        if doc is not None and layer_id:
            layer = doc.layers.find(layer_id)
            QMessageBox.information(self, layer.name, describe_layer(layer))

    def context_menu(self) -> QMenu | None:
        """The right-click menu for the selected layer; None on the original's row."""
        doc = self._adapter.document
        layer_id = self.selected_layer_id()
        if doc is None or not layer_id:
            return None
        layer = doc.layers.find(layer_id)
        menu = QMenu(self)
        menu.addAction("Hide" if layer.visible else "Show", self.toggle_selected)
        menu.addAction("Rename", self.rename_selected)
        menu.addAction("Delete", self.delete_selected)
        merge = menu.addAction("Merge Down", self.merge_selected_down)
        merge.setEnabled(doc.layers.index(layer_id) > 0)
        merge.setToolTip("Join this layer with the one below it into one layer")
        menu.addSeparator()
        menu.addAction("Show details", self.show_details)
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.list.setCurrentItem(item)
        menu = self.context_menu()
        if menu is not None:
            menu.exec(self.list.viewport().mapToGlobal(pos))
            menu.deleteLater()

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


def describe_layer(layer: Layer) -> str:
    """A layer's tooltip: the plain summary, then the technical details of its run (or runs)."""
    if isinstance(layer.info.get("merged_from"), list):
        return _describe_merged(layer.info["merged_from"])
    return _describe_run(layer.run)


def _describe_merged(parts: list) -> str:
    """A merge keeps its parts' file records only (a part may be a merge itself)."""
    lines = [f"Merged from {len(parts)} layer{'s' if len(parts) != 1 else ''}:"]
    for part in parts:
        if not isinstance(part, dict):
            continue
        nested = part.get("merged_from")
        text = _describe_merged(nested) if isinstance(nested, list) else _describe_run(RunInfo.from_dict(part))
        lines.append(f"{part.get('name', 'Layer')}: {text}")
    return "\n\n".join(lines)


def _describe_run(run: RunInfo | None) -> str:
    if run is None:
        return "No details were kept for this layer."
    return f"{run_summary(run)}\n\n{run_details(run)}"
