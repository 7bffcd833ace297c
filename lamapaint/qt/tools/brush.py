"""Brush and eraser: one stroke = one undo step, stamped with interpolation by the core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QMouseEvent

from lamapaint.qt.tools.base import Tool

if TYPE_CHECKING:
    from lamapaint.qt.canvas.view import CanvasView


class BrushTool(Tool):
    name = "brush"
    shows_brush = True
    erase = False

    def press(self, view: "CanvasView", event: QMouseEvent) -> None:
        doc = view.doc
        if doc is None:
            return
        self.active = True
        doc.begin_stroke(erase=self.erase, radius=view.brush_radius)
        doc.stroke_to(*view.widget_to_image(event.position()))

    def move(self, view: "CanvasView", event: QMouseEvent) -> None:
        if self.active and view.doc is not None:
            view.doc.stroke_to(*view.widget_to_image(event.position()))

    def release(self, view: "CanvasView", event: QMouseEvent) -> None:
        if not self.active or view.doc is None:
            return
        self.active = False
        view.doc.stroke_to(*view.widget_to_image(event.position()))
        view.doc.end_stroke()
        view.strokeFinished.emit()

    def cancel(self, view: "CanvasView") -> None:
        if self.active and view.doc is not None:
            view.doc.abort_stroke()
        self.active = False


class EraserTool(BrushTool):
    name = "eraser"
    erase = True
