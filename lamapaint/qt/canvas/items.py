"""Graphics items: the original photo, one item per result layer, the mask overlay.

Each item paints only the exposed part of itself. Zoomed out, the photo and the mask paint from a
subsampled preview so that a 50 MP image costs a few MP per repaint; mask edits update both the
full-resolution view (a QImage over the live numpy buffer) and the preview for the dirty rectangle
only.

A photo with a colour profile other than sRGB is drawn through its ``DisplayTransform``: the photo
and the layers show converted colours while the document keeps the file's numbers. Layers are
converted when their item is made (they are small); the photo and its preview tile by tile, the
first time each tile is drawn, so opening even a 200 MP photo converts nothing but what is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from lamapaint.core.geometry import Rect
from lamapaint.io.colour import DisplayTransform
from lamapaint.qt.canvas.images import downsample, preview_factor, rgba_image, wrap_mask, wrap_rgb

if TYPE_CHECKING:
    from lamapaint.core.layers import Layer

Z_IMAGE = 0.0
Z_LAYERS = 10.0  # + index in the stack
Z_MASK = 1000.0
#: Side of the tiles a colour-managed photo (each level of it) is converted in, as they are first drawn.
DISPLAY_TILE = 256


def _lod(painter: QPainter, option: QStyleOptionGraphicsItem) -> float:
    return option.levelOfDetailFromTransform(painter.worldTransform())


def _exposed(option: QStyleOptionGraphicsItem, width: int, height: int, factor: int = 1) -> Rect:
    """The exposed part of an item in whole source pixels of a level subsampled by ``factor``."""
    r = option.exposedRect
    x0 = int(np.floor(r.left() / factor))
    y0 = int(np.floor(r.top() / factor))
    x1 = int(np.ceil(r.right() / factor))
    y1 = int(np.ceil(r.bottom() / factor))
    return Rect(x0, y0, x1, y1).clip(width // factor, height // factor)


class _PreviewedItem(QGraphicsItem):
    """Shared paint logic: full resolution when zoomed in, the preview level when zoomed out."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self._w, self._h = width, height
        self._factor = preview_factor(width, height)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        # Subclasses set both; the preview is the full image when no subsampling is needed.
        self._full = QImage()
        self._preview = QImage()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._w, self._h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = _lod(painter, option)
        use_preview = self._factor > 1 and lod * self._factor <= 1.5
        factor = self._factor if use_preview else 1
        src = _exposed(option, self._w, self._h, factor)
        if src.is_empty:
            return
        self._prepare(src, factor)
        image = self._preview if use_preview else self._full
        target = QRectF(src.x0 * factor, src.y0 * factor, src.width * factor, src.height * factor)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, lod < 1.0)
        painter.drawImage(target, image, QRectF(src.x0, src.y0, src.width, src.height))

    def _prepare(self, src: Rect, factor: int) -> None:
        """Make the pixels of ``src`` in the level subsampled by ``factor`` ready to draw (nothing by default)."""


class _DisplayCopy:
    """An RGB array's colours for the screen, converted tile by tile the first time each is drawn.

    ``shown`` starts empty (untouched pages of an empty array cost no memory) and is what the
    QImage wraps; ``ensure(rect)`` fills the tiles ``rect`` meets that are not converted yet.
    """

    def __init__(self, rgb: np.ndarray, display: DisplayTransform) -> None:
        self.rgb = rgb
        self.display = display
        self.shown = np.empty_like(rgb)
        t = DISPLAY_TILE
        self._converted = np.zeros((-(-rgb.shape[0] // t), -(-rgb.shape[1] // t)), bool)

    def ensure(self, rect: Rect) -> None:
        t = DISPLAY_TILE
        h, w = self.rgb.shape[:2]
        # Smooth scaling reads a pixel or two past the source rectangle: convert those too.
        r = Rect(rect.x0 - 2, rect.y0 - 2, rect.x1 + 2, rect.y1 + 2).clip(w, h)
        if r.is_empty:
            return
        for ty in range(r.y0 // t, (r.y1 - 1) // t + 1):
            for tx in range(r.x0 // t, (r.x1 - 1) // t + 1):
                if not self._converted[ty, tx]:
                    tile = (slice(ty * t, (ty + 1) * t), slice(tx * t, (tx + 1) * t))
                    self.shown[tile] = self.display.apply(self.rgb[tile])
                    self._converted[ty, tx] = True


class ImageItem(_PreviewedItem):
    """The original photo, wrapped once; it never changes for the life of a document.

    With a ``display`` transform each level (full resolution, preview) is drawn from a
    ``_DisplayCopy`` instead, keyed by its subsampling factor in ``display_copies``.
    """

    def __init__(self, rgb: np.ndarray, display: DisplayTransform | None = None) -> None:
        super().__init__(rgb.shape[1], rgb.shape[0])
        self._rgb = np.ascontiguousarray(rgb)
        self.display_copies: dict[int, _DisplayCopy] = {}
        levels = {1: self._rgb}
        if self._factor > 1:
            levels[self._factor] = downsample(self._rgb, self._factor)
        if display is not None:
            self.display_copies = {f: _DisplayCopy(level, display) for f, level in levels.items()}
            levels = {f: copy.shown for f, copy in self.display_copies.items()}
        self._levels = levels  # the QImages below wrap these arrays: keep them alive
        self._full = wrap_rgb(levels[1])
        self._preview = wrap_rgb(levels[self._factor]) if self._factor > 1 else self._full
        self.setZValue(Z_IMAGE)

    def _prepare(self, src: Rect, factor: int) -> None:
        copy = self.display_copies.get(factor)
        if copy is not None:
            copy.ensure(src)


class MaskItem(_PreviewedItem):
    """Translucent overlay over the live mask buffer; ``mask_changed(rect)`` repaints only ``rect``."""

    def __init__(self, mask: np.ndarray) -> None:
        super().__init__(mask.shape[1], mask.shape[0])
        self.setZValue(Z_MASK)
        self._mask = mask
        self._full = wrap_mask(mask)
        self._small = np.zeros((self._h // self._factor, self._w // self._factor), np.uint8)
        self._preview = wrap_mask(self._small)
        self._refresh_preview(Rect(0, 0, self._w, self._h))

    def mask_changed(self, rect: Rect | None) -> None:
        """The document edited its mask in place (it never swaps the array) inside ``rect``."""
        full = Rect(0, 0, self._w, self._h)
        rect = full if rect is None else rect.clip(self._w, self._h)
        if rect.is_empty:
            return
        self._refresh_preview(rect)
        self.update(QRectF(rect.x0, rect.y0, rect.width, rect.height))

    def _refresh_preview(self, rect: Rect) -> None:
        f = self._factor
        if f == 1:
            return
        sr = Rect(rect.x0 // f, rect.y0 // f, -(-rect.x1 // f), -(-rect.y1 // f)).clip(*self._small.shape[::-1])
        if sr.is_empty:
            return
        block = self._mask[sr.y0 * f : sr.y1 * f, sr.x0 * f : sr.x1 * f]
        # Any painted pixel in an f x f block shows, so thin strokes stay visible zoomed out.
        area = cv2.resize(block, (sr.width, sr.height), interpolation=cv2.INTER_AREA)
        self._small[sr.slices] = np.where(area > 0, 255, 0).astype(np.uint8)


class LayerItem(QGraphicsItem):
    """One result layer: its small RGBA patch at its place, plus an outline when selected."""

    def __init__(self, layer: "Layer", display: DisplayTransform | None = None) -> None:
        super().__init__()
        self.layer = layer
        self._image = rgba_image(layer.rgb if display is None else display.apply(layer.rgb), layer.coverage)
        self._outline: QPainterPath | None = None
        self._show_outline = False
        self.setPos(layer.rect.x0, layer.rect.y0)
        self.setVisible(layer.visible)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.layer.rect.width, self.layer.rect.height)

    def set_show_outline(self, show: bool) -> None:
        if show and self._outline is None:
            self._outline = _outline_path(self.layer.coverage)
        self._show_outline = show
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, _lod(painter, option) < 1.0)
        painter.drawImage(0, 0, self._image)
        if self._show_outline and self._outline is not None:
            pen = QPen(QColor(40, 200, 255), 0)  # cosmetic: 1 screen pixel at any zoom
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawPath(self._outline)


def _outline_path(coverage: np.ndarray) -> QPainterPath:
    """The coverage boundary as a path in patch coordinates."""
    contours, _ = cv2.findContours((coverage > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    path = QPainterPath()
    for contour in contours:
        pts = contour.reshape(-1, 2)
        path.moveTo(float(pts[0, 0]), float(pts[0, 1]))
        for x, y in pts[1:]:
            path.lineTo(float(x), float(y))
        path.closeSubpath()
    return path
