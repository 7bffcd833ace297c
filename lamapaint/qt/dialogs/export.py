"""Export dialog: where, which format, what quality, and in plain words what the file will keep.
Never overwrites the original silently."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

if TYPE_CHECKING:
    from lamapaint.io.images import LoadedImage

FORMATS = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp"}
SUFFIX_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}


def default_export_path(original: Path | None, project: Path | None = None) -> Path:
    """``photo-cleaned.jpg`` beside the original (or the project when the photo's place is unknown)."""
    base = original or (project.with_suffix(".jpg") if project else Path.home() / "photo.jpg")
    suffix = base.suffix.lower() if base.suffix.lower() in SUFFIX_FORMATS else ".jpg"
    return base.with_name(f"{base.stem}-cleaned{suffix}")


@dataclass
class ExportChoice:
    path: Path
    format: str
    quality: int
    keep_metadata: bool
    overwrite: bool


class ExportDialog(QDialog):
    def __init__(
        self, path: Path, quality: int, original: Path | None, parent: QWidget | None = None,
        source: LoadedImage | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export image")
        self._original = original
        self._source = source
        self.path_edit = QLineEdit(str(path), self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.format_combo = QComboBox(self)
        self.format_combo.addItems(list(FORMATS))
        self.format_combo.setCurrentText(SUFFIX_FORMATS.get(path.suffix.lower(), "JPEG"))
        self.format_combo.currentTextChanged.connect(self._format_changed)
        self.quality_spin = QSpinBox(self)
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(quality)
        self.quality_spin.setSuffix(" %")
        self.metadata_check = QCheckBox("Keep metadata (EXIF, XMP, IPTC, comments)", self)
        self.metadata_check.setToolTip("The colour profile is always kept: it defines what the colours mean.")
        self.metadata_check.setChecked(True)
        self.plan_label = QLabel(self)
        self.plan_label.setWordWrap(True)
        self.plan_label.setMinimumWidth(420)
        form = QFormLayout(self)
        form.addRow("File", row)
        form.addRow("Format", self.format_combo)
        form.addRow("Quality", self.quality_spin)
        form.addRow("", self.metadata_check)
        form.addRow("", self.plan_label)
        self.quality_spin.valueChanged.connect(self._update_plan)
        self.metadata_check.toggled.connect(self._update_plan)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._format_changed(self.format_combo.currentText())
        self._overwrite = False

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export as", self.path_edit.text(), "Images (*.jpg *.jpeg *.png *.tif *.tiff *.webp)"
        )
        if name:
            self.path_edit.setText(name)
            fmt = SUFFIX_FORMATS.get(Path(name).suffix.lower())
            if fmt:
                self.format_combo.setCurrentText(fmt)

    def _format_changed(self, fmt: str) -> None:
        self.quality_spin.setEnabled(fmt in ("JPEG", "WEBP"))
        path = Path(self.path_edit.text())
        if SUFFIX_FORMATS.get(path.suffix.lower()) != fmt:
            self.path_edit.setText(str(path.with_suffix(FORMATS[fmt])))
        self._update_plan()

    def _update_plan(self) -> None:
        """Say what this export will keep, from the original's headers (no encoding)."""
        from lamapaint.io.export import ExportOptions, plan_export

        options = ExportOptions(
            format=self.format_combo.currentText(), quality=self.quality_spin.value(),
            keep_metadata=self.metadata_check.isChecked(),
        )
        plan = plan_export(self._source, options)
        lines = [plan.summary + "."] + [f"Note: {note}." for note in plan.notes]
        self.plan_label.setText("\n".join(lines))
        self.adjustSize()  # the text may have grown a line

    def accept(self) -> None:
        path = Path(self.path_edit.text()).expanduser()
        if not confirm_destination(self, path, self._original):
            return
        self._overwrite = path.exists()
        super().accept()

    def choice(self) -> ExportChoice:
        return ExportChoice(
            path=Path(self.path_edit.text()).expanduser(),
            format=self.format_combo.currentText(),
            quality=self.quality_spin.value(),
            keep_metadata=self.metadata_check.isChecked(),
            overwrite=self._overwrite,
        )


def confirm_destination(parent: QWidget, path: Path, original: Path | None) -> bool:
    """Ask before replacing a file; ask more pointedly when it is the original photo."""
    if not path.exists():
        return True
    same = original is not None and original.exists() and path.resolve() == original.resolve()
    if same:
        text = (
            f"{path.name} is the original photo. Replacing it loses the untouched original for good "
            "(the project keeps its own copy). Replace it?"
        )
    else:
        text = f"{path.name} already exists. Replace it?"
    answer = QMessageBox.warning(
        parent, "Replace file?", text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No
    )
    return answer == QMessageBox.StandardButton.Yes
