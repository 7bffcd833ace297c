"""Loading photos: formats, orientation, colour modes, 16-bit, metadata and every kind of bad file."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, features

from lamapaint.io import images
from lamapaint.io.images import MAX_PIXELS, ImageLoadError, apply_orientation, load_image, load_image_bytes
from tests.io.metadata import exif_with_orientation, srgb_icc
from tests.shared_data import BENCH, require_shared


def photo(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """A non-symmetric test picture, so every flip and rotation is told apart."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x * 7 + y * 3) % 256], axis=-1)
    img = img + rng.integers(-8, 9, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(arr: np.ndarray, fmt: str, mode: str | None = None, **kw: object) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(arr)
    if mode:
        im = im.convert(mode)
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png16(arr: np.ndarray, exif: bytes | None = None) -> bytes:
    """A 16-bit PNG from an RGB(A) or grey uint16 array, optionally with an eXIf chunk."""
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    ok, enc = cv2.imencode(".png", arr)
    assert ok
    data = enc.tobytes()
    if exif:
        cut = 8 + 12 + struct.unpack(">I", data[8:12])[0]
        data = data[:cut] + png_chunk(b"eXIf", exif[6:]) + data[cut:]
    return data


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP", "WEBP"])
def test_lossless_formats_load_exactly(tmp_path: Path, fmt: str) -> None:
    arr = photo()
    kw = {"lossless": True} if fmt == "WEBP" else {}
    path = tmp_path / f"p.{fmt.lower()}"
    path.write_bytes(encode(arr, fmt, **kw))
    loaded = load_image(path)
    assert loaded.format == fmt
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (48, 64, 3)
    np.testing.assert_array_equal(loaded.rgb, arr)
    assert loaded.alpha is None and loaded.high_bit is None and loaded.orientation == 1
    assert loaded.path == path and loaded.source_bytes == path.read_bytes()


def test_jpeg_loads_like_pillow_decodes_it(tmp_path: Path) -> None:
    data = encode(photo(), "JPEG", quality=90)
    loaded = load_image_bytes(data, "x.jpg")
    assert loaded.format == "JPEG" and loaded.path is None
    np.testing.assert_array_equal(loaded.rgb, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


def test_arrays_are_read_only() -> None:
    loaded = load_image_bytes(encode(photo(), "PNG", mode="RGBA"))
    assert loaded.alpha is not None
    for arr in (loaded.rgb, loaded.alpha):
        with pytest.raises(ValueError):
            arr[0, 0] = 1


def test_content_decides_format_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "actually-a-png.jpg"
    path.write_bytes(encode(photo(), "PNG"))
    loaded = load_image(path)
    assert loaded.format == "PNG"
    np.testing.assert_array_equal(loaded.rgb, photo())


def test_realistic_photo_from_bench() -> None:
    path = require_shared(BENCH / "images" / "sklearn-china.jpg")
    loaded = load_image(path)
    assert loaded.rgb.shape == (427, 640, 3)
    assert loaded.icc_profile is not None and loaded.icc_profile[16:20] == b"RGB "


# --- orientation -----------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(orientation: int) -> None:
    arr = photo()
    alpha = np.arange(48 * 64, dtype=np.uint32).reshape(48, 64).astype(np.uint8)
    data = encode(np.dstack([arr, alpha]), "PNG", exif=exif_with_orientation(orientation))
    loaded = load_image_bytes(data)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    np.testing.assert_array_equal(loaded.rgb, expected[:, :, :3])
    np.testing.assert_array_equal(loaded.alpha, expected[:, :, 3])
    assert loaded.orientation == orientation
    exif = Image.Exif()
    exif.load(loaded.exif)
    assert exif[0x0112] == 1 and exif[0x010F] == "TestCam"


def test_orientation_applies_to_16bit_planes_too() -> None:
    rng = np.random.default_rng(1)
    rgb16 = rng.integers(0, 65536, (6, 10, 3), dtype=np.uint16)
    loaded = load_image_bytes(png16(rgb16, exif=exif_with_orientation(6)))
    assert loaded.orientation == 6
    np.testing.assert_array_equal(loaded.high_bit, np.rot90(rgb16, -1))
    assert loaded.rgb.shape == (10, 6, 3)


def test_bad_orientation_value_is_ignored() -> None:
    loaded = load_image_bytes(encode(photo(), "PNG", exif=exif_with_orientation(42)))
    assert loaded.orientation == 1
    np.testing.assert_array_equal(loaded.rgb, photo())


def test_apply_orientation_keeps_channels_aligned() -> None:
    arr = photo(5, 7)
    for o in range(1, 9):
        both = apply_orientation(arr, o)
        np.testing.assert_array_equal(both[:, :, 0], apply_orientation(arr[:, :, 0], o))


# --- colour modes, alpha, 16-bit -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "1", "P", "CMYK", "I"])
def test_other_modes_become_rgb8(mode: str) -> None:
    fmt = "TIFF" if mode in ("CMYK", "I") else "PNG"
    data = encode(photo(), fmt, mode=mode)
    loaded = load_image_bytes(data)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (48, 64, 3)
    assert loaded.alpha is None
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(loaded.rgb, expected)


def test_cmyk_jpeg_loads_as_rgb() -> None:
    loaded = load_image_bytes(encode(photo(), "JPEG", mode="CMYK", quality=95))
    assert loaded.rgb.shape == (48, 64, 3)
    assert np.abs(loaded.rgb.astype(int) - photo()).mean() < 6


def test_grey_alpha_and_palette_transparency_keep_alpha() -> None:
    arr = photo()
    la = load_image_bytes(encode(np.dstack([arr[:, :, 0], arr[:, :, 1]]), "PNG"))
    np.testing.assert_array_equal(la.alpha, arr[:, :, 1])
    np.testing.assert_array_equal(la.rgb, np.repeat(arr[:, :, :1], 3, axis=2))
    pal = Image.fromarray(arr).convert("P")
    buf = io.BytesIO()
    pal.save(buf, "PNG", transparency=0)
    loaded = load_image_bytes(buf.getvalue())
    assert loaded.alpha is not None and loaded.alpha.dtype == np.uint8
    np.testing.assert_array_equal(loaded.alpha == 0, np.asarray(pal) == 0)


def test_rgba_png_keeps_alpha() -> None:
    arr = photo()
    alpha = (np.arange(64, dtype=np.uint8) * 4)[None, :].repeat(48, axis=0)
    loaded = load_image_bytes(encode(np.dstack([arr, alpha]), "PNG"))
    np.testing.assert_array_equal(loaded.rgb, arr)
    np.testing.assert_array_equal(loaded.alpha, alpha)


def test_16bit_rgb_png_keeps_every_bit() -> None:
    rng = np.random.default_rng(2)
    rgb16 = rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    loaded = load_image_bytes(png16(rgb16))
    assert loaded.high_bit is not None and loaded.high_bit.dtype == np.uint16
    np.testing.assert_array_equal(loaded.high_bit, rgb16)
    np.testing.assert_array_equal(loaded.rgb, np.round(rgb16 / 257).astype(np.uint8))


def test_16bit_rgba_png_keeps_16bit_alpha() -> None:
    rng = np.random.default_rng(3)
    rgba16 = rng.integers(0, 65536, (8, 9, 4), dtype=np.uint16)
    loaded = load_image_bytes(png16(rgba16))
    np.testing.assert_array_equal(loaded.high_bit, rgba16[:, :, :3])
    assert loaded.alpha is not None and loaded.alpha.dtype == np.uint16
    np.testing.assert_array_equal(loaded.alpha, rgba16[:, :, 3])


def test_16bit_grey_png_and_16bit_tiff() -> None:
    rng = np.random.default_rng(4)
    grey = rng.integers(0, 65536, (7, 5), dtype=np.uint16)
    loaded = load_image_bytes(png16(grey))
    np.testing.assert_array_equal(loaded.high_bit, np.repeat(grey[:, :, None], 3, axis=2))
    rgb16 = rng.integers(0, 65536, (7, 5, 3), dtype=np.uint16)
    ok, tif = cv2.imencode(".tiff", cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert ok
    loaded = load_image_bytes(tif.tobytes())
    assert loaded.format == "TIFF"
    np.testing.assert_array_equal(loaded.high_bit, rgb16)


def test_8bit_files_have_no_high_bit_plane() -> None:
    assert load_image_bytes(encode(photo(), "TIFF")).high_bit is None
    assert load_image_bytes(encode(photo(), "PNG")).high_bit is None


def test_icc_profile_is_kept_and_non_rgb_profiles_are_dropped() -> None:
    icc = srgb_icc()
    assert load_image_bytes(encode(photo(), "JPEG", icc_profile=icc)).icc_profile == icc
    assert load_image_bytes(encode(photo(), "PNG")).icc_profile is None
    lab_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # cannot describe RGB pixels
    loaded = load_image_bytes(encode(photo(), "PNG", mode="L", icc_profile=lab_icc))
    assert loaded.icc_profile is None


# --- bad files -------------------------------------------------------------------------------


def _expect_error(path: Path, *words: str) -> str:
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    return message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    _expect_error(path, "empty")


def test_text_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photo\n" * 20)
    _expect_error(path, "not an image")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope.png", "Cannot read")
    _expect_error(tmp_path, "folder")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_truncated_file_fails_instead_of_half_loading(tmp_path: Path, fmt: str) -> None:
    data = encode(photo(96, 128), fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) * 2 // 3])
    _expect_error(path)


def test_corrupt_jpeg_header(tmp_path: Path) -> None:
    data = bytearray(encode(photo(), "JPEG"))
    data[2:40] = b"\x00" * 38
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(bytes(data))
    _expect_error(path)


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0")) + png_chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [15_000, 30_000])  # 225 MP (Pillow only warns) and 900 MP (Pillow refuses)
def test_images_above_the_ceiling_are_refused_before_decoding(tmp_path: Path, side: int) -> None:
    assert MAX_PIXELS == 200_000_000
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(side, side))
    _expect_error(path, "200 MP")


def test_pillow_limit_is_raised_to_the_ceiling_not_disabled() -> None:
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS


# --- HEIC / AVIF -----------------------------------------------------------------------------


def _roundtrip_plugin(fmt: str) -> None:
    arr = photo(64, 96)
    try:
        data = encode(arr, fmt, quality=95)
    except (KeyError, OSError, ValueError) as exc:
        pytest.skip(f"{fmt} can be read but not written here: {exc}")
    loaded = load_image_bytes(data, f"x.{fmt.lower()}")
    assert loaded.rgb.shape == arr.shape
    assert np.abs(loaded.rgb.astype(int) - arr).mean() < 8


def test_heic_roundtrip_when_pillow_heif_is_installed() -> None:
    if not images.HEIF_AVAILABLE:
        pytest.skip("pillow-heif is not installed (optional extra lamapaint[heif])")
    _roundtrip_plugin("HEIF")


def test_avif_roundtrip_when_pillow_supports_it() -> None:
    if not features.check("avif"):
        pytest.skip("this Pillow build has no AVIF support")
    _roundtrip_plugin("AVIF")


@pytest.mark.parametrize("orientation", [3, 6, 7])
def test_tiff_orientation_8_and_16_bit(orientation: int) -> None:
    """Pillow turns TIFF pixels upright itself; OpenCV (16-bit) does not: both must end upright."""
    arr = photo(6, 10)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "TIFF", tiffinfo={0x0112: orientation})
    loaded = load_image_bytes(buf.getvalue())
    assert loaded.orientation == orientation
    np.testing.assert_array_equal(loaded.rgb, apply_orientation(arr, orientation))

    grey16 = (np.arange(60, dtype=np.uint16).reshape(6, 10) * 1000 + 7)
    buf = io.BytesIO()
    Image.fromarray(grey16).save(buf, "TIFF", tiffinfo={0x0112: orientation})
    loaded = load_image_bytes(buf.getvalue())
    assert loaded.high_bit is not None, "16-bit TIFF fell back to 8 bits"
    np.testing.assert_array_equal(loaded.high_bit[:, :, 0], apply_orientation(grey16, orientation))


# --- bounded reads and documented errors ----------------------------------------------------------


def test_symlink_to_dev_zero_is_refused_without_reading(tmp_path: Path) -> None:
    link = tmp_path / "photo.jpg"
    link.symlink_to("/dev/zero")
    _expect_error(link, "not a regular file")
    with pytest.raises(ImageLoadError, match="not a regular file"):
        images.load_mask(link)


@pytest.mark.timeout(20)
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)  # nobody ever writes: a blocking open or read would hang here for ever
    _expect_error(fifo, "not a regular file")
    with pytest.raises(ImageLoadError, match="not a regular file"):
        images.load_mask(fifo)


def test_file_above_the_size_limit_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert images.MAX_FILE_BYTES == 1 << 30
    big = tmp_path / "huge.tif"
    with open(big, "wb") as fh:
        fh.write(encode(photo(), "TIFF"))
        fh.truncate(8 << 30)  # sparse: 8 GiB long, a few kB on disk
    _expect_error(big, "8.0 GiB", "above the 1 GiB limit")

    def no_read(*args: object) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(images, "_read_up_to", no_read)
    _expect_error(big, "above the 1 GiB limit")
    with pytest.raises(ImageLoadError, match="above the 1 GiB limit"):
        images.load_mask(big)


def _png_header_claiming(width: int, height: int, depth: int, colour: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")


def test_decode_memory_is_checked_from_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """144 MP of 16-bit RGBA took 5.8 GB to decode: refused from its header, nothing decoded."""
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded"))
    path = tmp_path / "deep.png"
    path.write_bytes(_png_header_claiming(12_000, 12_000, 16, 6))
    _expect_error(path, "12000x12000 16-bit", "GiB of memory", "above the 3 GiB limit")
    # The same size at 8 bits fits: only the header is read here (no pixel decoded).
    header = images.read_image_header(_png_header_claiming(12_000, 12_000, 8, 6), "rgba8.png")
    assert (header.width, header.height, header.high_bit) == (12_000, 12_000, False)
    assert header.decode_bytes <= images.MAX_DECODE_BYTES
    assert images.read_image_header(_png_header_claiming(9_000, 9_000, 16, 6)).high_bit


def _tiff_with_bad_second_ifd(arr: np.ndarray, offset_in_ifd: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "TIFF", save_all=True, append_images=[Image.fromarray(arr)])
    data = bytearray(buf.getvalue())
    first = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[first : first + 2])[0]
    (second,) = struct.unpack("<I", data[first + 2 + 12 * count : first + 6 + 12 * count])
    data[second + offset_in_ifd] = 0
    return bytes(data)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("offset, pillow_error", [(0, TypeError), (26, SyntaxError)])
def test_tiff_with_a_damaged_second_page_loads_its_first(offset: int, pillow_error: type) -> None:
    arr = photo(8, 8)
    data = _tiff_with_bad_second_ifd(arr, offset)
    with pytest.raises(pillow_error):  # what used to escape from im.n_frames
        Image.open(io.BytesIO(data)).n_frames
    np.testing.assert_array_equal(load_image_bytes(data, "pages.tif").rgb, arr)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_unexpected_decoder_errors_become_image_load_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(photo(), "PNG")
    for exc in (KeyError("x"), TypeError("x"), struct.error("x"), MemoryError()):
        def boom(*args: object, _exc: BaseException = exc) -> None:
            raise _exc

        monkeypatch.setattr(images, "_to_rgb8", boom)
        with pytest.raises(ImageLoadError, match="x.png"):
            load_image_bytes(data, "x.png")


# --- masks -------------------------------------------------------------------------------------


def test_mask_any_colour_channel_is_a_hole_alpha_ignored(tmp_path: Path) -> None:
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[0, 0] = (1, 0, 0, 0)
    rgba[1, 1] = (0, 0, 9, 255)
    rgba[2, 2] = (0, 0, 0, 255)  # opaque black: not a hole
    path = tmp_path / "m.png"
    Image.fromarray(rgba).save(path)
    mask = images.load_mask(path)
    assert mask.dtype == np.uint8 and mask.shape == (4, 5)
    assert {tuple(p) for p in np.argwhere(mask == 255)} == {(0, 0), (1, 1)}
    assert set(np.unique(mask)) <= {0, 255}
    grey = np.zeros((3, 3), np.uint8)
    grey[1, 2] = 7
    Image.fromarray(grey).save(path)
    assert np.argwhere(images.load_mask(path)).tolist() == [[1, 2]]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_mask_errors_are_image_load_errors(tmp_path: Path) -> None:
    path = tmp_path / "m.png"
    path.write_bytes(_png_header_only(30_000, 30_000))  # 900 MP: Pillow's DecompressionBombError
    with pytest.raises(ImageLoadError, match="MP limit"):
        images.load_mask(path)
    path.write_bytes(encode(photo(), "PNG")[:200])
    with pytest.raises(ImageLoadError, match="m.png"):
        images.load_mask(path)
    with pytest.raises(ImageLoadError, match="folder"):
        images.load_mask(tmp_path)


def test_16bit_png_with_an_oversized_chunk_never_reaches_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the fuzzing: OpenCV 5.0 allocates a PNG chunk's declared length before reading it."""
    data = bytearray(png16(np.full((4, 4, 3), 1000, np.uint16)))
    data[33:37] = struct.pack(">I", 0xFF000012)  # the first chunk after IHDR
    monkeypatch.setattr(images.cv2, "imdecode", lambda *a: pytest.fail("handed to OpenCV"))
    with pytest.raises(ImageLoadError, match="chunk runs past"):
        load_image_bytes(bytes(data), "deep.png")


def _damage_idat(data: bytes, at: float = 0.5) -> bytes:
    """One byte of the first IDAT flipped, its CRC fixed: only the decoder can see the damage."""
    out = bytearray(data)
    pos = 8
    while True:
        length, kind = struct.unpack(">I4s", out[pos : pos + 8])
        if kind == b"IDAT":
            out[pos + 8 + int(length * at)] ^= 0x10
            out[pos + 8 + length : pos + 12 + length] = struct.pack(">I", zlib.crc32(out[pos + 4 : pos + 8 + length]))
            return bytes(out)
        pos += 12 + length


@pytest.mark.parametrize("kind", ["rgb", "rgba", "grey", "16-bit"])
def test_damaged_png_pixels_refuse_the_file(kind: str) -> None:
    """Issue 17.4: reading the EXIF decoded the PNG and hid the error; rows loaded black."""
    rgb = photo(64, 96, seed=3)
    rgb = rgb ^ np.random.default_rng(3).integers(0, 256, rgb.shape, dtype=np.uint8)  # incompressible
    if kind == "16-bit":
        data = png16(rgb.astype(np.uint16) * 257)
    else:
        data = encode(rgb, "PNG", {"rgb": None, "rgba": "RGBA", "grey": "L"}[kind])
    bad = _damage_idat(data)
    with pytest.raises(OSError):
        Image.open(io.BytesIO(bad)).load()  # the damage is real: Pillow refuses it
    with pytest.raises(ImageLoadError, match="truncated or damaged"):
        load_image_bytes(bad, "bad.png")


def test_png_exif_after_the_pixels_still_turns_the_photo() -> None:
    rgb = photo()
    data = encode(rgb, "PNG")
    end = data.rindex(b"IEND") - 4
    with_exif = data[:end] + png_chunk(b"eXIf", exif_with_orientation(6)[6:]) + data[end:]
    loaded = load_image_bytes(with_exif)
    assert loaded.orientation == 6
    np.testing.assert_array_equal(loaded.rgb, apply_orientation(rgb, 6))


def test_a_jpeg_with_too_many_scans_is_refused_before_decoding(tmp_path: Path) -> None:
    """Issue 17.5: each scan costs a pass over every coefficient (20,000 repeats: 143 s for 24 MP)."""
    import time

    from tests.io.crafted_jpeg import picture, pillow_jpeg, repeated_scans

    progressive = pillow_jpeg(picture(), progressive=True)
    own = images.count_scans(progressive, images.MAX_JPEG_SCANS)
    at_limit = repeated_scans(progressive, images.MAX_JPEG_SCANS - own)
    assert load_image_bytes(at_limit).rgb.shape == (96, 128, 3)
    over = repeated_scans(progressive, 20_000)
    path = tmp_path / "scans.jpg"
    path.write_bytes(over)
    started = time.perf_counter()
    with pytest.raises(ImageLoadError, match=f"more than {images.MAX_JPEG_SCANS} scans"):
        load_image(path)
    with pytest.raises(ImageLoadError, match="scans"):
        images.load_mask(path)
    assert time.perf_counter() - started < 1.0
