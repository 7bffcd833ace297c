"""Turns the core Document's plain-Python change notifications into Qt signals.

The document knows nothing of Qt; the canvas, the panels and the window title listen to this
adapter instead. One adapter lives for the whole window; ``set_document`` swaps what it watches.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from lamapaint.core.document import Document

log = logging.getLogger(__name__)


class DocumentAdapter(QObject):
    """Re-emits document changes; ``rect`` arguments are ``Rect`` or ``None`` (= everything)."""

    documentReplaced = Signal()
    maskChanged = Signal(object)
    layersChanged = Signal(object)
    historyChanged = Signal()
    cleanChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc: Document | None = None
        self._was_clean = True

    @property
    def document(self) -> "Document | None":
        return self._doc

    def set_document(self, doc: "Document | None") -> None:
        if self._doc is not None:
            self._doc.remove_listener(self._on_change)
        self._doc = doc
        if doc is not None:
            doc.add_listener(self._on_change)
        self._was_clean = doc.is_clean if doc is not None else True
        self.documentReplaced.emit()
        self.historyChanged.emit()
        self.cleanChanged.emit(self._was_clean)

    # -- undo/redo state for actions ------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self._doc is not None and self._doc.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._doc is not None and self._doc.history.can_redo

    @property
    def undo_label(self) -> str | None:
        return self._doc.history.undo_label if self.can_undo and self._doc is not None else None

    @property
    def redo_label(self) -> str | None:
        return self._doc.history.redo_label if self.can_redo and self._doc is not None else None

    @property
    def is_clean(self) -> bool:
        return self._doc is None or self._doc.is_clean

    def _on_change(self, change: Any) -> None:
        kind = change.kind
        if kind == "mask":
            self.maskChanged.emit(change.rect)
        elif kind == "layers":
            self.layersChanged.emit(change.rect)
        elif kind not in ("history", "clean"):
            log.debug("Unknown document change kind %r", kind)
        # Any change may move the undo pointer or the clean marker: refresh both cheaply.
        self.historyChanged.emit()
        clean = self.is_clean
        if clean != self._was_clean:
            self._was_clean = clean
            self.cleanChanged.emit(clean)
