"""Export: formats, safe destinations, untouched pixels, metadata, alpha and 16-bit round trips."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from lamapaint.io.export import (
    ExportDestinationExists,
    ExportError,
    ExportOptions,
    export_image,
    format_for,
    plan_export,
)
from lamapaint.io.images import LoadedImage, load_image, load_image_bytes
from tests.io.metadata import exif_with_orientation, srgb_icc


def photo(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x * 7 + y * 3) % 256], axis=-1)
    return np.clip(img + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)


def source_file(tmp_path: Path, arr: np.ndarray, fmt: str = "PNG", name: str = "original.png", **kw: object) -> LoadedImage:
    path = tmp_path / name
    Image.fromarray(arr).save(path, fmt, **kw)
    return load_image(path)


def edit(loaded: LoadedImage) -> tuple[np.ndarray, np.ndarray]:
    """A patch painted over the middle, as an inpainting layer would; returns (rgb, touched)."""
    rgb = loaded.rgb.copy()
    touched = np.zeros(rgb.shape[:2], bool)
    touched[10:25, 12:30] = True
    rgb[touched] = [200, 40, 90]
    return rgb, touched


def exif_of(path: Path) -> Image.Exif:
    with Image.open(path) as im:
        return im.getexif()


# --- names and destinations ------------------------------------------------------------------


def test_format_from_suffix_or_option() -> None:
    assert format_for("a.JPG") == "JPEG"
    assert format_for("a.jpeg") == "JPEG"
    assert format_for("a.tif") == "TIFF"
    assert format_for("a.webp") == "WEBP"
    assert format_for("a.bin", "png") == "PNG"
    assert format_for("a.png", "tif") == "TIFF"
    with pytest.raises(ExportError, match="use a .jpg"):
        format_for("a.gif")
    with pytest.raises(ExportError, match="Cannot export as bmp"):
        format_for("a.png", "bmp")


def test_existing_destination_is_refused_unless_asked(tmp_path: Path) -> None:
    src = source_file(tmp_path, photo())
    dest = tmp_path / "out.png"
    dest.write_bytes(b"keep me")
    with pytest.raises(ExportDestinationExists, match="already exists"):
        export_image(dest, src.rgb, src, ExportOptions())
    assert dest.read_bytes() == b"keep me"
    export_image(dest, src.rgb, src, ExportOptions(overwrite=True))
    np.testing.assert_array_equal(load_image(dest).rgb, src.rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["original.png", "out.png"]  # no temp files


def test_original_is_never_overwritten_by_accident(tmp_path: Path) -> None:
    src = source_file(tmp_path, photo())
    before = src.path.read_bytes()
    rgb, touched = edit(src)
    with pytest.raises(ExportDestinationExists, match="original photo"):
        export_image(src.path, rgb, src, ExportOptions(), touched)
    assert src.path.read_bytes() == before
    report = export_image(src.path, rgb, src, ExportOptions(overwrite=True), touched)
    assert report.path == src.path
    np.testing.assert_array_equal(load_image(src.path).rgb, rgb)


def test_bad_input_fails_before_anything_is_written(tmp_path: Path) -> None:
    src = source_file(tmp_path, photo())
    with pytest.raises(ExportError, match="Quality"):
        export_image(tmp_path / "q.jpg", src.rgb, src, ExportOptions(quality=0))
    with pytest.raises(ExportError, match="original is"):
        export_image(tmp_path / "s.png", src.rgb[:-1], src, ExportOptions())
    with pytest.raises(ExportError, match="touched map"):
        export_image(tmp_path / "t.png", src.rgb, src, ExportOptions(), np.zeros((3, 3), bool))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["original.png"]


def test_unwritable_destination_gives_export_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(ExportError, match="Could not write"):
        export_image(blocker / "out.png", photo(), None, ExportOptions())


# --- pixels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name,quality", [("out.png", 95), ("out.tif", 95), ("out.webp", 100)])
def test_lossless_formats_keep_untouched_pixels_bit_identical(tmp_path: Path, name: str, quality: int) -> None:
    src = source_file(tmp_path, photo(), "JPEG", "original.jpg", quality=80)  # decoded JPEG pixels
    rgb, touched = edit(src)
    report = export_image(tmp_path / name, rgb, src, ExportOptions(quality=quality), touched)
    assert report.method == "lossless" and report.bit_depth == 8
    out = load_image(tmp_path / name).rgb
    np.testing.assert_array_equal(out[~touched], src.rgb[~touched])
    np.testing.assert_array_equal(out[touched], rgb[touched])


def test_lossy_webp_and_jpeg_reencode(tmp_path: Path) -> None:
    src = source_file(tmp_path, photo())
    rgb, touched = edit(src)
    for name in ("lossy.webp", "out.jpg"):
        report = export_image(tmp_path / name, rgb, src, ExportOptions(quality=90), touched)
        assert report.method == "re-encode"
        out = load_image(tmp_path / name).rgb
        assert np.abs(out.astype(int) - rgb).mean() < 10  # the same picture, within lossy error
    assert report.notes == []  # a PNG original is simply re-encoded, nothing to explain


def test_jpeg_chroma_subsampling_option(tmp_path: Path) -> None:
    src = source_file(tmp_path, photo())
    export_image(tmp_path / "a.jpg", src.rgb, src, ExportOptions())
    export_image(tmp_path / "b.jpg", src.rgb, src, ExportOptions(subsampling_444=True))
    assert JpegImagePlugin.get_sampling(Image.open(tmp_path / "a.jpg")) == 2
    assert JpegImagePlugin.get_sampling(Image.open(tmp_path / "b.jpg")) == 0


def test_export_without_a_source(tmp_path: Path) -> None:
    arr = photo()
    report = export_image(tmp_path / "new.png", arr, None, ExportOptions())
    assert report.format == "PNG"
    np.testing.assert_array_equal(load_image(tmp_path / "new.png").rgb, arr)


# --- metadata --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.jpg", "out.png", "out.webp", "out.tif"])
def test_metadata_is_kept_and_orientation_reset(tmp_path: Path, name: str) -> None:
    arr = photo()
    src = source_file(tmp_path, arr, exif=exif_with_orientation(6), icc_profile=srgb_icc())
    assert src.orientation == 6 and src.rgb.shape == (56, 40, 3)
    export_image(tmp_path / name, src.rgb, src, ExportOptions())
    out = load_image(tmp_path / name)
    assert out.rgb.shape == (56, 40, 3)  # written upright, not rotated a second time
    assert out.icc_profile == srgb_icc()
    tags = exif_of(tmp_path / name)
    assert tags.get(0x0112, 1) == 1
    assert tags[0x010F] == "TestCam"


def test_keep_metadata_false_drops_exif_but_keeps_colour_profile(tmp_path: Path) -> None:
    src = source_file(tmp_path, photo(), exif=exif_with_orientation(), icc_profile=srgb_icc())
    for name in ("out.jpg", "out.png"):
        export_image(tmp_path / name, src.rgb, src, ExportOptions(keep_metadata=False))
        assert len(exif_of(tmp_path / name)) == 0
        assert load_image(tmp_path / name).icc_profile == srgb_icc()


# --- alpha and 16-bit ------------------------------------------------------------------------


def test_alpha_is_restored(tmp_path: Path) -> None:
    arr = photo()
    alpha = np.tile(np.arange(56, dtype=np.uint8) * 4, (40, 1))
    src = source_file(tmp_path, np.dstack([arr, alpha]))
    rgb, touched = edit(src)
    for name in ("out.png", "out.tif", "out.webp"):
        export_image(tmp_path / name, rgb, src, ExportOptions(quality=100), touched)
        out = load_image(tmp_path / name)
        np.testing.assert_array_equal(out.alpha, alpha)
        np.testing.assert_array_equal(out.rgb, rgb)
    report = export_image(tmp_path / "out.jpg", rgb, src, ExportOptions(), touched)
    assert any("alpha" in n for n in report.notes)


def _png16(path: Path, rgb16: np.ndarray, alpha16: np.ndarray | None = None) -> LoadedImage:
    bgr = cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR)
    if alpha16 is not None:
        bgr = np.dstack([bgr, alpha16])
    assert cv2.imwrite(str(path), bgr)
    return load_image(path)


def _read16(path: Path) -> np.ndarray:
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert arr.dtype == np.uint16
    return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("name", ["out.png", "out.tif"])
def test_16bit_export_keeps_untouched_samples_exactly(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(5)
    rgb16 = rng.integers(0, 65536, (40, 56, 3), dtype=np.uint16)
    alpha16 = rng.integers(0, 65536, (40, 56), dtype=np.uint16)
    src = _png16(tmp_path / "original.png", rgb16, alpha16)
    rgb, touched = edit(src)
    report = export_image(tmp_path / name, rgb, src, ExportOptions(), touched)
    assert report.bit_depth == 16
    out = _read16(tmp_path / name)
    np.testing.assert_array_equal(out[:, :, :3][~touched], rgb16[~touched])
    np.testing.assert_array_equal(out[:, :, :3][touched], rgb[touched].astype(np.uint16) * 257)
    np.testing.assert_array_equal(out[:, :, 3], alpha16)


def test_pixels_that_differ_count_as_touched_even_if_not_marked(tmp_path: Path) -> None:
    rgb16 = np.full((8, 8, 3), 1000, np.uint16)
    src = _png16(tmp_path / "original.png", rgb16)
    rgb = src.rgb.copy()
    rgb[2, 3] = [255, 0, 0]
    export_image(tmp_path / "out.png", rgb, src, ExportOptions(), np.zeros((8, 8), bool))
    out = _read16(tmp_path / "out.png")
    assert out[2, 3].tolist() == [65535, 0, 0]
    assert (out[0, 0] == 1000).all()


def test_16bit_png_keeps_icc_and_exif(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    src = _png16(tmp_path / "original.png", rng.integers(0, 65536, (8, 8, 3), dtype=np.uint16))
    src.icc_profile, src.exif = srgb_icc(), exif_with_orientation(1)
    export_image(tmp_path / "out.png", src.rgb, src, ExportOptions())
    out = load_image(tmp_path / "out.png")
    assert out.high_bit is not None and out.icc_profile == srgb_icc()
    assert exif_of(tmp_path / "out.png")[0x010F] == "TestCam"


def test_16bit_to_8bit_formats_is_noted(tmp_path: Path) -> None:
    src = _png16(tmp_path / "original.png", np.full((8, 8, 3), 40000, np.uint16))
    for name in ("out.jpg", "out.webp"):
        report = export_image(tmp_path / name, src.rgb, src, ExportOptions())
        assert report.bit_depth == 8 and any("16-bit" in n for n in report.notes)


def test_source_loaded_from_memory(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(photo()).save(buf, "PNG")
    src = load_image_bytes(buf.getvalue())
    export_image(tmp_path / "out.png", src.rgb, src, ExportOptions())
    np.testing.assert_array_equal(load_image(tmp_path / "out.png").rgb, photo())


# --- the report and the plan, in plain words -------------------------------------------------


def _jpeg_source(tmp_path: Path, **kw: object) -> LoadedImage:
    return source_file(tmp_path, photo(), "JPEG", "original.jpg", quality=90, **kw)


@pytest.mark.parametrize(
    "name,quality,expected",
    [
        ("out.png", 95, "Untouched pixels kept exactly as decoded from the original (lossless PNG); EXIF and colour profile kept"),
        ("out.tif", 95, "Untouched pixels kept exactly as decoded from the original (lossless TIFF); basic EXIF fields and colour profile kept"),
        ("out.webp", 100, "Untouched pixels kept exactly as decoded from the original (lossless WebP); EXIF and colour profile kept"),
        ("out.webp", 80, "Whole photo compressed as WebP at quality 80; EXIF and colour profile kept"),
        ("out.jpg", 95, "Untouched areas kept exactly as in the original (block-wise save); EXIF and colour profile kept"),
    ],
)
def test_report_says_how_pixels_were_written_and_what_was_kept(tmp_path: Path, name: str, quality: int, expected: str) -> None:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0131] = "Editor 1.0"  # a text tag TIFF keeps
    src = _jpeg_source(tmp_path, exif=exif.tobytes(), icc_profile=srgb_icc())
    rgb, touched = edit(src)
    options = ExportOptions(quality=quality)
    report = export_image(tmp_path / name, rgb, src, options, touched)
    assert report.summary == expected
    # The dialog's plan, from the headers only, says the same.
    assert plan_export(tmp_path / name, src, ExportOptions(quality=quality)).summary == expected


def test_plan_and_report_agree_without_an_original_and_for_png_originals(tmp_path: Path) -> None:
    for src in (None, source_file(tmp_path, photo())):
        for name in ("a.jpg", "a.png", "a.webp"):
            dest = tmp_path / f"{'none' if src is None else 'png'}-{name}"
            report = export_image(dest, photo(), src, ExportOptions(quality=90))
            assert plan_export(dest, src, ExportOptions(quality=90)).summary == report.summary
    assert report.summary.startswith("Whole photo compressed as WebP at quality 90")


def test_jpeg_original_to_png_notes_that_xmp_is_not_carried(tmp_path: Path) -> None:
    src = _jpeg_source(tmp_path, xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    report = export_image(tmp_path / "out.png", src.rgb, src, ExportOptions())
    assert any("XMP" in n for n in report.notes)


def test_export_logs_a_stable_line_naming_the_method(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``lamapaint-cli -v`` shows it: the bundle's smoke test looks for method=lossless-jpeg-blocks."""
    src = _jpeg_source(tmp_path)
    rgb, touched = edit(src)
    with caplog.at_level("INFO", logger="lamapaint.io.export"):
        export_image(tmp_path / "out.jpg", rgb, src, ExportOptions(), touched)
    assert any(
        "method=lossless-jpeg-blocks; Untouched areas kept exactly as in the original (block-wise save)" in r.getMessage()
        for r in caplog.records
    )
