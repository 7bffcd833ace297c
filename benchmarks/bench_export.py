"""Export cost, file size and fidelity: block-wise JPEG re-save against a whole-photo re-encode.

For each bench photo with an "object" mask, the masked pixels are replaced (a blur stands in for
the inpainted fill) and the photo is exported twice: block-wise (lossless outside the fill) and
re-encoded at quality 95. Every photo is also exported from a progressive copy (Pillow, the
original's quantisation tables and sampling, ``progressive=True``), unless it is progressive
already. Prints the export time, the size relative to the original, the share of pixels outside
the fill that still decode exactly as in the original, and the largest difference outside the fill
(and outside the fill's MCUs plus the one-pixel chroma ring, where a block-wise save is exact).

    .venv/bin/python benchmarks/bench_export.py [NAME ...]
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, JpegImagePlugin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import BENCH  # noqa: E402
from lamapaint.io.export import ExportOptions, export_image  # noqa: E402
from lamapaint.io.images import LoadedImage, load_image, load_image_bytes  # noqa: E402

_SAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


def progressive_copy(path: Path) -> bytes:
    """The photo re-saved progressive with its own tables, sampling and metadata (as a web tool would)."""
    with Image.open(path) as im:
        buf = io.BytesIO()
        extra = {k: im.info[k] for k in ("exif", "icc_profile", "comment", "xmp") if im.info.get(k)}
        im.save(buf, "JPEG", quality="keep", subsampling="keep", progressive=True, optimize=True, **extra)
    return buf.getvalue()


def is_progressive(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as im:
        return bool(im.info.get("progressive"))


def mcu_ring(mask: np.ndarray, data: bytes) -> np.ndarray:
    """The fill's MCUs plus the one-pixel ring where chroma upsampling may reach (upright photos)."""
    with Image.open(io.BytesIO(data)) as im:
        mcu = {0: (8, 8), 1: (8, 16), 2: (16, 16)}.get(JpegImagePlugin.get_sampling(im), (16, 16))
    h, w = mask.shape
    rows, cols = -(-h // mcu[0]), -(-w // mcu[1])
    padded = np.zeros((rows * mcu[0], cols * mcu[1]), bool)
    padded[:h, :w] = mask
    grid = padded.reshape(rows, mcu[0], cols, mcu[1]).any(axis=(1, 3))
    pixels = np.kron(grid, np.ones(mcu, bool))[:h, :w]
    return cv2.dilate(pixels.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def measure(label: str, src: LoadedImage, mask: np.ndarray, tmp: Path) -> None:
    rgb = src.rgb.copy()
    rgb[mask] = cv2.blur(src.rgb, (31, 31))[mask]
    ring = mcu_ring(mask, src.source_bytes)
    sampling = _SAMPLING.get(JpegImagePlugin.get_sampling(Image.open(io.BytesIO(src.source_bytes))), "?")
    kind = ("prog " if is_progressive(src.source_bytes) else "base ") + sampling
    for lossless in (True, False):
        dest = tmp / f"{label}-{lossless}.jpg"
        dest.unlink(missing_ok=True)
        t0 = time.perf_counter()
        report = export_image(dest, rgb, src, ExportOptions(lossless_jpeg=lossless), mask)
        save_s = time.perf_counter() - t0
        out = load_image(dest)
        diff = np.abs(out.rgb.astype(np.int16) - src.rgb).max(axis=2)
        exact = (diff == 0)[~mask].mean() * 100
        size = report.bytes_written / len(src.source_bytes) * 100
        with Image.open(dest) as im:
            out_sampling = _SAMPLING.get(JpegImagePlugin.get_sampling(im), "?")
        print(
            f"{label:34} {src.width * src.height / 1e6:5.1f} {kind:10} {report.method:22} {save_s:7.2f} "
            f"{size:7.1f} {exact:8.2f} {int(diff[~mask].max()):8d} {int(diff[~ring].max()):9d} {out_sampling:>6}"
        )


def main(names: list[str]) -> None:
    images = sorted((BENCH / "images").glob("*.jpg"))
    if names:
        images = [p for p in images if p.stem in names]
    print(
        f"{'photo':34} {'MP':>5} {'original':10} {'method':22} {'save s':>7} {'size %':>7} {'exact %':>8} "
        f"{'max diff':>8} {'max>ring':>9} {'chroma':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for path in images:
            mask_path = BENCH / "masks" / f"{path.stem}__object.png"
            if not mask_path.exists():
                continue
            src = load_image(path)
            mask = np.asarray(Image.open(mask_path)) > 0
            measure(path.stem, src, mask, Path(tmp))
            if not is_progressive(src.source_bytes):
                prog = load_image_bytes(progressive_copy(path), f"{path.stem}-progressive.jpg")
                measure(f"{path.stem} (progressive copy)", prog, mask, Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
