"""Check, before Qt starts, that the system libraries of Qt's X11 (xcb) platform plugin load.

Without one of them (``libxcb-cursor0`` is the usual one: PySide6 wheels and PyInstaller bundles
do not carry it) ``QApplication`` aborts with "Could not load the Qt platform plugin xcb", a
core dump and advice that names the wrong cause. Asking the dynamic loader for each library first
turns that into one readable paragraph that names the packages to install.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping


@dataclass(frozen=True)
class SystemLibrary:
    soname: str
    debian: str  # Debian / Ubuntu package
    fedora: str  # Fedora / RHEL package


#: What libqxcb.so and libQt6XcbQpa.so.6 link against outside Qt itself (readelf -d, PySide6 6.11).
XCB_LIBRARIES = (
    SystemLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    SystemLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    SystemLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    SystemLibrary("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    SystemLibrary("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    SystemLibrary("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    SystemLibrary("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    SystemLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    SystemLibrary("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    SystemLibrary("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    SystemLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    SystemLibrary("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    SystemLibrary("libxcb.so.1", "libxcb1", "libxcb"),
    SystemLibrary("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    SystemLibrary("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
)


def uses_xcb(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will try the xcb plugin first (Linux, and no other platform asked for)."""
    if not platform.startswith("linux"):
        return False
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return requested.split(";")[0].split(":")[0] == "xcb"
    # Qt 6 picks Wayland in a Wayland session when its plugin works, xcb otherwise.
    return not (environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland")


def missing_libraries(
    libraries: tuple[SystemLibrary, ...] = XCB_LIBRARIES,
    load: Callable[[str], object] | None = None,
) -> list[SystemLibrary]:
    """The libraries the dynamic loader cannot load (by soname, as Qt's plugin would)."""
    load = load or ctypes.CDLL
    bundled = Path(getattr(sys, "_MEIPASS", "")) if getattr(sys, "frozen", False) else None
    missing = []
    for library in libraries:
        if bundled is not None and (bundled / library.soname).exists():
            continue  # PyInstaller copied the build machine's copy next to Qt
        try:
            load(library.soname)
        except OSError:
            missing.append(library)
    return missing


def missing_libraries_message(missing: list[SystemLibrary]) -> str:
    """One paragraph: what is wrong and the install command for Debian/Ubuntu and Fedora."""
    names = ", ".join(lib.soname for lib in missing)
    debian = " ".join(dict.fromkeys(lib.debian for lib in missing))
    fedora = " ".join(dict.fromkeys(lib.fedora for lib in missing))
    return (
        f"lamapaint cannot open its window: Qt's X11 platform plugin (xcb) needs {names}, "
        f"which this system does not have. Install it with `sudo apt install {debian}` on Debian "
        f"or Ubuntu, or `sudo dnf install {fedora}` on Fedora, then start lamapaint again. "
        "(In a Wayland session, QT_QPA_PLATFORM=wayland avoids X11 altogether; lamapaint-cli needs none of this.)"
    )
