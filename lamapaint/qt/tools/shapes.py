"""Lasso and rectangle selections: fill (or, with Alt held, erase) a shape in the mask."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPen, QPolygonF

from lamapaint.core.geometry import Rect
from lamapaint.qt.tools.base import Tool

if TYPE_CHECKING:
    from lamapaint.qt.canvas.view import CanvasView

ERASE_MODIFIER = Qt.KeyboardModifier.AltModifier


def _overlay_pen() -> QPen:
    pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    return pen


class LassoTool(Tool):
    """Freehand polygon; the shape closes itself on release."""

    name = "lasso"

    def __init__(self) -> None:
        super().__init__()
        self.points: list[tuple[float, float]] = []

    def press(self, view: "CanvasView", event: QMouseEvent) -> None:
        self.active = True
        self.points = [view.widget_to_image(event.position())]

    def move(self, view: "CanvasView", event: QMouseEvent) -> None:
        if not self.active:
            return
        p = view.widget_to_image(event.position())
        last = self.points[-1]
        # Skip points closer than one screen pixel: a long lasso stays a few hundred vertices.
        if math.hypot(p[0] - last[0], p[1] - last[1]) * view.zoom >= 1.0:
            self.points.append(p)
            view.overlay_changed(_bounds(self.points))

    def release(self, view: "CanvasView", event: QMouseEvent) -> None:
        if not self.active or view.doc is None:
            return
        self.active = False
        points, self.points = self.points, []
        view.overlay_changed()
        if len(points) >= 3:
            view.doc.fill_polygon(points, erase=bool(event.modifiers() & ERASE_MODIFIER))
            view.strokeFinished.emit()

    def cancel(self, view: "CanvasView") -> None:
        super().cancel(view)
        self.points = []
        view.overlay_changed()

    def draw_overlay(self, view: "CanvasView", painter: QPainter) -> None:
        if len(self.points) < 2:
            return
        painter.setPen(_overlay_pen())
        painter.setBrush(QColor(255, 40, 90, 50))
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in self.points]))


class RectTool(Tool):
    """Drag a rectangle; the drag's two corners, rounded to whole pixels, bound it."""

    name = "rectangle"

    def __init__(self) -> None:
        super().__init__()
        self.start: tuple[float, float] | None = None
        self.end: tuple[float, float] | None = None

    def press(self, view: "CanvasView", event: QMouseEvent) -> None:
        self.active = True
        self.start = self.end = view.widget_to_image(event.position())

    def move(self, view: "CanvasView", event: QMouseEvent) -> None:
        if not self.active:
            return
        old = self.scene_rect()
        self.end = view.widget_to_image(event.position())
        view.overlay_changed(old.united(self.scene_rect()).adjusted(-4, -4, 4, 4) if old else None)

    def release(self, view: "CanvasView", event: QMouseEvent) -> None:
        if not self.active or view.doc is None:
            return
        self.end = view.widget_to_image(event.position())
        rect = self.image_rect().clip(view.doc.width, view.doc.height)
        self.active = False
        self.start = self.end = None
        view.overlay_changed()
        if not rect.is_empty:
            view.doc.fill_rect(rect, erase=bool(event.modifiers() & ERASE_MODIFIER))
            view.strokeFinished.emit()

    def cancel(self, view: "CanvasView") -> None:
        super().cancel(view)
        self.start = self.end = None
        view.overlay_changed()

    def image_rect(self) -> Rect:
        if self.start is None or self.end is None:
            return Rect(0, 0, 0, 0)
        (ax, ay), (bx, by) = self.start, self.end
        return Rect(round(min(ax, bx)), round(min(ay, by)), round(max(ax, bx)), round(max(ay, by)))

    def scene_rect(self) -> QRectF | None:
        r = self.image_rect()
        return None if r.is_empty else QRectF(r.x0, r.y0, r.width, r.height)

    def draw_overlay(self, view: "CanvasView", painter: QPainter) -> None:
        r = self.scene_rect()
        if r is None:
            return
        painter.setPen(_overlay_pen())
        painter.setBrush(QColor(255, 40, 90, 50))
        painter.drawRect(r)


def _bounds(points: list[tuple[float, float]]) -> QRectF:
    path = QPainterPath()
    path.moveTo(*points[0])
    for p in points[1:]:
        path.lineTo(*p)
    return path.boundingRect().adjusted(-4, -4, 4, 4)
