"""Masks as files: grey, colour and alpha masks read alike; the size is checked; PNGs written safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lamapaint.io.atomic import DestinationExistsError
from lamapaint.io.images import ImageLoadError, load_mask
from lamapaint.io.mask_files import read_mask_for, write_mask

HOLE = (slice(2, 5), slice(3, 7))


def _expected(shape: tuple[int, int] = (8, 10)) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    out[HOLE] = 255
    return out


def test_grey_colour_and_alpha_masks_mean_the_same_hole(tmp_path: Path) -> None:
    grey = _expected()
    colour = np.zeros((8, 10, 3), np.uint8)
    colour[HOLE] = (255, 40, 90)
    # Strokes on a transparent layer: one colour everywhere (even white under the transparency).
    white_strokes = np.full((8, 10, 4), 255, np.uint8)
    white_strokes[..., 3] = 0
    white_strokes[HOLE + (slice(3, 4),)] = 200
    black_alpha = np.zeros((8, 10, 2), np.uint8)  # grey + alpha, an alpha-only mask
    black_alpha[HOLE + (slice(1, 2),)] = 255
    for name, arr in (("grey", grey), ("colour", colour), ("strokes", white_strokes), ("alpha", black_alpha)):
        path = tmp_path / f"{name}.png"
        Image.fromarray(arr).save(path)
        np.testing.assert_array_equal(read_mask_for(path, 10, 8), _expected(), err_msg=name)


def test_an_opaque_colour_mask_keeps_its_colour_rule(tmp_path: Path) -> None:
    """Alpha only speaks when the colour does not: a varying colour wins (the CLI's old rule)."""
    rgba = np.zeros((8, 10, 4), np.uint8)
    rgba[HOLE] = (255, 255, 255, 255)
    rgba[0, 0, 3] = 255  # opaque black: kept
    path = tmp_path / "m.png"
    Image.fromarray(rgba).save(path)
    np.testing.assert_array_equal(load_mask(path), _expected())


def test_a_wrong_size_says_both_sizes_and_a_turned_mask_says_so(tmp_path: Path) -> None:
    path = tmp_path / "mask.png"
    Image.fromarray(_expected()).save(path)
    with pytest.raises(ImageLoadError, match=r"^The mask mask.png is 10 × 8 pixels but the photo is 12 × 8; they must be the same size$"):
        read_mask_for(path, 12, 8)
    with pytest.raises(ImageLoadError, match="turned by 90°"):
        read_mask_for(path, 8, 10)


def test_write_mask_is_a_white_on_black_png_and_never_replaces_unasked(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    mask = np.zeros((8, 10), np.uint8)
    mask[HOLE] = 1  # any non-zero value is written white
    write_mask(path, mask)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "L"
        np.testing.assert_array_equal(np.asarray(im), _expected())
    before = path.read_bytes()
    with pytest.raises(DestinationExistsError):
        write_mask(path, np.zeros((8, 10), np.uint8))
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]
    write_mask(path, np.zeros((8, 10), np.uint8), overwrite=True)
    assert not np.asarray(Image.open(path)).any()
