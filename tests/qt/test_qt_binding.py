"""The Qt binding itself: PySide6 6.12.0's Signal.emit() drops a reference to True on every call,
which kills the editor after a few hundred signals (a brush stroke emits several per mouse move)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(object)


def test_emit_keeps_reference_counts() -> None:
    emitter = _Emitter()
    received: list[object] = []
    emitter.ping.connect(received.append)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(200):
        emitter.ping.emit(None)
    assert len(received) == 200
    received.clear()
    # A correct binding returns where it started (allow a little slack for interpreter noise).
    assert sys.getrefcount(True) >= before_true - 5
    assert sys.getrefcount(None) >= before_none - 5
