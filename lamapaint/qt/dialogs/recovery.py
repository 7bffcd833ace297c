"""The start-up prompt that offers autosaves left by a session that did not close cleanly."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from lamapaint.io.autosave import RecoverableSession


class RecoveryDialog(QDialog):
    """Restore (the selected session), Discard (all listed) or decide Later (keep the files)."""

    RESTORE, DISCARD, LATER = 1, 2, 0

    def __init__(self, sessions: list[RecoverableSession], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover unsaved work?")
        self.setMinimumWidth(520)  # room for "photo (in folder) — date, size" on one line
        self.sessions = sessions
        self.choice = self.LATER
        text = QLabel(
            "lamapaint did not close normally last time. These autosaves hold work that was not saved:", self
        )
        text.setWordWrap(True)
        self.list = QListWidget(self)
        for s in sessions:
            if s.project_path is not None:
                where = f" (project {s.project_path.name})"
            else:
                where = f" (in {s.folder.name or s.folder})" if s.folder is not None else ""
            self.list.addItem(f"{s.photo_name}{where} — {s.saved_at.astimezone():%Y-%m-%d %H:%M}, {s.size_bytes / 1e6:.1f} MB")
            if s.folder is not None:
                self.list.item(self.list.count() - 1).setToolTip(str(s.project_path or s.source_path))
        self.list.setCurrentRow(0)
        buttons = QDialogButtonBox(self)
        restore = QPushButton("Restore", self)
        discard = QPushButton("Discard all", self)
        later = QPushButton("Later", self)
        buttons.addButton(restore, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(discard, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(later, QDialogButtonBox.ButtonRole.RejectRole)
        restore.clicked.connect(lambda: self._done(self.RESTORE))
        discard.clicked.connect(lambda: self._done(self.DISCARD))
        later.clicked.connect(lambda: self._done(self.LATER))
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def selected(self) -> RecoverableSession:
        return self.sessions[max(0, self.list.currentRow())]

    def _done(self, choice: int) -> None:
        self.choice = choice
        if choice == self.RESTORE:
            self.accept()
        else:
            self.reject()
