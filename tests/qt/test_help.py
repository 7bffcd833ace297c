"""Help menu, shortcut list, About, the empty-window hint and the window's icons."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from lamapaint import __version__
from lamapaint.core.document import Document
from lamapaint.qt.app import create_app
from lamapaint.qt.canvas.placeholder import HINT_TEXT
from lamapaint.qt.dialogs.help import AboutDialog, ShortcutsDialog, key_text, plain_text
from lamapaint.qt.main_window import MainWindow
from lamapaint.settings import app_paths
from tests.qt.conftest import make_photo


def test_shortcuts_dialog_lists_every_shortcut_of_the_window(window: MainWindow) -> None:
    window.window_actions.shortcuts_help.trigger()
    dialog = window.help_menu.shortcuts_dialog
    assert isinstance(dialog, ShortcutsDialog) and dialog.isVisible()
    rows = dialog.rows_shown()
    assert ("Brush", "B  (canvas)") in rows
    assert ("Undo", QKeySequence("Ctrl+Z").toString(QKeySequence.SequenceFormat.NativeText)) in rows
    listed = {text for text, _keys in rows}
    for action in window.findChildren(QAction):
        if key_text(action):
            assert plain_text(action) in listed


def test_shortcuts_are_read_from_the_actions_not_a_list(window: MainWindow) -> None:
    window.window_actions.tool_lasso.setShortcut(QKeySequence("Ctrl+Alt+L"))
    extra = QAction("Frobnicate", window)
    extra.setShortcut(QKeySequence("Ctrl+Alt+F"))
    window.addAction(extra)
    window.window_actions.shortcuts_help.trigger()
    rows = dict(window.help_menu.shortcuts_dialog.rows_shown())
    native = QKeySequence.SequenceFormat.NativeText
    assert rows["Lasso"].startswith(QKeySequence("Ctrl+Alt+L").toString(native))
    assert rows["Frobnicate"] == QKeySequence("Ctrl+Alt+F").toString(native)


def test_filter_narrows_the_list(window: MainWindow) -> None:
    window.window_actions.shortcuts_help.trigger()
    dialog = window.help_menu.shortcuts_dialog
    dialog.filter.setText("brush")
    assert {text for text, _ in dialog.rows_shown()} == {"Brush", "Smaller Brush", "Bigger Brush"}


def test_f1_opens_the_shortcuts(window: MainWindow, qtbot) -> None:  # noqa: ANN001
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: window.help_menu.shortcuts_dialog is not None and window.help_menu.shortcuts_dialog.isVisible())
    assert window.menuBar().actions()[-1].text() == "&Help"


def test_about_shows_version_credit_licence_and_folders(window: MainWindow) -> None:
    window.window_actions.about.trigger()
    dialog = window.help_menu.about_dialog
    assert isinstance(dialog, AboutDialog) and dialog.isVisible()
    text = dialog.text.text()
    assert f"lamapaint {__version__}" in text
    assert "Suvorov et al." in text and "WACV 2022" in text and "Apache License 2.0" in text
    shown = " ".join(dialog.folders.itemAt(i).widget().text() for i in range(dialog.folders.count()))
    paths = app_paths()
    for folder in (paths.config_dir, paths.models_dir, paths.autosave_dir):
        assert str(folder) in shown


def test_empty_window_invites_to_open_a_photo(window: MainWindow) -> None:
    hint = window.empty_hint
    assert hint.isVisible() and hint.label.text() == HINT_TEXT == "Open a photo or drop it here"
    assert hint.geometry() == window.view.viewport().rect()
    window.set_document(Document(make_photo()))
    assert not hint.isVisible()
    window.set_document(None)
    assert hint.isVisible()


def test_window_and_toolbar_have_icons(window: MainWindow) -> None:
    app = create_app()
    assert app is QApplication.instance()
    assert not app.windowIcon().isNull() and not window.windowIcon().isNull()
    assert app.desktopFileName() == "io.github.lamapaint.Lamapaint"
    a = window.window_actions
    for action in [*a.tools(), a.remove, a.compare]:
        assert not action.icon().isNull(), plain_text(action)
        assert action in window.tools_toolbar.actions()
