"""The Select tool: click, Alt-click (or right-click), drag a box or draw a rough stroke; the
candidate shows in cyan until Enter adds it to the mask or Esc drops it.

A drag is a box when it runs roughly corner to corner; a path much longer than its bounds'
diagonal (a circle around the object, a scribble over it) is a stroke: its bounds become the box,
and a stroke that does not close on itself (drawn over the object) adds three points on it. A few
points, not dozens: many points give SAM broken masks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QPolygonF

from lamapaint.qt.tools.base import Tool
from lamapaint.qt.tools.candidate_image import OUTLINE, ScreenGrid, ScreenImage, shows_finer_than_preview, tint_image

if TYPE_CHECKING:
    from lamapaint.qt.canvas.view import CanvasView
    from lamapaint.qt.selection import SelectionController

EXCLUDE_MODIFIER = Qt.KeyboardModifier.AltModifier
#: Screen pixels a press may move and still be a click.
CLICK_SLOP = 4.0
#: A path this many times longer than its bounds' diagonal is a stroke, not a box drag.
STROKE_RATIO = 1.6
STROKE_POINTS = 3
BUSY_TEXT = "Analysing the photo…"


class SelectTool(Tool):
    name = "select"
    takes_right_button = True

    def __init__(self, selection: "SelectionController") -> None:
        super().__init__()
        self.selection = selection
        self.path: list[tuple[float, float]] = []
        self._exclude = False
        self._image: QImage | None = None  # the preview's tint, made when first drawn
        self._screen = ScreenImage()
        selection.candidateChanged.connect(self._candidate_changed)

    # -- gestures -------------------------------------------------------------------------------
    def press(self, view: "CanvasView", event: QMouseEvent) -> None:
        self.active = True
        self._exclude = event.button() == Qt.MouseButton.RightButton or bool(event.modifiers() & EXCLUDE_MODIFIER)
        self.path = [view.widget_to_image(event.position())]

    def move(self, view: "CanvasView", event: QMouseEvent) -> None:
        if not self.active:
            return
        p = view.widget_to_image(event.position())
        last = self.path[-1]
        if math.hypot(p[0] - last[0], p[1] - last[1]) * view.zoom >= 1.0:
            self.path.append(p)
            view.overlay_changed()

    def release(self, view: "CanvasView", event: QMouseEvent) -> None:
        if not self.active or view.doc is None:
            return
        self.active = False
        path, self.path = self.path + [view.widget_to_image(event.position())], []
        view.overlay_changed()
        width, height = view.doc.width, view.doc.height
        xs, ys = [p[0] for p in path], [p[1] for p in path]
        span = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
        if span * view.zoom < CLICK_SLOP:
            x, y = path[0]
            if 0 <= x < width and 0 <= y < height:
                self.selection.add_point(x, y, include=not self._exclude)
            return
        box = (max(0.0, min(xs)), max(0.0, min(ys)), min(float(width), max(xs)), min(float(height), max(ys)))
        if box[2] - box[0] < 1 or box[3] - box[1] < 1:
            return
        self.selection.set_box(box, stroke_points(path) if is_stroke(path) else [])

    def cancel(self, view: "CanvasView") -> None:
        super().cancel(view)
        self.path = []
        view.overlay_changed()

    # -- drawing --------------------------------------------------------------------------------
    def _candidate_changed(self) -> None:
        self._image = None
        self._screen.clear()

    def draw_overlay(self, view: "CanvasView", painter: QPainter) -> None:
        if view.doc is None:
            return
        self._draw_candidate(view, painter)
        self._draw_prompts(view, painter)
        if len(self.path) >= 2:
            pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolyline(QPolygonF([QPointF(x, y) for x, y in self.path]))
        if self.selection.busy:
            self._draw_busy(view, painter)

    def _draw_candidate(self, view: "CanvasView", painter: QPainter) -> None:
        """Zoomed out, the preview's tint scaled; zoomed in beyond it, the visible part at screen pixels."""
        candidate, preview = self.selection.candidate, self.selection.preview()
        if candidate is None or preview is None:
            return
        grid = screen_grid(view, painter)
        if grid is None or not shows_finer_than_preview(candidate, grid):
            if self._image is None:
                self._image = tint_image(preview)
            region = candidate.region
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(QRectF(region.x0, region.y0, region.width, region.height), self._image)
            return
        drawn = self._screen.get(candidate, self.selection.index, grid)
        if drawn is None:
            return
        x, y, image = drawn
        ratio = view.viewport().devicePixelRatioF()
        image.setDevicePixelRatio(ratio)
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(x / ratio, y / ratio), image)
        painter.restore()

    def _draw_prompts(self, view: "CanvasView", painter: QPainter) -> None:
        prompts = self.selection.prompts
        radius = 5 / max(view.zoom, 1e-6)
        if prompts.box is not None:
            x0, y0, x1, y1 = prompts.box
            pen = QPen(OUTLINE, 1.0, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        for (x, y), label in zip(prompts.points, prompts.labels):
            pen = QPen(QColor(0, 0, 0), 1.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(QColor(40, 220, 90) if label else QColor(240, 60, 60))
            painter.drawEllipse(QPointF(x, y), radius, radius)

    def _draw_busy(self, view: "CanvasView", painter: QPainter) -> None:
        """The busy cue: a small label in the canvas's top-left corner, in screen pixels."""
        painter.save()
        painter.resetTransform()
        metrics = painter.fontMetrics()
        box = QRectF(12, 12, metrics.horizontalAdvance(BUSY_TEXT) + 20, metrics.height() + 10)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, BUSY_TEXT)
        painter.restore()


def is_stroke(path: list[tuple[float, float]]) -> bool:
    """A path much longer than its bounds' diagonal: drawn around or over something, not a box drag."""
    xs, ys = [p[0] for p in path], [p[1] for p in path]
    diagonal = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
    length = sum(math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(path, path[1:]))
    return diagonal > 0 and length > STROKE_RATIO * diagonal


def stroke_points(path: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Three points spread along a stroke drawn over the object; none for one closed around it
    (its points lie on the background)."""
    xs, ys = [p[0] for p in path], [p[1] for p in path]
    diagonal = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
    (ax, ay), (bx, by) = path[0], path[-1]
    if math.hypot(bx - ax, by - ay) < 0.25 * diagonal:
        return []
    lengths = np.concatenate([[0.0], np.cumsum([math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(path, path[1:])])])
    picks = [float(np.searchsorted(lengths, lengths[-1] * f)) for f in (0.2, 0.5, 0.8)]
    return [path[min(int(i), len(path) - 1)] for i in picks[:STROKE_POINTS]]


def screen_grid(view: "CanvasView", painter: QPainter) -> ScreenGrid | None:
    """Where the painter puts photo pixels on the viewport, in device pixels; None for a
    transform that is not a plain scale and shift (the view only zooms and scrolls)."""
    t = painter.worldTransform()
    if t.m12() or t.m21() or t.m11() != t.m22() or t.m11() <= 0:
        return None
    viewport = view.viewport()
    ratio = viewport.devicePixelRatioF()
    return ScreenGrid(t.m11() * ratio, t.dx() * ratio, t.dy() * ratio, round(viewport.width() * ratio), round(viewport.height() * ratio))
