"""Render the app icon (lamapaint/resources/icons/lamapaint.svg) into what desktops want.

    python resources/icons/make_icons.py OUT_DIR

writes OUT_DIR/hicolor/<n>x<n>/apps/io.github.lamapaint.Lamapaint.png for n in 16..512 (the
freedesktop icon theme layout, ready to copy under /usr/share/icons or a bundle's share/icons),
the SVG under hicolor/scalable/apps/, OUT_DIR/lamapaint.ico (Windows: 16-256) and
OUT_DIR/lamapaint.icns (macOS: 16-512). Outputs are generated, never committed: packaging/build.sh
runs this. Needs PySide6 (QtSvg renders the SVG) and Pillow (writes ICO and ICNS), both already
dependencies of lamapaint; run with QT_QPA_PLATFORM=offscreen on a machine without a display.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

APP_ID = "io.github.lamapaint.Lamapaint"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512)


def render_png(size: int) -> Image.Image:
    from PySide6.QtCore import QBuffer, QIODevice

    from lamapaint.qt.icons import APP_ICON, render_svg, svg_bytes

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    render_svg(svg_bytes(APP_ICON), size).save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data().data()))).convert("RGBA")


def make_icons(out: Path) -> list[Path]:
    from PySide6.QtGui import QGuiApplication

    from lamapaint.qt.icons import APP_ICON, svg_bytes

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # QPainter needs one
    images = {size: render_png(size) for size in sorted(set(PNG_SIZES + ICO_SIZES + ICNS_SIZES))}
    written = []
    for size in PNG_SIZES:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        images[size].save(path)
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(svg_bytes(APP_ICON))
    written.append(scalable)
    largest_ico = images[max(ICO_SIZES)]
    largest_ico.save(
        out / "lamapaint.ico", sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    images[max(ICNS_SIZES)].save(
        out / "lamapaint.icns", append_images=[images[s] for s in ICNS_SIZES if s != max(ICNS_SIZES)],
    )
    written += [out / "lamapaint.ico", out / "lamapaint.icns"]
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write into")
    args = parser.parse_args()
    for path in make_icons(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
