"""The hand: drag to pan (also while space or the middle button is held)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QCursor, QMouseEvent

from lamapaint.qt.tools.base import Tool

if TYPE_CHECKING:
    from lamapaint.qt.canvas.view import CanvasView


class HandTool(Tool):
    name = "hand"

    def __init__(self) -> None:
        super().__init__()
        self.cursor = QCursor(Qt.CursorShape.OpenHandCursor)
        self._last: QPointF | None = None

    def press(self, view: "CanvasView", event: QMouseEvent) -> None:
        self.active = True
        self._last = event.position()
        view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, view: "CanvasView", event: QMouseEvent) -> None:
        if not self.active or self._last is None:
            return
        delta = event.position() - self._last
        self._last = event.position()
        view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() - round(delta.x()))
        view.verticalScrollBar().setValue(view.verticalScrollBar().value() - round(delta.y()))

    def release(self, view: "CanvasView", event: QMouseEvent) -> None:
        self.active = False
        self._last = None
        view.viewport().setCursor(view.tool.cursor if view.tool is not None else self.cursor)
