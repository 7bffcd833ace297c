"""RGB histogram of the last fill against its surroundings, to judge whether a fill matches.

Imported only when the dock is first shown: pyqtgraph stays off the start-up and painting paths.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

_CHANNELS = (("R", (230, 60, 60)), ("G", (60, 200, 80)), ("B", (70, 120, 240)))


def channel_histograms(pixels: np.ndarray) -> np.ndarray:
    """(3, 256) histograms of an (n, 3) uint8 pixel list, normalised to sum 1 per channel."""
    hist = np.stack([np.bincount(pixels[:, c], minlength=256) for c in range(3)]).astype(np.float64)
    total = hist.sum(axis=1, keepdims=True)
    return hist / np.maximum(total, 1)


class HistogramPanel(QWidget):
    """Solid curves: the filled pixels; dashed: the context around the hole."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="#202024")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().hideAxis("left")
        self.plot.setXRange(0, 255, padding=0.01)
        self.plot.setMinimumSize(160, 120)
        self.caption = QLabel("Remove something to see its colours here.", self)
        self.caption.setWordWrap(True)
        self.caption.setMinimumWidth(160)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        x = np.arange(256)
        self._fill_curves = []
        self._context_curves = []
        for _name, colour in _CHANNELS:
            self._context_curves.append(self.plot.plot(x, np.zeros(256), pen=pg.mkPen(colour, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)))
            self._fill_curves.append(self.plot.plot(x, np.zeros(256), pen=pg.mkPen(colour, width=2)))

    def show_fill(self, name: str, fill: np.ndarray, context: np.ndarray) -> None:
        fill_h = channel_histograms(fill)
        context_h = channel_histograms(context)
        for c in range(3):
            self._fill_curves[c].setData(np.arange(256), fill_h[c])
            self._context_curves[c].setData(np.arange(256), context_h[c])
        diff = np.abs(fill.mean(axis=0) - context.mean(axis=0)) if len(fill) and len(context) else np.zeros(3)
        self.caption.setText(
            f"{name}: {len(fill):,} filled pixels (solid) vs {len(context):,} around them (dashed). "
            f"Mean difference R {diff[0]:.1f}, G {diff[1]:.1f}, B {diff[2]:.1f}."
        )
