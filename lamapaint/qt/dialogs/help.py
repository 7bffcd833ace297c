"""The Help menu: Keyboard Shortcuts (F1) and About lamapaint.

The shortcuts dialog is generated from the window's QActions, in menu order, and from the keys
the canvas takes while they are held (``CanvasKeys.HELD_KEYS``), so it can never list a key the
window does not have, nor miss one it has. Long descriptions wrap instead of being cut short.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import PySide6
from PySide6.QtCore import QObject, Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lamapaint import __version__
from lamapaint.qt.actions import HELP_GROUP_PROPERTY
from lamapaint.qt.canvas_keys import CanvasKeys
from lamapaint.qt.icons import app_icon
from lamapaint.settings import app_paths

OTHER_GROUP = "Other"
HELD_GROUP = "Held keys"
CANVAS_NOTE = "canvas"  # marks single keys, which a text field being typed in keeps


@dataclass(frozen=True)
class ShortcutRow:
    group: str  # the menu the action sits in
    text: str
    keys: str
    description: str
    canvas_only: bool


def plain_text(action: QAction) -> str:
    """The action's menu text without mnemonics and the trailing ellipsis."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").rstrip(".")


def key_text(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts() if not s.isEmpty())


def held_key_text(key: Qt.Key) -> str:
    """"Hold Space", "Hold \\": a held key as the list shows it."""
    return f"Hold {QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)}"


def _row(group: str, action: QAction) -> ShortcutRow:
    return ShortcutRow(
        group, plain_text(action), key_text(action), action.statusTip(),
        _plain_keys(action),
    )


def _plain_keys(action: QAction) -> bool:
    """Single keys without Ctrl/Alt/Meta: window-wide, but a text field being typed in keeps them."""
    command = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
    keys = [s for s in action.shortcuts() if not s.isEmpty()]
    return bool(keys) and all(s.count() == 1 and not (s[0].keyboardModifiers() & command) for s in keys)


def _menu_actions(menu: QMenu) -> list[QAction]:
    found = []
    for action in menu.actions():
        if action.menu() is not None:
            found += _menu_actions(action.menu())
        elif not action.isSeparator():
            found.append(action)
    return found


def shortcut_rows(window: QMainWindow) -> list[ShortcutRow]:
    """Every action of ``window`` that has a shortcut: by menu, then any outside the menus."""
    rows, seen = [], set()
    for top in window.menuBar().actions():
        menu = top.menu()
        if menu is None:
            continue
        group = plain_text(top)
        for action in _menu_actions(menu):
            if key_text(action) and id(action) not in seen:
                seen.add(id(action))
                rows.append(_row(group, action))
    for action in window.findChildren(QAction):
        if key_text(action) and id(action) not in seen:
            seen.add(id(action))
            rows.append(_row(str(action.property(HELP_GROUP_PROPERTY) or OTHER_GROUP), action))
    for key, (name, description) in CanvasKeys.HELD_KEYS.items():
        rows.append(ShortcutRow(HELD_GROUP, name, held_key_text(key), description, True))
    return rows


class ShortcutsDialog(QDialog):
    """A filterable list of every shortcut of the window (not modal: keep it open while working)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts — lamapaint")
        self.resize(640, 600)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by name or key")
        self.filter.setClearButtonEnabled(True)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Action", "Keys", "What it does"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        # Every column as wide as its longest text, so nothing is cut to "…"; a narrow window scrolls.
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        note = QLabel(f"Keys marked “{CANVAS_NOTE}” work anywhere in the window except while you type in a text field.", self)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self._window = window
        self.filter.textChanged.connect(self._apply_filter)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild from the window's actions (texts such as "Undo Stroke" change as you work)."""
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for row in shortcut_rows(self._window):
            parent = groups.get(row.group)
            if parent is None:
                parent = groups[row.group] = QTreeWidgetItem(self.tree, [row.group])
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
                parent.setFirstColumnSpanned(True)
            keys = f"{row.keys}  ({CANVAS_NOTE})" if row.canvas_only else row.keys
            item = QTreeWidgetItem(parent, [row.text, keys, row.description])
            item.setToolTip(2, row.description)
        self.tree.expandAll()
        self._apply_filter(self.filter.text())
        self._fit_size()

    def _fit_size(self) -> None:
        """Large enough for every column and row (the screen allowing): nothing cut, little scrolling."""
        tree = self.tree
        self.layout().activate()
        rows = 0
        for g in range(tree.topLevelItemCount()):
            group = tree.topLevelItem(g)
            rows += 1 + group.childCount()
        row_height = max(tree.sizeHintForRow(0), tree.fontMetrics().height())
        frame = 2 * tree.frameWidth()
        width = self.width() - tree.width() + tree.header().length() + frame + tree.verticalScrollBar().sizeHint().width()
        height = self.height() - tree.height() + tree.header().sizeHint().height() + rows * row_height + frame
        screen = self.screen()
        if screen is not None:
            area = screen.availableGeometry()
            width, height = min(width, area.width()), min(height, area.height() * 9 // 10)
        self.resize(max(width, self.width()), max(height, self.height()))

    def rows_shown(self) -> list[tuple[str, str]]:
        """(action, keys) of the visible rows, for tests and screen readers' sake."""
        shown = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for i in range(group.childCount()):
                item = group.child(i)
                if not item.isHidden():
                    shown.append((item.text(0), item.text(1)))
        return shown

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            visible = 0
            for i in range(group.childCount()):
                item = group.child(i)
                hit = not needle or any(needle in item.text(c).lower() for c in range(3))
                item.setHidden(not hit)
                visible += hit
            group.setHidden(visible == 0)


def _folder_link(path: Path) -> str:
    return f'<a href="{QUrl.fromLocalFile(str(path)).toString()}">{path}</a>'


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About lamapaint")
        icon = QLabel(self)
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QLabel(self)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setOpenExternalLinks(True)
        self.text.setText(
            f"<h2>lamapaint {__version__}</h2>"
            "<p>Remove unwanted objects from photos, non-destructively.</p>"
            "<p>Fills holes with <b>LaMa</b>: R. Suvorov et al., “Resolution-robust Large Mask "
            "Inpainting with Fourier Convolutions”, WACV 2022. lamapaint's generator is an "
            "independent re-implementation of the published architecture that loads the official "
            "weights; without them it falls back to OpenCV's classical inpainting.</p>"
            "<p>Licensed under the Apache License 2.0. "
            '<a href="https://github.com/lamapaint/lamapaint">github.com/lamapaint/lamapaint</a></p>'
        )
        paths = app_paths()
        self.folders = QFormLayout()
        for label, path in (
            ("Settings", paths.settings_file.parent), ("Models", paths.models_dir),
            ("Autosaves", paths.autosave_dir), ("Cache", paths.cache_dir),
        ):
            value = QLabel(_folder_link(path), self)
            value.setOpenExternalLinks(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
            value.setToolTip("Open the folder (it may not exist until lamapaint writes there)")
            self.folders.addRow(f"{label}:", value)
        versions = QLabel(
            f"Python {platform.python_version()} · Qt {qVersion()} · PySide6 {PySide6.__version__} · "
            f"{platform.system()} {platform.machine()}{' · bundle' if getattr(sys, 'frozen', False) else ''}",
            self,
        )
        versions.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        column = QVBoxLayout()
        column.addWidget(self.text)
        column.addLayout(self.folders)
        column.addWidget(versions)
        row = QHBoxLayout()
        row.addWidget(icon)
        row.addLayout(column, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())


class HelpMenu(QObject):
    """Adds the Help menu to ``window`` and owns its dialogs (one of each, re-shown)."""

    def __init__(self, window: QMainWindow, shortcuts: QAction, about: QAction) -> None:
        super().__init__(window)
        self._window = window
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        menu = window.menuBar().addMenu("&Help")
        menu.addAction(shortcuts)
        menu.addAction(about)
        shortcuts.triggered.connect(self.show_shortcuts)
        about.triggered.connect(self.show_about)

    def show_shortcuts(self) -> None:
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = ShortcutsDialog(self._window)
        else:
            self.shortcuts_dialog.refresh()
        self._present(self.shortcuts_dialog)

    def show_about(self) -> None:
        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self._window)
        self._present(self.about_dialog)

    @staticmethod
    def _present(dialog: QDialog) -> None:
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
