"""Canvas keys that work wherever the focus is in the main window, except in a text field.

The single-letter shortcuts (B, E, L, R, H, ``[``, ``]``), Enter and Esc are window-wide actions;
this filter hands their keys back to a field being typed in (a layer rename, the brush size box),
and turns the held keys (Space pans, ``\\`` compares) into canvas state from any panel, so a
click in Layers or History never leaves the keyboard dead or makes Space-drag paint.
"""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

log = logging.getLogger(__name__)

_COMMAND_MODIFIERS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier


def is_text_field(widget: QWidget | None) -> bool:
    """A widget that is being typed in: it keeps plain keys, Enter and Esc."""
    if widget is None:
        return False
    if isinstance(widget, QLineEdit):
        return not widget.isReadOnly()
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, QAbstractSpinBox)


def _owning_window(widget: QWidget) -> QWidget:
    """The window a widget belongs to; a floating dock counts as part of its main window."""
    window = widget.window()
    while isinstance(window, QDockWidget) and window.parentWidget() is not None:
        window = window.parentWidget().window()
    return window


class CanvasKeys(QObject):
    """An application event filter scoped to one main window.

    ``hold`` is called with (key, pressed) for the held keys; it returns nothing.
    """

    #: The keys held rather than pressed: (name, what holding it does). The F1 list shows these.
    HELD_KEYS: dict[Qt.Key, tuple[str, str]] = {
        Qt.Key.Key_Space: ("Pan", "Hold and drag to move the view"),
        Qt.Key.Key_Backslash: ("Compare with Original", "Hold to see the photo without the removals and the mask"),
    }

    def __init__(self, window: QWidget, hold: Callable[[Qt.Key, bool], None]) -> None:
        super().__init__(window)
        self._window = window
        self._hold = hold
        self._held: set[Qt.Key] = set()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.release_all()

    def release_all(self) -> None:
        for key in list(self._held):
            self._held.discard(key)
            self._hold(key, False)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.WindowDeactivate and obj is self._window:
            self.release_all()  # a release that happens elsewhere never arrives
            return False
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not isinstance(obj, QWidget) or _owning_window(obj) is not self._window:
            return False
        assert isinstance(event, QKeyEvent)
        plain = not (event.modifiers() & _COMMAND_MODIFIERS)
        if is_text_field(QApplication.focusWidget()):
            if kind == QEvent.Type.ShortcutOverride and plain:
                event.accept()  # the field gets the key, not a canvas action
                return True
            return False
        key = Qt.Key(event.key())
        if key not in self.HELD_KEYS or not plain:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            return False
        if event.isAutoRepeat():
            return True
        pressed = kind == QEvent.Type.KeyPress
        if pressed == (key in self._held):
            return True
        (self._held.add if pressed else self._held.discard)(key)
        self._hold(key, pressed)
        return True
