"""The display transform: a photo's profile to sRGB for drawing, None where raw numbers are right."""

from __future__ import annotations

import numpy as np

from lamapaint.io.colour import display_transform
from tests.colour_profiles import ADOBE_RGB_COLORANTS, ADOBE_RGB_GAMMA, lut_icc, matrix_shaper_icc, srgb_to_profile, wide_gamut_icc
from tests.io.metadata import srgb_icc

SRGB_COLOURS = np.array([[[255, 0, 0], [0, 200, 0], [0, 0, 255], [128, 128, 128], [250, 180, 40], [0, 0, 0], [255, 255, 255]]], np.uint8)


def test_wide_gamut_numbers_are_shown_as_their_srgb_colours() -> None:
    wide = srgb_to_profile(SRGB_COLOURS, wide_gamut_icc())
    assert abs(int(wide[0, 0, 0]) - 218) <= 2  # the dull red the raw numbers would show
    transform = display_transform(wide_gamut_icc())
    assert transform is not None and "Adobe RGB primaries" in transform.description
    before = wide.copy()
    shown = transform.apply(wide)
    np.testing.assert_array_equal(wide, before)  # the photo's own numbers are never touched
    assert shown.shape == wide.shape and shown.dtype == np.uint8
    assert np.abs(shown.astype(int) - SRGB_COLOURS).max() <= 2


def test_no_transform_where_the_numbers_are_already_srgb() -> None:
    assert display_transform(None) is None
    assert display_transform(b"") is None
    assert display_transform(srgb_icc()) is None
    # An sRGB-like profile written by someone else (same primaries, gamma 2.2): close enough to
    # sRGB in the middle, but not within one level everywhere: it is converted.
    srgb_d50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
    assert display_transform(matrix_shaper_icc("gamma 2.2", srgb_d50, 2.2)) is not None


def test_an_unreadable_profile_is_shown_unmanaged_not_an_error() -> None:
    assert display_transform(b"not a profile at all" * 10) is None
    assert display_transform(wide_gamut_icc()[:100]) is None


def test_a_lut_based_profile_is_converted_like_its_matrix_twin() -> None:
    """A table profile (A2B0) describing the same colours as the matrix-shaper one shows them alike."""
    lut = lut_icc("Wide gamut as a table", ADOBE_RGB_COLORANTS, ADOBE_RGB_GAMMA)
    transform = display_transform(lut)
    assert transform is not None
    shown = transform.apply(srgb_to_profile(SRGB_COLOURS, wide_gamut_icc()))
    # LittleCMS samples a table profile's 8-bit transform into its own grid: a few levels off in
    # saturated colours (measured 4), where a matrix-shaper profile is exact.
    assert np.abs(shown.astype(int) - SRGB_COLOURS).max() <= 5
