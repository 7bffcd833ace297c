"""Export cost and file size: block-wise JPEG re-save against a whole-photo re-encode.

For each bench photo with an "object" mask, the masked pixels are replaced (a blur stands in for
the inpainted fill) and the photo is exported twice: block-wise (lossless outside the fill) and
re-encoded at quality 95. Prints time, size relative to the original, and how many pixels outside
the fill still decode exactly as in the original.

    .venv/bin/python benchmarks/bench_export.py [NAME ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from lamapaint.io.export import ExportOptions, export_image
from lamapaint.io.images import load_image
from tests.shared_data import BENCH


def main(names: list[str]) -> None:
    images = sorted((BENCH / "images").glob("*.jpg"))
    if names:
        images = [p for p in images if p.stem in names]
    print(f"{'photo':26} {'MP':>5} {'load s':>7} {'method':22} {'save s':>7} {'size %':>7} {'exact outside %':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for path in images:
            mask_path = BENCH / "masks" / f"{path.stem}__object.png"
            if not mask_path.exists():
                continue
            t0 = time.perf_counter()
            src = load_image(path)
            load_s = time.perf_counter() - t0
            mask = np.asarray(Image.open(mask_path)) > 0
            rgb = src.rgb.copy()
            rgb[mask] = cv2.blur(src.rgb, (31, 31))[mask]
            for lossless in (True, False):
                dest = Path(tmp) / f"{path.stem}-{lossless}.jpg"
                t0 = time.perf_counter()
                report = export_image(dest, rgb, src, ExportOptions(lossless_jpeg=lossless), mask)
                save_s = time.perf_counter() - t0
                out = np.asarray(Image.open(dest).convert("RGB"))
                exact = (out == src.rgb).all(axis=2)[~mask].mean() * 100
                size = report.bytes_written / len(src.source_bytes) * 100
                print(
                    f"{path.stem:26} {src.width * src.height / 1e6:5.1f} {load_s:7.2f} {report.method:22} "
                    f"{save_s:7.2f} {size:7.1f} {exact:16.2f}"
                )


if __name__ == "__main__":
    main(sys.argv[1:])
