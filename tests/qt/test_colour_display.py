"""What the canvas draws for a photo with a colour profile: its sRGB colours, never its raw numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.qt.main_window import MainWindow
from tests.colour_profiles import srgb_to_profile, wide_gamut_icc
from tests.io.metadata import srgb_icc
from tests.qt.conftest import image_to_viewport

#: Patches of known sRGB colours, left to right, each PATCH pixels wide.
SRGB_PATCHES = [(255, 0, 0), (0, 200, 0), (0, 0, 255), (128, 128, 128), (250, 180, 40)]
PATCH = 64


def _patches(height: int = 128) -> np.ndarray:
    rgb = np.empty((height, PATCH * len(SRGB_PATCHES), 3), np.uint8)
    for i, colour in enumerate(SRGB_PATCHES):
        rgb[:, i * PATCH : (i + 1) * PATCH] = colour
    return rgb


def _open(qtbot, window: MainWindow, path: Path) -> None:  # noqa: ANN001
    window.open_path(path)
    qtbot.waitUntil(lambda: window.document is not None and not window.jobs.busy, timeout=10_000)
    window.view.fit()


def _drawn(window: MainWindow, patch: int = PATCH) -> list[tuple[int, int, int]]:
    """The colour drawn at the middle of each patch, read back from the viewport."""
    frame: QImage = window.view.viewport().grab().toImage()
    doc = window.document
    out = []
    for i in range(len(SRGB_PATCHES)):
        p = image_to_viewport(window, i * patch + patch / 2, doc.height / 2)
        c = frame.pixelColor(p)
        out.append((c.red(), c.green(), c.blue()))
    return out


def _close(drawn: list[tuple[int, int, int]], expected: list[tuple[int, int, int]], levels: int = 2) -> bool:
    return bool(np.abs(np.array(drawn, int) - np.array(expected, int)).max() <= levels)


def test_wide_gamut_photo_layers_and_compare_are_drawn_in_srgb(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    icc = wide_gamut_icc()
    wide = srgb_to_profile(_patches(), icc)
    path = tmp_path / "adobe.png"
    Image.fromarray(wide).save(path, icc_profile=icc)
    _open(qtbot, window, path)
    doc = window.document
    np.testing.assert_array_equal(doc.original, wide)  # the document keeps the file's numbers
    assert _close(_drawn(window), SRGB_PATCHES), _drawn(window)
    assert not _close(_drawn(window), [tuple(int(v) for v in wide[0, i * PATCH + 1]) for i in range(len(SRGB_PATCHES))], 0)

    # A result layer holds numbers in the photo's space too: a wide-gamut green over the red patch.
    green = srgb_to_profile(np.array([[[0, 200, 0]]], np.uint8), icc)[0, 0]
    patch = np.empty((PATCH, PATCH, 3), np.uint8)
    patch[:] = green
    doc.add_layer(Layer.create("Green", Rect(0, 0, PATCH, PATCH), patch, np.full((PATCH, PATCH), 255, np.uint8)))
    qtbot.waitUntil(lambda: len(window.view.layer_items) == 1)
    frame = window.view.viewport().grab().toImage()
    c = frame.pixelColor(image_to_viewport(window, PATCH / 2, PATCH / 2))
    assert _close([(c.red(), c.green(), c.blue())], [(0, 200, 0)])
    window.window_actions.compare.trigger()  # the original again, still in sRGB
    assert _close(_drawn(window), SRGB_PATCHES)
    window.window_actions.compare.trigger()

    # Zoomed in, the full-resolution tiles are converted as they are drawn.
    window.view.set_zoom(4.0)
    window.view.centerOn(PATCH * 1.5, doc.height / 2)
    frame = window.view.viewport().grab().toImage()
    c = frame.pixelColor(image_to_viewport(window, PATCH * 1.5, doc.height / 2))
    assert _close([(c.red(), c.green(), c.blue())], [(0, 200, 0)])

    # Export keeps the file's numbers and its profile.
    out = tmp_path / "adobe-cleaned.png"
    window.files.export_to(out, "PNG")
    qtbot.waitUntil(lambda: out.exists() and not window.jobs.busy, timeout=10_000)
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == icc
        exported = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(exported[:, PATCH:], wide[:, PATCH:])
    assert tuple(exported[5, 5]) == tuple(green)


def test_big_wide_gamut_photo_preview_is_converted(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    icc = wide_gamut_icc()
    small = srgb_to_profile(_patches(48), icc)
    big = np.repeat(np.repeat(small, 25, axis=0), 25, axis=1)  # 8000 x 1200: a subsampled preview
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path, icc_profile=icc, compress_level=1)
    _open(qtbot, window, path)
    item = window.view.image_item
    assert item._factor > 1
    assert set(item.display_copies) == {1, item._factor}
    assert not item.display_copies[1]._converted.any()  # zoomed out: no full-resolution tile converted
    assert _close(_drawn(window, PATCH * 25), SRGB_PATCHES)


def test_srgb_and_profileless_photos_are_drawn_as_their_numbers(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    rgb = _patches()
    for name, extra in (("plain.png", {}), ("srgb.png", {"icc_profile": srgb_icc()})):
        path = tmp_path / name
        Image.fromarray(rgb).save(path, **extra)
        _open(qtbot, window, path)
        assert window.view.display is None
        assert not window.view.image_item.display_copies  # no conversion buffer at all
        assert _drawn(window) == SRGB_PATCHES


def test_a_reopened_project_is_still_drawn_in_srgb(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    icc = wide_gamut_icc()
    path = tmp_path / "adobe.png"
    Image.fromarray(srgb_to_profile(_patches(), icc)).save(path, icc_profile=icc)
    _open(qtbot, window, path)
    project = tmp_path / "adobe.lamapaint"
    window.files.save_to(project)
    qtbot.waitUntil(lambda: project.exists() and not window.jobs.busy, timeout=10_000)
    before = window.document
    window.open_path(project)
    qtbot.waitUntil(lambda: window.document is not before and not window.jobs.busy, timeout=10_000)
    window.view.fit()
    assert window.view.display is not None
    assert _close(_drawn(window), SRGB_PATCHES)
