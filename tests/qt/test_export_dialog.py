"""The export dialog says in plain words what the exported file keeps, before anything is written."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
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


# --- one plan: the dialog, the CLI and the export say the same (issue 19.3) ---------------------


def _cli_plan_lines(err: str, name: str) -> list[str]:
    """The export lines ``lamapaint-cli remove`` printed for ``name``: ``NAME: summary.`` and its notes."""
    lines = err.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: "))
    out = [lines[start][len(name) + 2 :]]
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


@pytest.mark.parametrize("name", ["camera-cleaned.png", "camera-cleaned.jpg", "camera-cleaned.tif"])
def test_dialog_and_cli_show_the_same_plan(qtbot, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:  # noqa: ANN001
    from lamapaint.cli import EXIT_OK, main

    path = progressive_photo(tmp_path)
    mask = np.zeros((96, 128), np.uint8)
    mask[40:56, 50:70] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out" / name
    out.parent.mkdir()
    assert main(["remove", str(path), "--mask", str(tmp_path / "mask.png"), "-o", str(out), "--model", "opencv-telea"]) == EXIT_OK
    cli = _cli_plan_lines(capsys.readouterr().err, name)
    dialog = ExportDialog(out, 95, path, None, load_image(path))
    qtbot.addWidget(dialog)
    shown = dialog.plan_label.text().splitlines()
    assert len(shown) >= 2  # a summary and at least one note (quality, XMP, TIFF's basic fields)
    if name.endswith(".jpg"):  # what only writing tells comes last: how many MCUs were re-compressed
        assert cli[:-1] == shown and "MCUs" in cli[-1]
    else:
        assert cli == shown


def test_a_jfif_name_stays_jfif(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from lamapaint.qt.dialogs.export import default_export_path

    path = tmp_path / "scan.jfif"
    path.write_bytes(progressive_photo(tmp_path).read_bytes())
    assert default_export_path(path) == tmp_path / "scan-cleaned.jfif"
    dialog = ExportDialog(default_export_path(path), 95, path, None, load_image(path))
    qtbot.addWidget(dialog)
    assert dialog.path_edit.text() == str(tmp_path / "scan-cleaned.jfif") and dialog.format_combo.currentText() == "JPEG"
    dialog.path_edit.setText(str(tmp_path / "other.jpe"))
    dialog.path_edit.editingFinished.emit()
    assert dialog.path_edit.text().endswith("other.jpe") and dialog.choice().plan.path.name == "other.jpe"
    dialog.format_combo.setCurrentText("PNG")
    assert dialog.path_edit.text().endswith("other.png")
    dialog.path_edit.setText(str(tmp_path / "back.jfif"))
    dialog.path_edit.editingFinished.emit()
    assert dialog.format_combo.currentText() == "JPEG" and dialog.path_edit.text().endswith("back.jfif")
    dialog.path_edit.setText(str(tmp_path / "odd.gif"))  # no format writes .gif: the chosen one's suffix
    dialog.path_edit.editingFinished.emit()
    assert dialog.path_edit.text().endswith("odd.jpg") and dialog.choice().plan.path.name == "odd.jpg"


def test_the_quality_box_is_disabled_where_the_plan_ignores_it(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = progressive_photo(tmp_path)
    dialog = ExportDialog(tmp_path / "camera-cleaned.jpg", 95, path, None, load_image(path))
    qtbot.addWidget(dialog)
    enabled = {}
    for fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        dialog.format_combo.setCurrentText(fmt)
        enabled[fmt] = dialog.quality_spin.isEnabled()
    assert enabled == {"JPEG": False, "PNG": False, "TIFF": False, "WEBP": True}  # JPEG: block-wise save
    dialog.format_combo.setCurrentText("JPEG")
    assert "Not used" in dialog.quality_spin.toolTip()


def test_the_quality_box_is_enabled_for_a_whole_reencode(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "photo.png"
    Image.fromarray(make_photo()).save(path)
    dialog = ExportDialog(tmp_path / "photo-cleaned.jpg", 90, path, None, load_image(path))
    qtbot.addWidget(dialog)
    assert dialog.quality_spin.isEnabled() and dialog.plan_label.text().startswith("Whole photo compressed as JPEG at quality 90")


def test_a_name_too_long_disables_export_and_says_why(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    dialog = ExportDialog(tmp_path / ("n" * 252 + ".png"), 95, None)
    qtbot.addWidget(dialog)
    assert not dialog.export_button.isEnabled()
    assert "256 bytes long" in dialog.plan_label.text()
    dialog.path_edit.setText(str(tmp_path / "short.png"))
    dialog.path_edit.editingFinished.emit()
    assert dialog.export_button.isEnabled()
