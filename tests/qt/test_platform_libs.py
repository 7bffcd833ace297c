"""A missing system library of Qt's xcb plugin gives a readable message, not a Qt abort."""

from __future__ import annotations

import logging

import pytest

from lamapaint.qt import app as qt_app
from lamapaint.qt import platform_libs
from lamapaint.qt.platform_libs import missing_libraries, missing_libraries_message, uses_xcb


def _loader_without(*absent: str):  # noqa: ANN202
    def load(soname: str) -> object:
        if soname in absent:
            raise OSError(f"{soname}: cannot open shared object file: No such file or directory")
        return object()

    return load


def test_missing_cursor_library_is_found_and_named() -> None:
    missing = missing_libraries(load=_loader_without("libxcb-cursor.so.0"))
    assert [lib.soname for lib in missing] == ["libxcb-cursor.so.0"]
    message = missing_libraries_message(missing)
    assert "libxcb-cursor.so.0" in message
    assert "sudo apt install libxcb-cursor0" in message and "sudo dnf install xcb-util-cursor" in message
    assert "\n" not in message


def test_a_library_inside_a_frozen_bundle_counts_as_present(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    (tmp_path / "libxcb-cursor.so.0").write_bytes(b"")
    monkeypatch.setattr(platform_libs.sys, "frozen", True, raising=False)
    monkeypatch.setattr(platform_libs.sys, "_MEIPASS", str(tmp_path), raising=False)
    assert missing_libraries(load=_loader_without("libxcb-cursor.so.0")) == []


def test_packages_are_listed_once() -> None:
    missing = missing_libraries(load=_loader_without("libxcb-shape.so.0", "libxcb-xkb.so.1"))
    assert "`sudo dnf install libxcb`" in missing_libraries_message(missing)


def test_nothing_missing_on_this_machine_or_a_clear_list() -> None:
    # The real loader: either everything loads, or the missing ones are named (never an exception).
    for lib in missing_libraries():
        assert lib.soname.startswith("lib")


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({}, "darwin", False),
        ({}, "win32", False),
    ],
)
def test_uses_xcb(env: dict[str, str], platform: str, expected: bool) -> None:
    assert uses_xcb(env, platform) is expected


def test_editor_exits_1_with_the_message_before_qt_starts(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(platform_libs.sys, "platform", "linux")
    monkeypatch.setattr(platform_libs.ctypes, "CDLL", _loader_without("libxcb-cursor.so.0"))

    def no_qt(*_args: object) -> None:
        raise AssertionError("QApplication must not be created")

    monkeypatch.setattr(qt_app, "create_app", no_qt)
    with caplog.at_level(logging.ERROR, logger="lamapaint.qt.app"):
        assert qt_app.main(None) == 1
    assert "libxcb-cursor0" in caplog.text and "cannot open its window" in caplog.text
