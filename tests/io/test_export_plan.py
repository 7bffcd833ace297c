"""The export plan: one decision, made before any work, that the export carries out and reports;
the limits of each format and of the folder, found before the photo is encoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lamapaint.io import tiff_export
from lamapaint.io.export import JPEG_EXIF_MAX, ExportOptions, ExportRefused, export_image, plan_export
from lamapaint.io.formats import PHOTO_SUFFIXES, format_of_suffix, path_for_format
from lamapaint.io.images import LoadedImage, load_image
from tests.io.metadata import XMP_PACKET, exif_with_orientation, srgb_icc
from tests.io.test_export import edit, photo, source_file


def _jpeg(tmp_path: Path) -> LoadedImage:
    return source_file(
        tmp_path, photo(), "JPEG", "original.jpg", quality=90, exif=exif_with_orientation(1), icc_profile=srgb_icc(), xmp=XMP_PACKET,
    )


# --- the report is the plan ---------------------------------------------------------------------


@pytest.mark.parametrize("name,quality", [("out.jpg", 95), ("out.png", 95), ("out.tif", 95), ("out.webp", 80), ("out.webp", 100)])
def test_the_report_is_the_plan(tmp_path: Path, name: str, quality: int) -> None:
    src = _jpeg(tmp_path)
    rgb, touched = edit(src)
    options = ExportOptions(quality=quality)
    plan = plan_export(tmp_path / name, src, options)
    report = export_image(tmp_path / name, rgb, src, options, touched)
    assert report.planned is None  # nothing had to change while writing
    assert (report.plan.text, report.method, report.kept, report.plan.notes) == (plan.text, plan.method, plan.kept, plan.notes)
    assert report.summary == plan.summary
    assert report.lines[: len(plan.lines)] == plan.lines
    # Only what writing alone can tell comes after the plan's words: the MCUs a block-wise save re-compressed.
    assert [line for line in report.lines[len(plan.lines):]] == [f"Note: {n}." for n in report.after]
    assert all("MCUs" in n for n in report.after) and (name == "out.jpg") == bool(report.after)


def test_a_given_plan_is_the_one_carried_out(tmp_path: Path) -> None:
    src = _jpeg(tmp_path)
    rgb, touched = edit(src)
    plan = plan_export(tmp_path / "out.jpg", src, ExportOptions())
    report = export_image(tmp_path / "out.jpg", rgb, src, ExportOptions(), touched, plan=plan)
    assert report.plan is plan and report.blockwise


def test_a_blockwise_save_that_falls_back_says_so_and_reports_the_plan_it_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lamapaint.io import jpeg_blocks

    def broken(*_a: object, **_k: object) -> None:
        raise jpeg_blocks.LosslessUnavailable("simulated libjpeg failure")

    src = _jpeg(tmp_path)
    rgb, touched = edit(src)
    planned = plan_export(tmp_path / "out.jpg", src, ExportOptions())
    assert planned.blockwise and not planned.quality_applies
    monkeypatch.setattr(jpeg_blocks, "merge_blocks", broken)
    report = export_image(tmp_path / "out.jpg", rgb, src, ExportOptions(), touched, plan=planned)
    assert report.planned is planned and report.method == "re-encode"
    assert "block-wise save not possible: simulated libjpeg failure" in report.summary
    assert report.plan.quality_applies


def test_quality_applies_only_where_it_changes_the_file(tmp_path: Path) -> None:
    src = _jpeg(tmp_path)
    applies = {
        (name, lossless): plan_export(tmp_path / name, src, ExportOptions(lossless_jpeg=lossless)).quality_applies
        for name in ("a.jpg", "a.png", "a.tif", "a.webp") for lossless in (True, False)
    }
    assert applies == {
        ("a.jpg", True): False, ("a.jpg", False): True, ("a.png", True): False, ("a.png", False): False,
        ("a.tif", True): False, ("a.tif", False): False, ("a.webp", True): True, ("a.webp", False): True,
    }


# --- one table of formats and suffixes ----------------------------------------------------------


def test_every_jpeg_suffix_stays_what_it_is(tmp_path: Path) -> None:
    for suffix in (".jpg", ".jpeg", ".jpe", ".jfif", ".JFIF"):
        assert format_of_suffix(f"x{suffix}") == "JPEG"
        assert path_for_format(tmp_path / f"x{suffix}", "JPEG") == tmp_path / f"x{suffix}"
        assert suffix.lower() in PHOTO_SUFFIXES
    assert path_for_format(tmp_path / "x.jfif", "PNG") == tmp_path / "x.png"
    assert path_for_format(tmp_path / "x.tiff", "TIFF").name == "x.tiff"
    src = _jpeg(tmp_path)
    rgb, touched = edit(src)
    report = export_image(tmp_path / "x.jfif", rgb, src, ExportOptions(), touched)
    assert report.path.name == "x.jfif" and report.blockwise
    assert load_image(tmp_path / "x.jfif").format == "JPEG"


# --- limits met before any work (issue 17.8) ----------------------------------------------------


@pytest.mark.parametrize(
    "name,size,refused",
    [
        ("pano.webp", (16_384, 2_000), True), ("pano.webp", (2_000, 16_384), True), ("pano.webp", (16_383, 16_383), False),
        ("pano.jpg", (65_536, 1_000), True), ("pano.jpg", (65_500, 1_000), False),
        ("pano.png", (65_536, 1_000), False), ("pano.tif", (100_000, 1_000), False),
    ],
)
def test_the_plan_knows_what_each_format_holds(tmp_path: Path, name: str, size: tuple[int, int], refused: bool) -> None:
    plan = plan_export(tmp_path / name, None, ExportOptions(), size)
    assert (plan.refusal is not None) == refused
    if refused:
        assert f"{size[0]:,} x {size[1]:,}" in plan.summary and "a side" in plan.summary
        assert plan.lines == [plan.refusal + "."] and "PNG or TIFF" in plan.refusal


@pytest.mark.parametrize("name,width", [("pano.webp", 16_384), ("pano.jpg", 65_536)])
def test_a_photo_too_wide_for_the_format_is_refused_before_encoding(tmp_path: Path, name: str, width: int) -> None:
    """One row of pixels is enough to be too wide, and cheap to build (the encoders used to raise)."""
    rgb = np.zeros((1, width, 3), np.uint8)
    with pytest.raises(ExportRefused, match=f"holds at most {16_383 if name.endswith('webp') else 65_500:,} a side"):
        export_image(tmp_path / name, rgb, None, ExportOptions())
    assert list(tmp_path.iterdir()) == []


def test_a_name_too_long_for_the_folder_is_refused_and_a_long_legal_one_is_not(tmp_path: Path) -> None:
    too_long = tmp_path / ("n" * 252 + ".png")  # 256 bytes
    with pytest.raises(ExportRefused, match="256 bytes long and this folder allows at most 255"):
        export_image(too_long, photo(), None, ExportOptions())
    accented = tmp_path / ("é" * 126 + ".png")  # 126 characters, 256 bytes in UTF-8
    assert plan_export(accented, None, ExportOptions()).refusal is not None
    # 255 bytes is legal: the plan lets it through (that its temp name fits is io/atomic.py's to test).
    assert plan_export(tmp_path / ("n" * 251 + ".png"), None, ExportOptions()).refusal is None


def test_exif_too_large_for_a_jpeg_is_left_out_with_a_note(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x9286] = b"ASCII\0\0\0" + b"x" * 70_000  # UserComment: 70 KB, more than one APP1 segment holds
    big = exif.tobytes()
    assert len(big) > JPEG_EXIF_MAX
    src = source_file(tmp_path, photo(), exif=big, icc_profile=srgb_icc())  # a PNG original
    plan = plan_export(tmp_path / "out.jpg", src, ExportOptions())
    assert plan.kept == ["colour profile"] and any("larger than the 64 KB a JPEG holds" in n for n in plan.notes)
    report = export_image(tmp_path / "out.jpg", src.rgb, src, ExportOptions())
    assert report.plan.notes == plan.notes
    with Image.open(tmp_path / "out.jpg") as im:
        assert len(im.getexif()) == 0 and im.info.get("icc_profile") == srgb_icc()
    # A PNG holds it all.
    export_image(tmp_path / "out.png", src.rgb, src, ExportOptions())
    with Image.open(tmp_path / "out.png") as im:
        assert im.getexif()[0x010F] == "TestCam"


# --- BigTIFF ------------------------------------------------------------------------------------


def test_bigtiff_is_chosen_by_the_estimated_size() -> None:
    assert not tiff_export.needs_bigtiff(20_000, 10_000, 3, 2)  # 1.2 GB
    assert not tiff_export.needs_bigtiff(30_000, 20_000, 3, 2)  # 3.6 GB: still under 4 GiB less the margin
    assert tiff_export.needs_bigtiff(30_000, 24_000, 3, 2)  # 4.3 GB
    assert tiff_export.needs_bigtiff(40_000, 15_000, 4, 2)  # 4.8 GB with alpha
    notes: list[str] = []
    choice = tiff_export.choose(tiff_export.LZW, 2, 30_000, 24_000, 3, 2, notes)
    assert choice.bigtiff and any("BigTIFF" in n for n in notes)
    assert not tiff_export.choose(None, None, 4_000, 3_000, 3, 2, []).bigtiff


def test_a_bigtiff_choice_writes_a_bigtiff(tmp_path: Path) -> None:
    import tifffile

    rgb16 = np.arange(4 * 6 * 3, dtype=np.uint16).reshape(4, 6, 3) * 100
    data = tiff_export.write_16bit(rgb16, None, tiff_export.TiffChoice(tiff_export.ADOBE_DEFLATE, False, True), None, tiff_export.TiffTags())
    with tifffile.TiffFile(io_bytes(data)) as tf:
        assert tf.is_bigtiff
        np.testing.assert_array_equal(tf.asarray(), rgb16)


def io_bytes(data: bytes):  # noqa: ANN201
    import io

    return io.BytesIO(data)
