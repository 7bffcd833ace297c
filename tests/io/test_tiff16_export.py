"""A 16-bit TIFF from a raw developer comes back as a 16-bit TIFF with its colour profile, camera
tags, resolution and compression, untouched samples exact (issue 19.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from lamapaint.io import tiff_export
from lamapaint.io.export import ExportOptions, export_image, plan_export
from lamapaint.io.images import LoadedImage, load_image
from tests.io.metadata import srgb_icc
from tests.io.test_export import edit

MAKE, MODEL = "TestCam", "Model X 16"


def developer_tiff(path: Path, compression: str = "lzw", predictor: bool = True, alpha: bool = False) -> np.ndarray:
    """What darktable or RawTherapee hands an external editor: 16-bit RGB, ICC, camera tags, 300 dpi."""
    rng = np.random.default_rng(19)
    data = rng.integers(0, 65536, (40, 56, 4 if alpha else 3), dtype=np.uint16)
    tifffile.imwrite(
        path, data, photometric="rgb", compression=compression, predictor=predictor or None, iccprofile=srgb_icc(),
        resolution=((300, 1), (300, 1)), resolutionunit=2, extrasamples=("unassalpha",) if alpha else None,
        extratags=[(271, "s", 0, MAKE, True), (272, "s", 0, MODEL, True)], metadata=None, software=False,
    )
    return data


def tags_of(path: Path) -> dict[str, object]:
    with tifffile.TiffFile(path) as tf:
        page = tf.pages[0]
        tags = page.tags
        return {
            "compression": int(page.compression), "predictor": int(page.predictor), "bits": page.bitspersample,
            "icc": tags["InterColorProfile"].value if "InterColorProfile" in tags else None,
            "make": tags["Make"].value if "Make" in tags else None, "model": tags["Model"].value if "Model" in tags else None,
            "x": tags["XResolution"].value, "y": tags["YResolution"].value, "unit": int(tags["ResolutionUnit"].value),
            "data": page.asarray(),
        }


@pytest.mark.parametrize("compression,code", [("lzw", tiff_export.LZW), ("adobe_deflate", tiff_export.ADOBE_DEFLATE)])
def test_a_16bit_tiff_round_trips_with_profile_tags_resolution_and_compression(tmp_path: Path, compression: str, code: int) -> None:
    original = developer_tiff(tmp_path / "developed.tif", compression)
    src = load_image(tmp_path / "developed.tif")
    assert src.high_bit is not None and src.tiff_compression == code and src.tiff_predictor == 2
    rgb, touched = edit(src)
    plan = plan_export(tmp_path / "edited.tif", src, ExportOptions())
    assert plan.summary == (
        "Untouched pixels kept exactly as decoded from the original, at 16 bits (lossless TIFF); "
        "camera EXIF fields, resolution and colour profile kept"
    )
    report = export_image(tmp_path / "edited.tif", rgb, src, ExportOptions(), touched)
    assert report.plan.text == plan.text and report.bit_depth == 16
    out = tags_of(tmp_path / "edited.tif")
    assert out["bits"] == 16 and out["compression"] == code and out["predictor"] == 2
    assert out["icc"] == srgb_icc()
    assert (out["make"], out["model"]) == (MAKE, MODEL)
    assert (out["x"], out["y"], out["unit"]) == ((300, 1), (300, 1), 2)
    data = out["data"]
    np.testing.assert_array_equal(data[~touched], original[~touched])
    np.testing.assert_array_equal(data[touched], rgb[touched].astype(np.uint16) * 257)


def test_alpha_and_an_uncompressed_original(tmp_path: Path) -> None:
    original = developer_tiff(tmp_path / "developed.tif", "none", predictor=False, alpha=True)
    src = load_image(tmp_path / "developed.tif")
    export_image(tmp_path / "edited.tif", src.rgb, src, ExportOptions())
    out = tags_of(tmp_path / "edited.tif")
    assert out["compression"] == tiff_export.NONE and out["icc"] == srgb_icc()
    np.testing.assert_array_equal(out["data"], original)


def test_without_an_lzw_encoder_the_plan_says_deflate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    developer_tiff(tmp_path / "developed.tif", "lzw")
    src = load_image(tmp_path / "developed.tif")
    monkeypatch.setattr(tiff_export, "lzw_unavailable", lambda: "the LZW encoder (imagecodecs) could not be loaded (ImportError)")
    plan = plan_export(tmp_path / "edited.tif", src, ExportOptions())
    assert any("Deflate (lossless) instead of the original's LZW" in n for n in plan.notes)
    export_image(tmp_path / "edited.tif", src.rgb, src, ExportOptions(), plan=plan)
    assert tags_of(tmp_path / "edited.tif")["compression"] == tiff_export.ADOBE_DEFLATE


def test_exposure_and_gps_details_come_back_too(tmp_path: Path) -> None:
    """tifffile writes no EXIF or GPS sub-directory; they are appended and pointed to."""
    developer_tiff(tmp_path / "developed.tif")
    src = load_image(tmp_path / "developed.tif")
    exif = Image.Exif()
    exif.load(src.exif)
    exif.get_ifd(0x8769).update({0x829A: 1 / 250, 0x8827: 400, 0x9003: "2026:12:05 09:00:00", 0xA434: "Lens 35mm"})
    exif.get_ifd(0x8825).update({0x0001: "N", 0x0002: (48.0, 51.0, 30.0)})
    exif[0x8769] = exif[0x8825] = 0
    src.exif = exif.tobytes()
    plan = plan_export(tmp_path / "edited.tif", src, ExportOptions())
    assert plan.kept == ["EXIF", "resolution", "colour profile"] and plan.notes == []
    rgb, touched = edit(src)
    export_image(tmp_path / "edited.tif", rgb, src, ExportOptions(), touched)
    with Image.open(tmp_path / "edited.tif") as im:
        tags = im.getexif()
        assert (tags[0x010F], tags[0x0110]) == (MAKE, MODEL)
        sub, gps = tags.get_ifd(0x8769), tags.get_ifd(0x8825)
    assert float(sub[0x829A]) == 1 / 250 and sub[0x8827] == 400 and sub[0x9003] == "2026:12:05 09:00:00"
    assert sub[0xA434] == "Lens 35mm" and gps[0x0001] == "N" and tuple(float(v) for v in gps[0x0002]) == (48.0, 51.0, 30.0)
    with tifffile.TiffFile(tmp_path / "edited.tif") as tf:  # tifffile reads it as EXIF too, and the pixels still
        assert tf.pages[0].tags["ExifTag"].value["ISOSpeedRatings"] == 400
        np.testing.assert_array_equal(tf.pages[0].asarray()[touched], rgb[touched].astype(np.uint16) * 257)
    again = load_image(tmp_path / "edited.tif")
    assert again.high_bit is not None and again.icc_profile == srgb_icc()


def test_a_bigtiff_carries_its_exif_too(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif.get_ifd(0x8769)[0x8827] = 200
    exif[0x8769] = 0
    tags = tiff_export.tags_from_exif(exif.tobytes())
    rgb16 = np.full((4, 6, 3), 1234, np.uint16)
    data = tiff_export.write_16bit(rgb16, None, tiff_export.TiffChoice(tiff_export.LZW, True, True), srgb_icc(), tags)
    (tmp_path / "big.tif").write_bytes(data)
    with tifffile.TiffFile(tmp_path / "big.tif") as tf:
        page = tf.pages[0]
        assert tf.is_bigtiff and page.tags["Make"].value == MAKE and page.tags["ExifTag"].value["ISOSpeedRatings"] == 200
        np.testing.assert_array_equal(page.asarray(), rgb16)


def test_a_16bit_png_original_to_tiff_keeps_its_profile(tmp_path: Path) -> None:
    import cv2

    rgb16 = np.random.default_rng(3).integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    assert cv2.imwrite(str(tmp_path / "o.png"), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    src: LoadedImage = load_image(tmp_path / "o.png")
    src.icc_profile = srgb_icc()
    export_image(tmp_path / "o.tif", src.rgb, src, ExportOptions())
    out = tags_of(tmp_path / "o.tif")
    assert out["icc"] == srgb_icc() and out["compression"] == tiff_export.ADOBE_DEFLATE
    np.testing.assert_array_equal(out["data"], rgb16)
