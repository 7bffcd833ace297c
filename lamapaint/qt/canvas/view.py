"""The canvas view: shows a document, zooms and pans, and hands pointer events to the current tool.

Mouse handlers only dispatch; drawing of overlays happens in small named functions called from
``drawForeground``; widget -> image mapping lives in ``widget_to_image`` alone.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QLabel, QWidget

from lamapaint.core.geometry import Rect
from lamapaint.io.colour import DisplayTransform, display_transform
from lamapaint.qt.canvas.items import Z_LAYERS, ImageItem, LayerItem, MaskItem

if TYPE_CHECKING:
    from lamapaint.core.document import Document
    from lamapaint.qt.tools.base import Tool

log = logging.getLogger(__name__)

MIN_ZOOM = 1 / 64
MAX_ZOOM = 32.0
WHEEL_STEP = 1.25


class CanvasView(QGraphicsView):
    zoomChanged = Signal(float)
    cursorMoved = Signal(object)  # (x, y) in image pixels, or None when outside the image
    strokeFinished = Signal()  # a brush/lasso/rect edit of the mask ended (auto-remove hooks here)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(48, 48, 52))
        self.setMouseTracking(True)
        self.setAcceptDrops(False)  # drops go to the main window
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.doc: Document | None = None
        self.image_item: ImageItem | None = None
        self.mask_item: MaskItem | None = None
        self.layer_items: dict[str, LayerItem] = {}
        #: The photo's profile to sRGB for drawing; None when its numbers are drawn as they are.
        self.display: DisplayTransform | None = None
        self.brush_radius = 20.0
        self._tool: Tool | None = None
        self._pan_tool: Tool | None = None  # the hand, while space or the middle button is held
        self._space_held = False
        self._compare_held = False
        self._compare_toggled = False
        self._cursor_scene: QPointF | None = None
        self._cursor_viewport: QPointF | None = None  # where the pointer last was, to redraw the outline after a zoom
        self._selected_layer: str | None = None
        # A label over the viewport, not in a layout: showing it moves nothing.
        self.compare_badge = QLabel("Original", self.viewport())
        self.compare_badge.setObjectName("compareBadge")
        self.compare_badge.setStyleSheet(
            "#compareBadge { background: rgba(0, 0, 0, 170); color: white; padding: 4px 12px; border-radius: 4px; font-weight: bold; }"
        )
        self.compare_badge.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.compare_badge.hide()

    # -- document -------------------------------------------------------------------------------
    def set_document(self, doc: "Document | None") -> None:
        scene = self.scene()
        scene.clear()
        self.layer_items.clear()
        self.image_item = self.mask_item = None
        self.doc = doc
        self.display = None
        self.compare_badge.setVisible(self.comparing and doc is not None)
        if doc is None:
            return
        self.display = display_transform(getattr(doc.source, "icc_profile", None))
        self.image_item = ImageItem(doc.original, self.display)
        scene.addItem(self.image_item)
        self.mask_item = MaskItem(doc.mask)
        self.mask_item.setVisible(not self.comparing)
        scene.addItem(self.mask_item)
        scene.setSceneRect(QRectF(0, 0, doc.width, doc.height))
        self.sync_layers()
        self.fit()

    def on_mask_changed(self, rect: Rect | None) -> None:
        if self.doc is not None and self.mask_item is not None:
            self.mask_item.mask_changed(rect)

    def sync_layers(self) -> None:
        """Match the layer items to the stack: reuse unchanged ones, build new ones from patches."""
        if self.doc is None:
            return
        scene = self.scene()
        wanted = {layer.id: layer for layer in self.doc.layers}
        for layer_id in list(self.layer_items):
            item = self.layer_items[layer_id]
            if layer_id not in wanted or wanted[layer_id] is not item.layer and not _same_pixels(wanted[layer_id], item.layer):
                scene.removeItem(item)
                del self.layer_items[layer_id]
        for index, layer in enumerate(self.doc.layers):
            item = self.layer_items.get(layer.id)
            if item is None:
                item = LayerItem(layer, self.display)
                scene.addItem(item)
                self.layer_items[layer.id] = item
            item.layer = layer
            item.setZValue(Z_LAYERS + index)
            item.setVisible(layer.visible and not self.comparing)
            item.set_show_outline(layer.id == self._selected_layer)

    def select_layer(self, layer_id: str | None) -> None:
        self._selected_layer = layer_id
        for lid, item in self.layer_items.items():
            item.set_show_outline(lid == layer_id)

    # -- compare --------------------------------------------------------------------------------
    @property
    def comparing(self) -> bool:
        return self._compare_held or self._compare_toggled

    def set_compare(self, on: bool) -> None:
        """The toggle button's state; holding ``\\`` compares too."""
        self._compare_toggled = on
        self._apply_compare()

    def _apply_compare(self) -> None:
        """"Original" means the photo alone: no removal layers and no painted mask over it."""
        for item in self.layer_items.values():
            item.setVisible(item.layer.visible and not self.comparing)
        if self.mask_item is not None:
            self.mask_item.setVisible(not self.comparing)
        self.compare_badge.setVisible(self.comparing and self.doc is not None)
        self._place_badge()

    def _place_badge(self) -> None:
        badge = self.compare_badge
        badge.adjustSize()
        badge.move((self.viewport().width() - badge.width()) // 2, 12)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_badge()

    # -- zoom -----------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` keeping the scene point under ``anchor`` (viewport coords) in place."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        self.resetTransform()
        self.scale(zoom, zoom)
        self._scroll_to_keep(before, anchor)
        self.zoomChanged.emit(zoom)
        self._refresh_cursor_outline()
        self.viewport().update()

    def _scroll_to_keep(self, scene_point: QPointF, anchor: QPointF) -> None:
        """Scroll bars move the view (translate() alone is ignored inside the scroll range)."""
        moved = self.mapFromScene(scene_point)
        dx = moved.x() - anchor.x()
        dy = moved.y() - anchor.y()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(dx))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(dy))

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def fit(self) -> None:
        if self.doc is None:
            return
        vp = self.viewport().rect()
        if vp.width() < 2 or vp.height() < 2:
            return
        zoom = min(vp.width() / self.doc.width, vp.height() / self.doc.height) * 0.98
        self.resetTransform()
        self.scale(zoom, zoom)
        self.centerOn(self.doc.width / 2, self.doc.height / 2)
        self.zoomChanged.emit(self.zoom)
        self._refresh_cursor_outline()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    # -- coordinates ----------------------------------------------------------------------------
    def widget_to_image(self, pos: QPoint | QPointF) -> tuple[float, float]:
        """Viewport pixel -> image pixel coordinates (continuous; pixel centres at +0.5)."""
        p = self.mapToScene(pos.toPoint() if isinstance(pos, QPointF) else pos)
        return p.x(), p.y()

    def visible_image_rect(self) -> Rect | None:
        """The part of the photo the viewport shows, in whole image pixels; None without a photo."""
        if self.doc is None:
            return None
        r = self.mapToScene(self.viewport().rect()).boundingRect()
        return Rect(int(r.left()), int(r.top()), int(r.right()) + 1, int(r.bottom()) + 1).clip(self.doc.width, self.doc.height)

    # -- tools ----------------------------------------------------------------------------------
    @property
    def tool(self) -> "Tool | None":
        return self._tool

    def set_tool(self, tool: "Tool") -> None:
        if self._tool is not None:
            self._tool.cancel(self)
        self._tool = tool
        self.viewport().setCursor(tool.cursor)
        self._refresh_cursor_outline()
        self.viewport().update()

    def set_pan_tool(self, tool: "Tool") -> None:
        self._pan_tool = tool

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = max(0.5, radius)
        self.viewport().update()

    def _active_tool(self) -> "Tool | None":
        if self._pan_tool is not None and (self._space_held or self._pan_tool.active):
            return self._pan_tool
        return self._tool

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.doc is None:
            return
        if event.button() == Qt.MouseButton.MiddleButton and self._pan_tool is not None:
            self._pan_tool.press(self, event)
            return
        tool = self._active_tool()
        if tool is not None and (event.button() == Qt.MouseButton.LeftButton or event.button() == Qt.MouseButton.RightButton and tool.takes_right_button):
            tool.press(self, event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._track_cursor(event.position())
        tool = self._active_tool()
        if tool is not None and self.doc is not None:
            tool.move(self, event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        tool = self._active_tool()
        if tool is not None and self.doc is not None:
            tool.release(self, event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(WHEEL_STEP**steps, event.position())

    def leaveEvent(self, event) -> None:  # noqa: ANN001 - QEvent
        self._cursor_viewport = None
        self._update_cursor_outline(None)
        self.cursorMoved.emit(None)
        super().leaveEvent(event)

    def hold_key(self, key: Qt.Key, pressed: bool) -> None:
        """Space (pan) and ``\\`` (compare) while held; the window's key filter calls this."""
        if key == Qt.Key.Key_Space:
            self._space_held = pressed
            tool = self._pan_tool if pressed else self._tool
            if tool is not None:
                self.viewport().setCursor(tool.cursor)
            self.viewport().update()  # the brush outline goes while panning and comes back after
        elif key == Qt.Key.Key_Backslash:
            self._compare_held = pressed
            self._apply_compare()

    # -- overlays -------------------------------------------------------------------------------
    def _track_cursor(self, pos: QPointF) -> None:
        self._cursor_viewport = QPointF(pos)
        scene = self.mapToScene(pos.toPoint())
        self._update_cursor_outline(scene)
        if self.doc is not None and 0 <= scene.x() < self.doc.width and 0 <= scene.y() < self.doc.height:
            self.cursorMoved.emit((int(scene.x()), int(scene.y())))
        else:
            self.cursorMoved.emit(None)

    @property
    def brush_outline_centre(self) -> QPointF | None:
        """Where the brush outline is drawn (scene coordinates); None when the pointer is away."""
        return self._cursor_scene

    def _refresh_cursor_outline(self) -> None:
        """The pointer stays put while the image moves under it (a zoom key, Fit): the outline follows at once."""
        if self._cursor_viewport is not None:
            self._track_cursor(self._cursor_viewport)

    def _update_cursor_outline(self, scene: QPointF | None) -> None:
        """Repaint only around the old and the new brush outline."""
        for p in (self._cursor_scene, scene):
            if p is not None:
                r = self.brush_radius + 2 / max(self.zoom, 1e-6)
                self.updateScene([QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r)])
        self._cursor_scene = scene

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        tool = self._active_tool()
        if tool is not None:
            tool.draw_overlay(self, painter)
        if tool is self._tool and tool is not None and tool.shows_brush:
            self._draw_brush_outline(painter)

    def _draw_brush_outline(self, painter: QPainter) -> None:
        if self._cursor_scene is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for colour, width in ((QColor(0, 0, 0, 160), 3), (QColor(255, 255, 255, 220), 1)):
            pen = QPen(colour, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawEllipse(self._cursor_scene, self.brush_radius, self.brush_radius)

    def overlay_changed(self, scene_rect: QRectF | None = None) -> None:
        """Tools call this after changing what they draw in the foreground."""
        if scene_rect is None:
            self.viewport().update()
        else:
            self.updateScene([scene_rect])


def _same_pixels(a: object, b: object) -> bool:
    """Layers are immutable patches; a new object with the same id only differs in metadata."""
    return getattr(a, "rgb", None) is getattr(b, "rgb", None) and getattr(a, "rect", None) == getattr(b, "rect", None)
