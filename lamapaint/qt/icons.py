"""Icons shipped as SVG package data (``lamapaint/resources/icons``), rendered for the palette.

The SVGs are read through importlib.resources, so they load the same from a checkout, a wheel or
a PyInstaller bundle. Tool icons draw with ``currentColor``, replaced here by the palette's button
text colour so they stay visible on light and dark themes. Rendering goes through QSvgRenderer
into pixmaps of the usual sizes, which needs no SVG icon-engine plugin at run time.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from lamapaint.qt.actions import Actions

APP_ICON = "lamapaint"
TOOL_ICONS = ("brush", "eraser", "lasso", "rectangle", "hand", "remove", "compare")
_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


def svg_bytes(name: str) -> bytes:
    """The SVG source of an icon shipped with the package."""
    return resources.files("lamapaint").joinpath("resources", "icons", f"{name}.svg").read_bytes()


def render_svg(data: bytes, size: int) -> QImage:
    """An SVG drawn into a transparent ``size`` x ``size`` image."""
    renderer = QSvgRenderer(QByteArray(data))
    if not renderer.isValid():
        raise ValueError("not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def _icon(data: bytes) -> QIcon:
    icon = QIcon()
    for size in _SIZES:
        icon.addPixmap(QPixmap.fromImage(render_svg(data, size)))
    return icon


@cache
def app_icon() -> QIcon:
    return _icon(svg_bytes(APP_ICON))


@cache
def tool_icon(name: str, color: str | None = None) -> QIcon:
    """A toolbar icon in ``color`` (default: the application palette's button text)."""
    if color is None:
        color = QGuiApplication.palette().color(QPalette.ColorRole.ButtonText).name()
    return _icon(svg_bytes(name).replace(b"currentColor", color.encode("ascii")))


def set_toolbar_icons(actions: Actions) -> None:
    """Give the toolbar's actions their icons (menus show them too)."""
    for name, action in actions.tool_actions.items():
        action.setIcon(tool_icon(name))
    actions.remove.setIcon(tool_icon("remove"))
    actions.select_add.setIcon(tool_icon("accept"))
    actions.compare.setIcon(tool_icon("compare"))
