"""Help menu, shortcut list, About, the empty-window hint and the window's icons."""

from __future__ import annotations

import numpy as np
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


def test_every_canvas_key_is_listed_held_keys_and_panel_keys_included(window: MainWindow) -> None:
    from lamapaint.qt.canvas_keys import CanvasKeys
    from lamapaint.qt.dialogs.help import HELD_GROUP, held_key_text

    window.window_actions.shortcuts_help.trigger()
    rows = window.help_menu.shortcuts_dialog.rows_shown()
    listed = dict(rows)
    for action in window.window_actions.canvas_actions():
        if not action.shortcut().isEmpty():  # a key to list (Drop Selection has none: Esc drops it)
            assert listed[plain_text(action)].startswith(key_text(action))
    for key, (name, _description) in CanvasKeys.HELD_KEYS.items():
        assert listed[name].startswith(held_key_text(key))
    assert listed["Compare with Original"].startswith("Hold \\") and listed["Pan"].startswith("Hold Space")
    assert listed["Delete Layer"].startswith(QKeySequence(Qt.Key.Key_Delete).toString(QKeySequence.SequenceFormat.NativeText))
    groups = [window.help_menu.shortcuts_dialog.tree.topLevelItem(i).text(0) for i in range(window.help_menu.shortcuts_dialog.tree.topLevelItemCount())]
    assert groups[-1] == HELD_GROUP and "Layers panel" in groups


def test_no_text_in_the_shortcut_list_is_cut_short(window: MainWindow) -> None:
    window.window_actions.shortcuts_help.trigger()
    tree = window.help_menu.shortcuts_dialog.tree
    metrics = tree.fontMetrics()
    padding = 2 * (tree.style().pixelMetric(tree.style().PixelMetric.PM_FocusFrameHMargin) + 1)
    checked = 0
    for g in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(g)
        for i in range(group.childCount()):
            item = group.child(i)
            for column in range(3):
                indent = tree.indentation() if column == 0 else 0
                needed = metrics.horizontalAdvance(item.text(column)) + indent + padding
                assert needed <= tree.columnWidth(column), (item.text(column), needed, tree.columnWidth(column))
                checked += 1
    assert checked > 60


def test_delete_in_the_layers_panel_deletes_the_selected_layer(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    from lamapaint.core.geometry import Rect
    from lamapaint.core.layers import Layer

    doc = Document(make_photo())
    window.set_document(doc)
    doc.add_layer(Layer.create("Removal 1", Rect(0, 0, 8, 8), np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 255, np.uint8)))
    panel = window.layers_panel
    panel.list.setCurrentRow(0)
    window.activateWindow()
    panel.list.setFocus()
    qtbot.waitUntil(lambda: panel.list.hasFocus())
    qtbot.keyClick(panel.list, Qt.Key.Key_Delete)
    assert len(doc.layers) == 0
