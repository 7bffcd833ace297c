"""Desktop files validate, agree with each other and with the code; icons generate; one version."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

import lamapaint
from lamapaint.qt.files import IMAGE_FILTER

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "resources" / "linux"
APP_ID = "io.github.lamapaint.Lamapaint"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
MIME = LINUX / f"{APP_ID}.mime.xml"
# The MIME type of each suffix lamapaint opens (freedesktop names; mimetypes lacks HEIC/AVIF).
SUFFIX_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "jfif": "image/jpeg", "png": "image/png", "tif": "image/tiff", "tiff": "image/tiff",
    "webp": "image/webp", "bmp": "image/bmp", "gif": "image/gif", "avif": "image/avif",
    "heic": "image/heic", "heif": "image/heif", "lamapaint": "application/x-lamapaint",
}


def _run_validator(*command: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed (Debian: desktop-file-utils / appstream)")
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_desktop_file_validates() -> None:
    result = _run_validator("desktop-file-validate", str(DESKTOP))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower()


def test_metainfo_validates() -> None:
    result = _run_validator("appstreamcli", "validate", "--no-net", "--explain", str(METAINFO))
    assert result.returncode == 0, result.stdout + result.stderr


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_opens_every_format_the_open_dialog_offers() -> None:
    entry = _desktop_entry()
    declared = set(filter(None, entry["MimeType"].split(";")))
    offered = set(re.findall(r"\*\.(\w+)", IMAGE_FILTER))
    assert offered, IMAGE_FILTER
    assert {SUFFIX_TYPES[s] for s in offered} <= declared
    assert declared <= set(SUFFIX_TYPES.values())
    assert entry["Icon"] == APP_ID and entry["Exec"].split()[0] == "lamapaint"


def test_project_mime_type_matches_the_project_suffix() -> None:
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime_type = ET.parse(MIME).getroot().find("m:mime-type", ns)
    assert mime_type.get("type") == "application/x-lamapaint"
    assert [g.get("pattern") for g in mime_type.findall("m:glob", ns)] == ["*.lamapaint"]
    assert "application/x-lamapaint" in _desktop_entry()["MimeType"]


def test_metainfo_names_the_desktop_file_and_existing_screenshots() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("project_license") == "Apache-2.0"
    images = [Path(e.text).name for e in root.iter("image")]
    assert images and all((ROOT / "docs" / "screenshots" / name).is_file() for name in images)
    assert root.find("releases/release").get("version") in (lamapaint.__version__, _last_release())


def _last_release() -> str:
    return re.findall(r"^## \[(\d[^\]]*)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)[0]


def test_icons_are_generated_in_every_size(tmp_path: Path, qapp) -> None:  # noqa: ANN001 - a QApplication, not make_icons' QGuiApplication
    sys.path.insert(0, str(ROOT / "resources" / "icons"))
    try:
        import make_icons
    finally:
        sys.path.pop(0)
    make_icons.make_icons(tmp_path)
    for size in make_icons.PNG_SIZES:
        with Image.open(tmp_path / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png") as im:
            assert im.size == (size, size) and im.mode == "RGBA"
            assert im.getextrema()[3][1] == 255  # not blank
    with Image.open(tmp_path / "lamapaint.ico") as ico:
        assert {(s, s) for s in make_icons.ICO_SIZES} <= set(ico.info["sizes"])
    with Image.open(tmp_path / "lamapaint.icns") as icns:
        assert (512, 512, 1) in icns.info["sizes"]
    assert (tmp_path / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").read_bytes().startswith(b"<svg")


def test_one_version_for_the_package_and_both_programs() -> None:
    from importlib.metadata import version

    assert version("lamapaint") == lamapaint.__version__
    for module in ("lamapaint", "lamapaint.cli"):
        out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60, check=True)
        assert out.stdout.strip() == f"lamapaint {lamapaint.__version__}"
