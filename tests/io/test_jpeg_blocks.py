"""Block-wise JPEG re-save: untouched MCUs keep the original's data, only edited MCUs are re-compressed."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import jpeglib
import numpy as np
import pytest
from PIL import Image

from lamapaint.io import jpeg_blocks
from lamapaint.io.export import ExportOptions, ExportReport, export_image
from lamapaint.io.images import LoadedImage, load_image, load_image_bytes
from tests.io.metadata import (
    XMP_PACKET,
    adobe_app14,
    app_and_com_segments,
    exif_with_orientation,
    exif_with_thumbnail,
    insert_after_soi,
    photoshop_app13,
    segment,
    srgb_icc,
)
from tests.shared_data import BENCH, require_shared

SUBSAMPLING_FACTORS = {0: (1, 1), 1: (2, 1), 2: (2, 2)}  # Pillow's subsampling -> luma (h, v)
XMP = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"


def photo(h: int = 203, w: int = 261, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus fine texture, sizes not a multiple of 16 so edge MCUs are partial."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / w * 220 + 20, y / h * 200 + 30, (x + y) / (w + h) * 180 + 40], axis=-1)
    texture = cv2.GaussianBlur(rng.normal(0, 25, (h, w, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip(base + texture, 0, 255).astype(np.uint8)


def make_jpeg(arr: np.ndarray, subsampling: int = 2, quality: int | None = 88, **kw: object) -> bytes:
    """Pillow JPEG; quality None means "use the given qtables"."""
    buf = io.BytesIO()
    if quality is not None:
        kw["quality"] = quality
    Image.fromarray(arr).save(buf, "JPEG", subsampling=subsampling, **kw)
    return buf.getvalue()


def with_xmp(jpeg: bytes) -> bytes:
    """Insert an APP1 XMP segment right after SOI (Pillow cannot write one into a JPEG)."""
    return jpeg[:2] + jpeg_blocks.make_segment(0xE1, XMP).raw + jpeg[2:]


def original(tmp_path: Path, data: bytes) -> LoadedImage:
    path = tmp_path / "original.jpg"
    path.write_bytes(data)
    return load_image(path)


def paint(loaded: LoadedImage, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Fill a round blob inside box (y0, y1, x0, x1) with new content; return (rgb, touched)."""
    y0, y1, x0, x1 = box
    rgb = loaded.rgb.copy()
    touched = np.zeros(rgb.shape[:2], np.uint8)
    cv2.ellipse(touched, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, 1, -1)
    touched = touched.astype(bool)
    rng = np.random.default_rng(9)
    fill = cv2.GaussianBlur(rng.integers(60, 200, rgb.shape).astype(np.uint8), (0, 0), 2)
    rgb[touched] = fill[touched]
    return rgb, touched


def mcu_pixels(touched: np.ndarray, factors: tuple[int, int]) -> np.ndarray:
    """Pixel map of the MCUs that hold at least one touched pixel."""
    mh, mw = 8 * factors[1], 8 * factors[0]
    h, w = touched.shape
    grid = jpeg_blocks._mcu_grid(touched, mh, mw)
    return np.kron(grid, np.ones((mh, mw), bool))[:h, :w]


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def export(tmp_path: Path, rgb: np.ndarray, src: LoadedImage, touched: np.ndarray | None, **opts: object) -> tuple[ExportReport, bytes]:
    dest = tmp_path / "edited.jpg"
    dest.unlink(missing_ok=True)
    report = export_image(dest, rgb, src, ExportOptions(**opts), touched)
    return report, dest.read_bytes()


def dct_planes(data: bytes, tmp_path: Path) -> list[np.ndarray]:
    path = tmp_path / "dct.jpg"
    path.write_bytes(data)
    d = jpeglib.read_dct(str(path))
    return [np.array(d.Y), np.array(d.Cb), np.array(d.Cr)]


# --- the promise: untouched MCUs decode exactly as before --------------------------------------


@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_untouched_mcus_are_the_originals(tmp_path: Path, subsampling: int) -> None:
    src = original(tmp_path, make_jpeg(photo(), subsampling))
    rgb, touched = paint(src, (60, 110, 90, 170))
    report, data = export(tmp_path, rgb, src, touched)
    assert report.method == "lossless-jpeg-blocks", report.notes

    factors = SUBSAMPLING_FACTORS[subsampling]
    inside = mcu_pixels(touched, factors)
    out = decode(data)
    changed = (out != src.rgb).any(axis=2)
    if subsampling == 0:
        assert not changed[~inside].any()  # bit-identical outside the re-encoded MCUs
    else:
        # Decoders interpolate subsampled chroma across MCU borders ("fancy upsampling"), so the
        # one-pixel ring around a re-encoded MCU may move slightly; beyond it, bit-identical.
        ring = cv2.dilate(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert not changed[~ring].any()
        assert np.abs(out.astype(int) - src.rgb)[ring & ~inside].max() <= 16

    # Decoder-independent: the coefficients of every block outside the touched MCUs are the file's.
    for c, (before, after) in enumerate(zip(dct_planes(src.source_bytes, tmp_path), dct_planes(data, tmp_path))):
        h, v = factors if c == 0 else (1, 1)
        grid = jpeg_blocks._mcu_grid(touched, 8 * factors[1], 8 * factors[0])
        blocks = np.repeat(np.repeat(grid, v, axis=0), h, axis=1)[: before.shape[0], : before.shape[1]]
        np.testing.assert_array_equal(after[~blocks], before[~blocks])
        assert not np.array_equal(after[blocks], before[blocks])


@pytest.mark.parametrize("subsampling", [0, 2])
def test_edited_mcus_are_within_normal_jpeg_error(tmp_path: Path, subsampling: int) -> None:
    src = original(tmp_path, make_jpeg(photo(), subsampling))
    rgb, touched = paint(src, (40, 150, 30, 120))
    _, data = export(tmp_path, rgb, src, touched)
    err = np.abs(decode(data).astype(int) - rgb)[touched].mean()
    # The same picture saved whole with the original's tables and sampling sets the bar.
    qtables = [np.asarray(t).tolist() for t in Image.open(io.BytesIO(src.source_bytes)).quantization.values()]
    whole = decode(make_jpeg(rgb, subsampling, quality=None, qtables=qtables))
    reference = np.abs(whole.astype(int) - rgb)[touched].mean()
    assert err <= reference * 1.1 + 0.25


def test_edits_at_the_partial_edge_mcus(tmp_path: Path) -> None:
    src = original(tmp_path, make_jpeg(photo(), 2))
    rgb, touched = paint(src, (180, 203, 230, 261))  # bottom-right corner, partial MCU row and column
    report, data = export(tmp_path, rgb, src, touched)
    assert report.method == "lossless-jpeg-blocks"
    out = decode(data)
    ring = cv2.dilate(mcu_pixels(touched, (2, 2)).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert not (out != src.rgb).any(axis=2)[~ring].any()
    assert np.abs(out.astype(int) - rgb)[touched].mean() < 4


def test_several_separate_edits(tmp_path: Path) -> None:
    src = original(tmp_path, make_jpeg(photo(), 0))
    rgb1, t1 = paint(src, (10, 30, 10, 40))
    src_copy = load_image_bytes(src.source_bytes)
    rgb2, t2 = paint(src_copy, (150, 190, 200, 250))
    rgb = np.where(t2[:, :, None], rgb2, rgb1)
    touched = t1 | t2
    report, data = export(tmp_path, rgb, src, touched)
    assert not (decode(data) != src.rgb).any(axis=2)[~mcu_pixels(touched, (1, 1))].any()
    note = next(n for n in report.notes if "MCUs" in n)
    assert f"{int(jpeg_blocks._mcu_grid(touched, 8, 8).sum())} of" in note


# --- size --------------------------------------------------------------------------------------


def test_unedited_save_is_the_original_picture_at_the_original_size(tmp_path: Path) -> None:
    src = original(tmp_path, make_jpeg(photo(), 2))
    report, data = export(tmp_path, src.rgb, src, None)
    assert report.method == "lossless-jpeg-blocks"
    assert report.summary.endswith("(block-wise save); no metadata to keep")  # Pillow's JFIF header only
    np.testing.assert_array_equal(decode(data), src.rgb)
    assert len(data) <= 1.03 * len(src.source_bytes)  # no bloat (optimised Huffman tables may even shrink it)


def test_size_is_the_original_plus_the_changed_blocks(tmp_path: Path) -> None:
    data_in = make_jpeg(photo(), 2, quality=92)
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 100, 60, 120))
    _, data = export(tmp_path, rgb, src, touched)
    # The changed blocks cost about what they cost encoded on their own.
    ys, xs = np.nonzero(mcu_pixels(touched, (2, 2)))
    region = make_jpeg(np.ascontiguousarray(rgb[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]), 2, quality=92)
    assert len(data) <= 1.03 * len(data_in) + len(region)
    # and far less than re-compressing the whole photo at the usual export quality.
    _, whole = export(tmp_path, rgb, src, touched, lossless_jpeg=False)
    assert len(data) < len(whole)


# --- metadata ----------------------------------------------------------------------------------


def test_metadata_survives_the_block_save(tmp_path: Path) -> None:
    data_in = with_xmp(make_jpeg(photo(), 2, exif=exif_with_orientation(1), icc_profile=srgb_icc(), comment=b"hello"))
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 100, 60, 120))
    _, data = export(tmp_path, rgb, src, touched)
    im = Image.open(io.BytesIO(data))
    assert im.info["icc_profile"] == srgb_icc()
    assert im.info.get("comment") == b"hello"
    assert im.getexif()[0x010F] == "TestCam" and im.getexif().get(0x0112, 1) == 1
    assert XMP in data
    markers = [s.marker for s in jpeg_blocks.parse_layout(data).segments if 0xE0 <= s.marker <= 0xEF]
    assert markers.count(0xE0) == 1  # one JFIF header, not the encoder's plus the original's


def test_keep_metadata_false_keeps_only_the_colour_profile(tmp_path: Path) -> None:
    src = original(tmp_path, with_xmp(make_jpeg(photo(), 2, exif=exif_with_orientation(1), icc_profile=srgb_icc(), comment=b"hi")))
    rgb, touched = paint(src, (60, 100, 60, 120))
    report, data = export(tmp_path, rgb, src, touched, keep_metadata=False)
    assert report.method == "lossless-jpeg-blocks"
    im = Image.open(io.BytesIO(data))
    assert im.info["icc_profile"] == srgb_icc()
    assert "comment" not in im.info and len(im.getexif()) == 0 and XMP not in data


# --- fallbacks ---------------------------------------------------------------------------------


def _fallback(tmp_path: Path, data_in: bytes, **opts: object) -> ExportReport:
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 100, 60, 120))
    report, data = export(tmp_path, rgb, src, touched, **opts)
    assert report.method == "re-encode"
    assert np.abs(decode(data).astype(int) - rgb).mean() < 4
    return report


def test_greyscale_and_cmyk_jpegs_fall_back(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(photo()).convert("L").save(buf, "JPEG")
    assert any("greyscale" in n for n in _fallback(tmp_path, buf.getvalue()).notes)
    buf = io.BytesIO()
    Image.fromarray(photo()).convert("CMYK").save(buf, "JPEG", quality=95)
    src = original(tmp_path, buf.getvalue())
    report, _ = export(tmp_path, src.rgb, src, None)
    assert report.method == "re-encode" and any("CMYK" in n for n in report.notes)


def test_turned_off_means_plain_reencode_without_complaint(tmp_path: Path) -> None:
    report = _fallback(tmp_path, make_jpeg(photo(), 2), lossless_jpeg=False)
    assert not any("re-encoded at quality" in n for n in report.notes)


def test_unsupported_layouts_are_named() -> None:
    layout = jpeg_blocks.parse_layout(make_jpeg(photo(16, 16), 2))
    assert jpeg_blocks.unsupported_reason(layout) is None
    assert jpeg_blocks.unsupported_reason(jpeg_blocks.parse_layout(make_jpeg(photo(16, 16), 1, progressive=True))) is None
    cases = {
        "arithmetic": dict(sof_marker=0xC9),
        "12-bit": dict(precision=12),
        "unusual chroma sampling": dict(components=(
            jpeg_blocks.Component(1, 1, 2, 0), jpeg_blocks.Component(2, 1, 1, 1), jpeg_blocks.Component(3, 1, 1, 1))),
        "RGB": dict(components=(
            jpeg_blocks.Component(82, 1, 1, 0), jpeg_blocks.Component(71, 1, 1, 0), jpeg_blocks.Component(66, 1, 1, 0))),
    }
    for words, change in cases.items():
        altered = jpeg_blocks.JpegLayout(**{**layout.__dict__, **change})
        assert words in (jpeg_blocks.unsupported_reason(altered) or "")


def test_parse_layout_rejects_non_jpeg_and_truncated_headers() -> None:
    with pytest.raises(ValueError, match="not a JPEG"):
        jpeg_blocks.parse_layout(b"\x89PNG\r\n")
    data = make_jpeg(photo(16, 16))
    with pytest.raises(ValueError):
        jpeg_blocks.parse_layout(data[:30])


# --- real photos -------------------------------------------------------------------------------


@pytest.mark.parametrize("name,factors", [("sklearn-china", (1, 1)), ("kde-eveningglow", (2, 2))])
def test_bench_photo_with_a_bench_mask(tmp_path: Path, name: str, factors: tuple[int, int]) -> None:
    src = load_image(require_shared(BENCH / "images" / f"{name}.jpg"))
    mask = np.asarray(Image.open(require_shared(BENCH / "masks" / f"{name}__object.png"))) > 0
    rgb = src.rgb.copy()
    rgb[mask] = cv2.blur(src.rgb, (31, 31))[mask]  # a stand-in for an inpainted fill
    report, data = export(tmp_path, rgb, src, mask)
    assert report.method == "lossless-jpeg-blocks"
    out = decode(data)
    keep = ~cv2.dilate(mcu_pixels(mask, factors).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    np.testing.assert_array_equal(out[keep], src.rgb[keep])
    assert np.abs(out.astype(int) - rgb)[mask].mean() < 3
    assert len(data) < 1.05 * len(src.source_bytes)


def test_coefficients_read_ahead_give_the_same_file(tmp_path: Path) -> None:
    """The CLI reads the original's coefficients while torch loads; the save must not change."""
    from lamapaint.io.export import read_block_source

    src = original(tmp_path, make_jpeg(photo(), 2))
    rgb, touched = paint(src, (60, 110, 90, 170))
    _report, inline = export(tmp_path, rgb, src, touched)
    ahead = read_block_source(tmp_path / "ahead.jpg", src, ExportOptions())
    assert ahead is not None
    dest = tmp_path / "ahead.jpg"
    report = export_image(dest, rgb, src, ExportOptions(), touched, ahead)
    assert report.method == "lossless-jpeg-blocks" and dest.read_bytes() == inline


def test_no_coefficients_read_ahead_where_no_block_wise_save_is_possible(tmp_path: Path) -> None:
    from lamapaint.io.export import read_block_source

    src = original(tmp_path, make_jpeg(photo(), 2))
    assert read_block_source(tmp_path / "o.jpg", src, ExportOptions(lossless_jpeg=False)) is None
    assert read_block_source(tmp_path / "o.png", src, ExportOptions()) is None  # no JPEG written: nothing to read
    assert read_block_source(tmp_path / "o.png", src, ExportOptions(format="JPEG")) is not None
    png = tmp_path / "p.png"
    Image.fromarray(photo()).save(png)
    assert read_block_source(tmp_path / "o.jpg", load_image(png), ExportOptions()) is None
    cmyk = io.BytesIO()
    Image.fromarray(photo()).convert("CMYK").save(cmyk, "JPEG")
    assert read_block_source(tmp_path / "o.jpg", original(tmp_path, cmyk.getvalue()), ExportOptions()) is None


# --- progressive originals, every APP segment, orientation -------------------------------------

BLOCKWISE_SUMMARY = (
    "Untouched areas kept exactly as in the original (block-wise save); EXIF, XMP, colour profile and comment kept"
)


def full_metadata_jpeg(subsampling: int, progressive: bool = True, orientation: int = 1, arr: np.ndarray | None = None) -> bytes:
    """A JPEG the way cameras and web tools write them: EXIF, ICC, XMP and a comment."""
    return make_jpeg(
        photo() if arr is None else arr, subsampling, progressive=progressive, exif=exif_with_orientation(orientation),
        icc_profile=srgb_icc(), xmp=XMP_PACKET, comment=b"a comment from the camera",
    )


def read_coefficients(data: bytes, tmp_path: Path, name: str) -> jpeglib.DCTJPEG:
    path = tmp_path / name
    path.write_bytes(data)
    d = jpeglib.read_dct(str(path))
    d.load()
    return d


def luma_factors(data: bytes) -> tuple[int, int]:
    y = jpeg_blocks.parse_layout(data).components[0]
    return y.h, y.v


def assert_untouched_blocks_kept(data_in: bytes, data_out: bytes, touched_stored: np.ndarray, tmp_path: Path) -> None:
    """Same sampling and quantisation tables; every block outside the touched MCUs has the same coefficients."""
    before, after = read_coefficients(data_in, tmp_path, "in.jpg"), read_coefficients(data_out, tmp_path, "out.jpg")
    np.testing.assert_array_equal(after.samp_factor, before.samp_factor)
    for c in range(3):
        np.testing.assert_array_equal(after.get_component_qt(c), before.get_component_qt(c))
    h, v = luma_factors(data_in)
    grid = jpeg_blocks._mcu_grid(touched_stored, 8 * v, 8 * h)
    assert grid.any() and not grid.all()
    for c, (old, new) in enumerate(zip((before.Y, before.Cb, before.Cr), (after.Y, after.Cb, after.Cr))):
        ch, cv = (h, v) if c == 0 else (1, 1)
        blocks = np.repeat(np.repeat(grid, cv, axis=0), ch, axis=1)[: old.shape[0], : old.shape[1]]
        assert new.shape == old.shape
        np.testing.assert_array_equal(new[~blocks], old[~blocks])


@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_progressive_original_keeps_untouched_blocks_tables_sampling_and_segments(tmp_path: Path, subsampling: int) -> None:
    data_in = full_metadata_jpeg(subsampling)
    assert jpeg_blocks.parse_layout(data_in).sof_marker == 0xC2
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 110, 90, 170))
    report, data = export(tmp_path, rgb, src, touched)
    assert report.method == "lossless-jpeg-blocks" and report.blockwise, report.notes
    assert report.summary == BLOCKWISE_SUMMARY
    assert_untouched_blocks_kept(data_in, data, touched, tmp_path)
    assert luma_factors(data) == SUBSAMPLING_FACTORS[subsampling]  # 4:2:2 stays 4:2:2, 4:4:4 stays
    assert app_and_com_segments(data) == app_and_com_segments(data_in)
    ring = cv2.dilate(mcu_pixels(touched, SUBSAMPLING_FACTORS[subsampling]).astype(np.uint8), np.ones((3, 3), np.uint8))
    assert not (decode(data) != src.rgb).any(axis=2)[~ring.astype(bool)].any()
    assert np.abs(decode(data).astype(int) - rgb)[touched].mean() < 4


@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_whole_reencode_keeps_the_originals_sampling_scan_mode_and_every_segment(tmp_path: Path, subsampling: int) -> None:
    data_in = full_metadata_jpeg(subsampling)
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 110, 90, 170))
    report, data = export(tmp_path, rgb, src, touched, lossless_jpeg=False)
    assert report.method == "re-encode"
    assert luma_factors(data) == SUBSAMPLING_FACTORS[subsampling]
    assert jpeg_blocks.parse_layout(data).sof_marker == 0xC2  # still progressive
    assert app_and_com_segments(data) == app_and_com_segments(data_in)
    assert "EXIF, XMP, colour profile and comment kept" in report.summary
    assert np.abs(decode(data).astype(int) - rgb).mean() < 4


def every_kind_of_segment(data: bytes) -> bytes:
    """Pillow's JFIF, EXIF, ICC, XMP and COM plus hand-built Adobe, IPTC, APP3 and APP15 segments, after the JFIF."""
    jfif = app_and_com_segments(data)[0]
    assert jfif[4:9] == b"JFIF\0"
    extra = [adobe_app14(1), photoshop_app13(), segment(0xE3, b"META\0vendor data"), segment(0xEF, b"vendor\0" + bytes(range(40)))]
    return data[:2] + jfif + b"".join(extra) + data[2 + len(jfif) :]


@pytest.mark.parametrize("lossless_jpeg", [True, False])
@pytest.mark.parametrize("progressive", [True, False])
def test_every_app_segment_survives_byte_for_byte(tmp_path: Path, lossless_jpeg: bool, progressive: bool) -> None:
    data_in = every_kind_of_segment(full_metadata_jpeg(1, progressive))
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 100, 60, 120))
    report, data = export(tmp_path, rgb, src, touched, lossless_jpeg=lossless_jpeg)
    assert report.method == ("lossless-jpeg-blocks" if lossless_jpeg else "re-encode")
    assert app_and_com_segments(data) == app_and_com_segments(data_in)
    assert [s[1] for s in app_and_com_segments(data)].count(0xE0) == 1  # no second JFIF from the encoder
    assert report.kept == ["EXIF", "XMP", "colour profile", "comment", "IPTC", "2 other application segments (APP15, APP3)"]


def test_keep_metadata_false_on_a_progressive_original(tmp_path: Path) -> None:
    data_in = full_metadata_jpeg(1)
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 100, 60, 120))
    for lossless in (True, False):
        report, data = export(tmp_path, rgb, src, touched, keep_metadata=False, lossless_jpeg=lossless)
        markers = [(s[1], s[4:9]) for s in app_and_com_segments(data)]
        assert markers == [(0xE0, b"JFIF\0"), (0xE2, b"ICC_P")], markers
        assert report.kept == ["colour profile"]
        assert report.summary.endswith("; colour profile kept, other metadata left out")


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("progressive", [True, False])
def test_rotated_original_is_saved_block_wise_in_its_stored_orientation(
    tmp_path: Path, orientation: int, progressive: bool
) -> None:
    stored = photo(203, 261)
    data_in = full_metadata_jpeg(1, progressive, orientation, stored)
    src = original(tmp_path, data_in)
    assert src.orientation == orientation and src.rgb.shape[:2] == ((261, 203) if orientation in (6, 8) else (203, 261))
    rgb, touched = paint(src, (20, 70, 30, 110))
    report, data = export(tmp_path, rgb, src, touched)
    assert report.method == "lossless-jpeg-blocks", report.notes
    assert app_and_com_segments(data) == app_and_com_segments(data_in)  # the EXIF orientation stays true
    back = {3: 2, 6: 1, 8: 3}[orientation]  # np.rot90 turns that take the upright picture back to the stored one
    assert_untouched_blocks_kept(data_in, data, np.rot90(touched, back), tmp_path)
    out = load_image(tmp_path / "edited.jpg")
    assert out.orientation == orientation and out.rgb.shape == src.rgb.shape
    ring = cv2.dilate(mcu_pixels(np.rot90(touched, back), (2, 1)).astype(np.uint8), np.ones((3, 3), np.uint8))
    keep = ~np.rot90(ring.astype(bool), -back)
    np.testing.assert_array_equal(out.rgb[keep], src.rgb[keep])
    assert np.abs(out.rgb.astype(int) - rgb)[touched].mean() < 4


def test_rotated_original_reencoded_whole_keeps_its_stored_orientation(tmp_path: Path) -> None:
    data_in = full_metadata_jpeg(1, True, 6, photo(203, 261))
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (20, 70, 30, 110))
    report, data = export(tmp_path, rgb, src, touched, lossless_jpeg=False)
    assert report.method == "re-encode"
    assert app_and_com_segments(data) == app_and_com_segments(data_in)
    assert Image.open(io.BytesIO(data)).size == (261, 203)  # stored as the original was
    out = load_image(tmp_path / "edited.jpg")
    assert out.rgb.shape == src.rgb.shape and np.abs(out.rgb.astype(int) - rgb).mean() < 4


def test_rotated_original_without_metadata_keeps_just_the_orientation(tmp_path: Path) -> None:
    src = original(tmp_path, full_metadata_jpeg(1, True, 6, photo(203, 261)))
    rgb, touched = paint(src, (20, 70, 30, 110))
    report, _ = export(tmp_path, rgb, src, touched, keep_metadata=False)
    out = load_image(tmp_path / "edited.jpg")
    assert out.rgb.shape == src.rgb.shape and out.orientation == 6
    assert np.abs(out.rgb.astype(int) - rgb).mean() < 4
    assert report.kept == ["EXIF orientation", "colour profile"]
    assert Image.open(tmp_path / "edited.jpg").getexif().get(0x010F) is None  # no camera name


# --- copies of the unedited picture never reach the export -------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on the test's minimal MPF segment
@pytest.mark.parametrize("lossless_jpeg", [True, False])
def test_thumbnails_and_previews_of_the_unedited_photo_are_not_written(tmp_path: Path, lossless_jpeg: bool) -> None:
    thumb = make_jpeg(photo(24, 32), 2, quality=60)
    mpf = segment(0xE2, b"MPF\0" + b"MM\0*" + bytes(40))
    data_in = insert_after_soi(
        make_jpeg(photo(), 2, progressive=True), segment(0xE1, exif_with_thumbnail(thumb, 1)), photoshop_app13(True), mpf
    )
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 100, 60, 120))
    report, data = export(tmp_path, rgb, src, touched, lossless_jpeg=lossless_jpeg)
    assert thumb not in data and b"THUMBNAIL-OF-THE-UNEDITED-PHOTO" not in data and b"MPF\0" not in data
    exif = Image.open(io.BytesIO(data)).getexif()
    assert exif[0x010F] == "TestCam" and exif.get(0x0112) == 1
    assert b"Test caption" in data  # IPTC kept
    notes = " ".join(report.notes)
    assert "EXIF thumbnail" in notes and "Photoshop thumbnail" in notes and "MPF" in notes


def test_exif_without_thumbnail_is_byte_equal_and_maker_offsets_survive() -> None:
    from lamapaint.io import jpeg_metadata

    thumb = b"\xff\xd8" + b"T" * 100 + b"\xff\xd9"
    exif = exif_with_thumbnail(thumb, 6)
    seg = jpeg_blocks.make_segment(0xE1, exif)
    notes: list[str] = []
    out = jpeg_metadata._exif_without_thumbnail(seg, notes)
    assert thumb not in out.raw and len(out.raw) < len(seg.raw)
    parsed = Image.Exif()
    parsed.load(out.payload)
    assert parsed[0x010F] == "TestCam" and parsed[0x0112] == 6
    plain = jpeg_blocks.make_segment(0xE1, exif_with_orientation(3))
    assert jpeg_metadata._exif_without_thumbnail(plain, notes) is plain
    damaged = jpeg_blocks.make_segment(0xE1, b"Exif\0\0II*\0\xff\xff\xff\x00")
    assert jpeg_metadata._exif_without_thumbnail(damaged, notes) is damaged


def test_cmyk_original_reencoded_drops_its_cmyk_profile_and_fixes_the_adobe_marker(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(photo()).convert("CMYK").save(buf, "JPEG", quality=95)
    data_in = buf.getvalue()
    src = original(tmp_path, data_in)
    report, data = export(tmp_path, src.rgb, src, None)
    assert report.method == "re-encode" and any("CMYK" in n for n in report.notes)
    adobe = [s for s in app_and_com_segments(data) if s[1] == 0xEE]
    assert all(s[4 + 11] == 1 for s in adobe)  # YCbCr, as written
    assert np.abs(decode(data).astype(int) - src.rgb).mean() < 4


# --- jpeglib that cannot load or fails (a frozen bundle without its libjpeg) -------------------


@pytest.fixture()
def fresh_jpeglib_load(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Forget jpeglib (and its cached load) for one test; the real modules come back afterwards."""
    import sys

    forget = getattr(jpeg_blocks, "_import_jpeglib", None)
    if forget is not None:
        forget.cache_clear()
    for name in [n for n in sys.modules if n == "jpeglib" or n.startswith("jpeglib.")]:
        monkeypatch.delitem(sys.modules, name)
    yield monkeypatch
    if forget is not None:
        forget.cache_clear()


def _frozen_bundle_listdir(real):  # noqa: ANN001, ANN202
    def listdir(path="."):  # noqa: ANN001, ANN202
        if "cjpeglib" in str(path):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path)

    return listdir


@pytest.mark.parametrize("failure", ["missing package", "bundle without cjpeglib", "ctypes cannot load"])
def test_jpeglib_that_cannot_load_means_a_whole_reencode_with_a_note(
    tmp_path: Path, fresh_jpeglib_load: pytest.MonkeyPatch, failure: str
) -> None:
    import ctypes
    import os
    import sys

    data_in = full_metadata_jpeg(1)
    src = original(tmp_path, data_in)
    rgb, touched = paint(src, (60, 100, 60, 120))
    if failure == "missing package":
        fresh_jpeglib_load.setitem(sys.modules, "jpeglib", None)
    elif failure == "bundle without cjpeglib":  # what PyInstaller's bundle did: FileNotFoundError .../jpeglib/cjpeglib
        fresh_jpeglib_load.setattr(os, "listdir", _frozen_bundle_listdir(os.listdir))
    else:
        def cdll(*_a: object, **_k: object) -> None:
            raise OSError("cjpeglib_6b.abi3.so: cannot open shared object file")

        fresh_jpeglib_load.setattr(ctypes, "CDLL", cdll)
    assert "jpeglib" in (jpeg_blocks.blockwise_unavailable() or "")
    from lamapaint.io.export import read_block_source

    assert read_block_source(tmp_path / "o.jpg", src, ExportOptions()) is None
    report, data = export(tmp_path, rgb, src, touched)
    assert report.method == "re-encode" and not report.blockwise
    assert any("jpeglib" in n and "could not be loaded" in n for n in report.notes), report.notes
    assert "block-wise save not possible" in report.summary
    assert luma_factors(data) == (2, 1) and app_and_com_segments(data) == app_and_com_segments(data_in)
    assert np.abs(decode(data).astype(int) - rgb).mean() < 4


def _serve_with_a_failing_reader(conn: object, *args: object) -> None:
    """The block-wise save's child process, with jpeglib's reader failing (runs in the child)."""
    def broken(*_a: object, **_k: object) -> None:
        raise OSError("reading of /tmp/x DCT failed")

    jpeglib.read_dct = broken
    _real_serve(conn, *args)


_real_serve = jpeg_blocks._serve_coefficients


def test_jpeglib_failing_while_reading_means_a_whole_reencode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jpeg_blocks, "_serve_coefficients", _serve_with_a_failing_reader)
    src = original(tmp_path, full_metadata_jpeg(2))
    rgb, touched = paint(src, (60, 100, 60, 120))
    report, _ = export(tmp_path, rgb, src, touched)
    assert report.method == "re-encode"
    assert any("could not read the original's coefficients" in n for n in report.notes), report.notes


_BUNDLE_SCRIPT = """
import os, sys
real_listdir = os.listdir
def listdir(path="."):
    if "cjpeglib" in str(path):  # PyInstaller's bundle had no jpeglib/cjpeglib folder
        raise FileNotFoundError(2, "No such file or directory", str(path))
    return real_listdir(path)
os.listdir = listdir
from lamapaint.io.export import ExportOptions, export_image
from lamapaint.io.images import load_image
src = load_image(sys.argv[1])
rgb = src.rgb.copy()
rgb[10:40, 10:40] = 128
report = export_image(sys.argv[2], rgb, src, ExportOptions())
print(report.method)
print(report.summary)
"""


def test_a_bundle_without_libjpeg_exports_with_a_note(tmp_path: Path) -> None:
    """The frozen bundle's crash, replayed in a fresh interpreter: jpeglib's folder listing fails."""
    import subprocess
    import sys

    src = tmp_path / "photo.jpg"
    src.write_bytes(full_metadata_jpeg(1))
    run = subprocess.run(
        [sys.executable, "-c", _BUNDLE_SCRIPT, str(src), str(tmp_path / "out.jpg")],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
    )
    assert run.returncode == 0, run.stderr[-2000:]
    method, summary = run.stdout.splitlines()[:2]
    assert method == "re-encode"
    assert "block-wise save not possible: the JPEG coefficient library (jpeglib) could not be loaded" in summary
    assert summary.endswith("EXIF, XMP, colour profile and comment kept")
    assert app_and_com_segments((tmp_path / "out.jpg").read_bytes()) == app_and_com_segments(src.read_bytes())
