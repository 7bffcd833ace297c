"""The one table of photo formats: which suffixes name them, which can be written and what each holds.

The export, its dialog, the file dialogs and the CLI all read it, so a suffix means the same
everywhere (``x.jfif`` is a JPEG and stays ``x.jfif``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExportFormat:
    """A format the export writes, and the limits of what it can hold."""

    name: str
    """The key options and the dialog use: "JPEG", "PNG", "TIFF", "WEBP"."""
    label: str
    """How the format is named to a person ("WebP")."""
    suffixes: tuple[str, ...]
    """Lower-case suffixes that name the format; the first is the one a new name gets."""
    max_side: int
    """Most pixels a side the encoder writes."""
    max_side_source: str
    """Who sets ``max_side``, for the message that names it."""
    alpha: bool
    high_bit: bool
    """16-bit samples are written."""


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        # libjpeg refuses sides above JPEG_MAX_DIMENSION (65,500), below the format's 65,535.
        ExportFormat("JPEG", "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif"), 65_500, "libjpeg's limit", False, False),
        ExportFormat("PNG", "PNG", (".png",), 2**31 - 1, "the PNG format's limit", True, True),
        ExportFormat("TIFF", "TIFF", (".tif", ".tiff"), 2**32 - 1, "the TIFF format's limit", True, True),
        ExportFormat("WEBP", "WebP", (".webp",), 16_383, "the WebP format's limit", True, False),
    )
}
_ALIASES = {"JPG": "JPEG", "TIF": "TIFF"}

READ_ONLY_SUFFIXES = (".bmp", ".heic", ".heif")
"""Photos that open but cannot be written back in their own format."""
PHOTO_SUFFIXES = tuple(s for f in EXPORT_FORMATS.values() for s in f.suffixes) + READ_ONLY_SUFFIXES
"""Every suffix a photo is looked for by (a folder run of the CLI, the Open dialog)."""

NAME_MAX = 255
"""Longest file name, in bytes, where the file system does not say (ext4, APFS, NTFS in UTF-16 units)."""


def format_named(name: str) -> str | None:
    """The format key for "jpeg", "JPG", ".tif", "WebP", ...; None when no format has that name."""
    key = name.upper().lstrip(".")
    key = _ALIASES.get(key, key)
    return key if key in EXPORT_FORMATS else None


def format_of_suffix(path: str | os.PathLike[str]) -> str | None:
    """The format the file's suffix names; None for a suffix no export format uses."""
    suffix = Path(path).suffix.lower()
    return next((f.name for f in EXPORT_FORMATS.values() if suffix in f.suffixes), None)


def path_for_format(path: str | os.PathLike[str], fmt: str) -> Path:
    """``path`` with a suffix of ``fmt``: its own where it names ``fmt`` already, else the format's first."""
    p = Path(path)
    if format_of_suffix(p) == fmt:
        return p
    return p.with_suffix(EXPORT_FORMATS[fmt].suffixes[0])


def file_dialog_filter() -> str:
    """"Images (*.jpg *.jpeg ... *.webp)" for a Save dialog."""
    patterns = " ".join(f"*{s}" for f in EXPORT_FORMATS.values() for s in f.suffixes)
    return f"Images ({patterns})"


def name_max(folder: Path) -> int:
    """The longest file name ``folder``'s file system allows, in bytes (``NAME_MAX`` where unknown)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no answer
        return NAME_MAX
