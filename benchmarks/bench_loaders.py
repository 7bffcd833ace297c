"""Peak memory and time of the photo, mask and project loaders, per format, in bytes per pixel.

Each load runs in a fresh subprocess; the figure is the growth of its peak RSS (VmHWM, reset
before the call through /proc/self/clear_refs, so Linux only) over the loader call, so imports
and the interpreter do not count. The per-pixel ceilings in
``lamapaint/io/images.py`` (``_DECODE_BYTES_PER_PIXEL_*``) come from this table. Run from the
repository root::

    .venv/bin/python benchmarks/bench_loaders.py            # 24 MP
    .venv/bin/python benchmarks/bench_loaders.py --quick    # 6 MP
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

_MEASURE = """
import sys, time
from pathlib import Path
from lamapaint.io import images, project

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

kind, path = sys.argv[1], sys.argv[2]
Path("/proc/self/clear_refs").write_text("5")  # reset the peak (a forked child starts with its parent's)
before = status("VmRSS")
start = time.perf_counter()
if kind == "image":
    result = images.load_image(path)
elif kind == "mask":
    result = images.load_mask(path)
else:
    result = project.load_project(path)
seconds = time.perf_counter() - start
print(status("VmHWM") - before, seconds)
"""


def _write_inputs(folder: Path, height: int, width: int) -> list[tuple[str, str, Path, int]]:
    """(label, loader, file, pixels) for each case; the pictures compress like photos, roughly."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    base = ((x // 3 + y // 5) % 256).astype(np.uint8)
    noise = rng.integers(0, 24, (height, width), dtype=np.uint8)
    rgb = np.stack([base + noise, base[::-1] + noise, (base * 3) // 2], axis=-1).astype(np.uint8)
    alpha = (255 - base).astype(np.uint8)
    im = Image.fromarray(rgb)
    files: list[tuple[str, str, Path, int]] = []

    def add(label: str, loader: str, name: str, save: Callable[[Path], object]) -> None:
        path = folder / name
        save(path)
        files.append((label, loader, path, height * width))

    add("JPEG 8-bit RGB", "image", "rgb.jpg", lambda p: im.save(p, quality=90))
    add("JPEG CMYK", "image", "cmyk.jpg", lambda p: im.convert("CMYK").save(p, quality=90))
    add("PNG 8-bit RGB", "image", "rgb.png", lambda p: im.save(p, compress_level=1))
    add("PNG 8-bit RGBA", "image", "rgba.png", lambda p: Image.fromarray(np.dstack([rgb, alpha])).save(p, compress_level=1))
    add("PNG grey", "image", "grey.png", lambda p: Image.fromarray(base).save(p, compress_level=1))
    add("PNG palette + transparency", "image", "pal.png", lambda p: im.convert("P").save(p, transparency=0))
    add("TIFF 8-bit RGB (uncompressed)", "image", "rgb.tif", lambda p: im.save(p))
    add("WebP", "image", "rgb.webp", lambda p: im.save(p, quality=80))
    rgb16 = rgb.astype(np.uint16) * 257
    add("PNG 16-bit RGB", "image", "rgb16.png", lambda p: cv2.imwrite(str(p), rgb16[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1]))
    add(
        "PNG 16-bit RGBA",
        "image",
        "rgba16.png",
        lambda p: cv2.imwrite(str(p), np.dstack([rgb16[:, :, ::-1], alpha.astype(np.uint16) * 257]), [cv2.IMWRITE_PNG_COMPRESSION, 1]),
    )
    add("TIFF 16-bit RGB", "image", "rgb16.tif", lambda p: cv2.imwrite(str(p), rgb16[:, :, ::-1]))
    add("mask, grey PNG", "mask", "mask.png", lambda p: Image.fromarray(np.where(base > 128, 255, 0).astype(np.uint8)).save(p))
    add("mask, RGBA PNG", "mask", "mask_rgba.png", lambda p: Image.fromarray(np.dstack([rgb, alpha])).save(p, compress_level=1))
    add("project: JPEG + 4 layers of 1/4", "project", "doc.lamapaint", lambda p: _save_project(p, folder / "rgb.jpg"))
    return files


def _save_project(path: Path, photo: Path) -> None:
    from lamapaint.core.document import Document
    from lamapaint.core.geometry import Rect
    from lamapaint.core.layers import Layer
    from lamapaint.io.images import load_image
    from lamapaint.io.project import save_project

    source = load_image(photo)
    doc = Document(source.rgb, source=source)
    h, w = doc.height // 2, doc.width // 2
    for i in range(4):
        rect = Rect.from_xywh((i % 2) * w, (i // 2) * h, w, h)
        doc.add_layer(Layer.create(f"L{i}", rect, np.full((h, w, 3), 40 * i, np.uint8), np.full((h, w), 255, np.uint8)), clear_mask=False)
    save_project(path, doc.snapshot())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 MP instead of 24 MP")
    args = parser.parse_args()
    height, width = (2000, 3000) if args.quick else (4000, 6000)
    root = Path(__file__).resolve().parent.parent
    print(f"Loader peak memory at {height * width / 1e6:.0f} MP (RSS growth over the call, fresh process each)")
    print(f"  {'input':<34} {'file MB':>8} {'peak MB':>8} {'B/px':>6} {'s':>6}")
    with tempfile.TemporaryDirectory() as name:
        for label, loader, path, pixels in _write_inputs(Path(name), height, width):
            out = subprocess.run(
                [sys.executable, "-c", _MEASURE, loader, str(path)], cwd=root, capture_output=True, text=True, check=True
            ).stdout.split()
            grown, seconds = int(out[0]), float(out[1])
            size = path.stat().st_size
            print(f"  {label:<34} {size / 1e6:8.1f} {grown / 1e6:8.0f} {grown / pixels:6.1f} {seconds:6.2f}", flush=True)


if __name__ == "__main__":
    main()
