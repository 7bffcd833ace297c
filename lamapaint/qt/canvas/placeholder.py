"""What the empty canvas says before a photo is open: how to start."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGraphicsView, QLabel, QPushButton, QVBoxLayout, QWidget

from lamapaint.qt.document_adapter import DocumentAdapter

HINT_TEXT = "Open a photo or drop it here"


class EmptyCanvasHint(QWidget):
    """Centred over the canvas's viewport while no document is open; follows its size."""

    def __init__(self, view: QGraphicsView, adapter: DocumentAdapter, open_action: QAction) -> None:
        super().__init__(view.viewport())
        self._adapter = adapter
        self.label = QLabel(HINT_TEXT, self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.label.setFont(font)
        self.label.setEnabled(False)  # the palette's muted text colour, on any theme
        self.button = QPushButton("Open a Photo…", self)
        self.button.setToolTip(open_action.toolTip())
        self.button.clicked.connect(open_action.trigger)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.label)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        view.viewport().installEventFilter(self)
        adapter.documentReplaced.connect(self._sync)
        self.setGeometry(view.viewport().rect())
        self._sync()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.parent():
            self.setGeometry(self.parentWidget().rect())
        return False

    def _sync(self) -> None:
        self.setVisible(self._adapter.document is None)
