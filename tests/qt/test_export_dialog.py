"""The export dialog says in plain words what the exported file keeps, before anything is written."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from lamapaint.io.images import load_image
from lamapaint.qt.dialogs.export import ExportDialog
from tests.io.metadata import XMP_PACKET, exif_with_orientation, srgb_icc
from tests.qt.conftest import make_photo


def progressive_photo(tmp_path: Path) -> Path:
    path = tmp_path / "camera.jpg"
    Image.fromarray(make_photo()).save(
        path, "JPEG", progressive=True, subsampling=1, exif=exif_with_orientation(1), icc_profile=srgb_icc(),
        xmp=XMP_PACKET, comment=b"from the camera",
    )
    return path


def test_dialog_says_what_a_jpeg_export_keeps(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = progressive_photo(tmp_path)
    dialog = ExportDialog(tmp_path / "camera-cleaned.jpg", 95, path, None, load_image(path))
    qtbot.addWidget(dialog)
    summary, note = dialog.plan_label.text().splitlines()
    assert summary == (
        "Untouched areas kept exactly as in the original (block-wise save); "
        "EXIF, XMP, colour profile and comment kept."
    )
    assert "quality setting does not apply" in note
    assert "colour profile" not in dialog.metadata_check.text()  # always kept: not a choice
    dialog.metadata_check.setChecked(False)
    assert dialog.plan_label.text().splitlines()[0].endswith("; colour profile kept, other metadata left out.")
    dialog.metadata_check.setChecked(True)
    dialog.format_combo.setCurrentText("PNG")
    text = dialog.plan_label.text()
    assert text.startswith("Untouched pixels kept exactly as decoded from the original (lossless PNG); EXIF and colour profile kept.")
    assert "XMP" in text  # the note that PNG does not carry it


def test_dialog_names_the_reason_for_a_whole_reencode(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "grey.jpg"
    buf = io.BytesIO()
    Image.fromarray(make_photo()).convert("L").save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    dialog = ExportDialog(tmp_path / "grey-cleaned.jpg", 90, path, None, load_image(path))
    qtbot.addWidget(dialog)
    assert dialog.plan_label.text().startswith(
        "Whole photo re-compressed at quality 90 (4:2:0 chroma) (block-wise save not possible: the original is a greyscale JPEG"
    )
    dialog.quality_spin.setValue(80)
    assert "quality 80" in dialog.plan_label.text()


def test_dialog_without_an_original(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    dialog = ExportDialog(tmp_path / "new.png", 95, None)
    qtbot.addWidget(dialog)
    assert dialog.plan_label.text() == "Written losslessly (PNG); no metadata to keep."
