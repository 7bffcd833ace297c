"""The small interface every canvas tool implements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QCursor, QMouseEvent, QPainter

if TYPE_CHECKING:
    from lamapaint.qt.canvas.view import CanvasView


class Tool:
    """Receives press/move/release from the view; draws its transient overlay in scene coords."""

    name = "tool"
    shows_brush = False
    takes_right_button = False  # the right button is handed to the tool too (Select: exclude)

    def __init__(self) -> None:
        self.cursor = QCursor(Qt.CursorShape.CrossCursor)
        self.active = False  # a gesture is in progress

    def press(self, view: "CanvasView", event: QMouseEvent) -> None:
        """Start a gesture; default: nothing."""

    def move(self, view: "CanvasView", event: QMouseEvent) -> None:
        """Continue a gesture (also called on hover, with ``active`` False)."""

    def release(self, view: "CanvasView", event: QMouseEvent) -> None:
        """Finish a gesture."""

    def cancel(self, view: "CanvasView") -> None:
        """Abandon a gesture in progress (tool switch, Esc)."""
        self.active = False

    def draw_overlay(self, view: "CanvasView", painter: QPainter) -> None:
        """Paint in-progress feedback (lasso path, rectangle); default: nothing."""
