"""Export dialog: where, which format, what quality, and in plain words the export's plan (what the
file will keep, what is dropped and why). Never overwrites the original silently.

The plan is ``io.export.plan_export``'s, the very one the export carries out; controls that do
not apply to it are disabled (the quality box for a block-wise save), and a plan the target
cannot hold (a side too long for the format, a name too long) disables Export.
"""

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

from lamapaint.io.formats import EXPORT_FORMATS, file_dialog_filter, format_of_suffix, path_for_format

if TYPE_CHECKING:
    from lamapaint.io.export import ExportOptions, ExportPlan
    from lamapaint.io.images import LoadedImage


def default_export_path(original: Path | None, project: Path | None = None) -> Path:
    """``photo-cleaned.jpg`` beside the original (or the project when the photo's place is unknown);
    the original's own suffix where it can be written (``scan.jfif`` -> ``scan-cleaned.jfif``)."""
    base = original or (project.with_suffix(".jpg") if project else Path.home() / "photo.jpg")
    suffix = base.suffix.lower() if format_of_suffix(base) else ".jpg"
    return base.with_name(f"{base.stem}-cleaned{suffix}")


@dataclass
class ExportChoice:
    path: Path
    format: str
    quality: int
    keep_metadata: bool
    overwrite: bool
    plan: ExportPlan | None = None
    """The plan the dialog showed, for the export to carry out."""


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
        self.format_combo.addItems(list(EXPORT_FORMATS))
        self.format_combo.setCurrentText(format_of_suffix(path) or "JPEG")
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
        self.path_edit.editingFinished.connect(self._path_edited)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.export_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export")
        self.plan: ExportPlan | None = None
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._format_changed(self.format_combo.currentText())
        self._overwrite = False

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export as", self.path_edit.text(), file_dialog_filter())
        if name:
            self.path_edit.setText(name)
            self._path_edited()

    def _path_edited(self) -> None:
        """A typed or chosen name with a format's suffix picks that format (``.jfif`` stays ``.jfif``)."""
        fmt = format_of_suffix(self.path_edit.text())
        if fmt and fmt != self.format_combo.currentText():
            self.format_combo.setCurrentText(fmt)  # updates the plan
        else:  # a suffix no format has ("x.gif", none) gets the chosen format's
            self._format_changed(self.format_combo.currentText())

    def _format_changed(self, fmt: str) -> None:
        path = Path(self.path_edit.text())
        if path_for_format(path, fmt) != path:
            self.path_edit.setText(str(path_for_format(path, fmt)))
        self._update_plan()

    def _update_plan(self) -> None:
        """Show the plan the export will carry out, from the original's headers (no encoding)."""
        from lamapaint.io.export import ExportError, plan_export

        try:
            self.plan = plan_export(Path(self.path_edit.text()).expanduser(), self._source, self.options())
        except ExportError as exc:
            self.plan = None
            self.plan_label.setText(f"{exc}.")
        else:
            self.plan_label.setText(self.plan.text)
        applies = self.plan is not None and self.plan.quality_applies
        self.quality_spin.setEnabled(applies)
        self.quality_spin.setToolTip(
            "" if applies or self.plan is None else "Not used by this export: see the plan below."
        )
        self.export_button.setEnabled(self.plan is not None and self.plan.refusal is None)
        self.adjustSize()  # the text may have grown a line

    def options(self) -> "ExportOptions":
        from lamapaint.io.export import ExportOptions

        return ExportOptions(
            format=self.format_combo.currentText(), quality=self.quality_spin.value(),
            keep_metadata=self.metadata_check.isChecked(),
        )

    def accept(self) -> None:
        path = Path(self.path_edit.text()).expanduser()
        self._update_plan()  # the plan shown is the plan for this very name
        if self.plan is None or self.plan.refusal is not None:
            return
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
            plan=self.plan,
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
