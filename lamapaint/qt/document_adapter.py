"""Turns the core Document's plain-Python change notifications into Qt signals.

The document knows nothing of Qt; the canvas, the panels and the window title listen to this
adapter instead. One adapter lives for the whole window; ``set_document`` swaps what it watches.
Each document change kind is forwarded once, as its own signal: a brush stamp is one
``maskChanged`` (for the canvas), a finished stroke one ``historyChanged`` (for the undo actions
and the history panel); the clean state is the core history's clean marker, never tracked here.
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
    projectPathChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc: Document | None = None

    @property
    def document(self) -> "Document | None":
        return self._doc

    def set_document(self, doc: "Document | None") -> None:
        if self._doc is not None:
            self._doc.remove_listener(self._on_change)
        self._doc = doc
        if doc is not None:
            doc.add_listener(self._on_change)
        self.documentReplaced.emit()
        self.historyChanged.emit()
        self.cleanChanged.emit(self.is_clean)

    # -- undo/redo state for actions ------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self._doc is not None and self._doc.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._doc is not None and self._doc.history.can_redo

    @property
    def undo_label(self) -> str | None:
        return self._doc.history.undo_label if self._doc is not None else None

    @property
    def redo_label(self) -> str | None:
        return self._doc.history.redo_label if self._doc is not None else None

    @property
    def is_clean(self) -> bool:
        return self._doc is None or self._doc.history.is_clean

    def _on_change(self, change: Any) -> None:
        kind = change.kind
        if kind == "mask":
            self.maskChanged.emit(change.rect)
        elif kind == "layers":
            self.layersChanged.emit(change.rect)
        elif kind == "history":
            self.historyChanged.emit()
        elif kind == "clean":
            self.cleanChanged.emit(self.is_clean)
        elif kind == "path":
            self.projectPathChanged.emit()
        else:
            log.debug("Unknown document change kind %r", kind)
