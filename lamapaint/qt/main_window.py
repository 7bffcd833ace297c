"""The main window: builds the canvas, toolbars, docks and status bar and wires their signals.

Behaviour lives elsewhere: tools in ``tools/``, removals in ``removal.py``, files in ``files.py``,
panels in ``panels/``. Nothing here imports torch or pyqtgraph at start-up.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolBar,
    QWidget,
)

from lamapaint.core.document import Document
from lamapaint.core.layers import Layer
from lamapaint.core.mask import grow_step
from lamapaint.inpaint.types import InpaintOptions, run_details
from lamapaint.io.autosave import RecoverableSession, discard_session, list_recoverable, restore_session
from lamapaint.io.write_errors import explain_write_error
from lamapaint.qt.actions import Actions
from lamapaint.qt.autosave import AutosaveController
from lamapaint.qt.canvas.placeholder import EmptyCanvasHint
from lamapaint.qt.canvas.view import CanvasView
from lamapaint.qt.canvas_keys import CanvasKeys
from lamapaint.qt.dialogs.help import HelpMenu
from lamapaint.qt.document_adapter import DocumentAdapter
from lamapaint.qt.files import FILES_LANE, DocumentFiles
from lamapaint.qt.first_run import FirstRunPanel
from lamapaint.qt.window_geometry import restore_geometry
from lamapaint.qt.icons import set_toolbar_icons
from lamapaint.qt.jobs import JobRunner
from lamapaint.qt.mask_files import MaskFiles
from lamapaint.qt.model_installer import MODELS_LANE, ModelInstaller, ModelStore
from lamapaint.qt.model_words import engine_words, model_installed
from lamapaint.qt.panels.history import HistoryPanel
from lamapaint.qt.panels.layers import LayersPanel
from lamapaint.qt.removal import FillSample, RemovalController
from lamapaint.qt.sam_offer import SamOffer
from lamapaint.qt.selection import SelectionController
from lamapaint.qt.tools.base import Tool
from lamapaint.qt.tools.brush import BrushTool, EraserTool
from lamapaint.qt.tools.hand import HandTool
from lamapaint.qt.tools.select import SelectTool
from lamapaint.qt.tools.shapes import LassoTool, RectTool
from lamapaint.qt.worker import EngineInfo
from lamapaint.settings import Settings, app_paths

if TYPE_CHECKING:
    from lamapaint.qt.panels.histogram import HistogramPanel

log = logging.getLogger(__name__)

APP_TITLE = "lamapaint"
BRUSH_MIN, BRUSH_MAX = 2, 500
DOCK_WIDTH = 280
#: Room beside the tool bar in the least width a restored window gets (its margins, the handle).
TOOLBAR_SLACK = 8


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        settings_reset: list[str] = []
        if settings is None:
            settings, settings_reset = Settings.load_checked()
        self.settings = settings
        self.engine_overrides: dict[str, Any] = {}  # tests and power users: e.g. {"weights": Path}
        self.adapter = DocumentAdapter(self)
        self.jobs = JobRunner(self)
        self.window_actions = Actions(self)
        self.view = CanvasView(self)
        self.selection = SelectionController(self.jobs, lambda: self.adapter.document, self.view.visible_image_rect, self)
        self.tools: dict[str, Tool] = {t.name: t for t in (BrushTool(), EraserTool(), LassoTool(), RectTool(), SelectTool(self.selection), HandTool())}
        self.view.set_pan_tool(HandTool())
        self.view.set_tool(self.tools["brush"])
        self.removal = RemovalController(self.adapter, self.engine_options, self.jobs, self)
        self.files = DocumentFiles(self.adapter, self.jobs, self.settings, self)
        self.mask_files = MaskFiles(self.adapter, self.jobs, self.window_actions, self)  # connects its own actions
        self.autosave = AutosaveController(self.adapter, self.jobs, self.settings.autosave_seconds, self, brush_size=lambda: self.settings.brush_size)
        self.installer = ModelInstaller(self.jobs, self)  # every model install, from any panel
        self.sam_offer = SamOffer(self.installer, self)
        self.first_run = FirstRunPanel(self.view.viewport(), self.installer)
        self._histogram: HistogramPanel | None = None
        self._last_fill: FillSample | None = None  # shown when the histogram is (or becomes) visible
        self._drawn_fill: FillSample | None = None  # the one the histogram shows

        self.setCentralWidget(self.view)  # notices float over it: nothing moves the canvas
        self.setAcceptDrops(True)

        # Canvas keys act from any panel; text fields keep theirs (see canvas_keys.py).
        self.addActions(self.window_actions.canvas_actions())
        self.canvas_keys = CanvasKeys(self, self.view.hold_key)
        self._build_menus()
        self.help_menu = HelpMenu(self, self.window_actions.shortcuts_help, self.window_actions.about)  # last menu
        self._build_toolbars()
        set_toolbar_icons(self.window_actions)
        self.empty_hint = EmptyCanvasHint(self.view, self.adapter, self.window_actions.open)
        self._build_docks()
        self._build_status_bar()
        self._connect()
        self.set_brush_size(self.settings.brush_size)
        self.window_actions.auto_remove.setChecked(self.settings.remove_on_stroke_end)
        self._restore_geometry()
        self._update_document_actions()
        self._selection_changed()
        self._update_title()
        if not model_installed():
            self.first_run.offer()
        if settings_reset:
            self.show_message(f"Some settings could not be used and are back to their defaults: {', '.join(settings_reset)}.")

    # -- building -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        a = self.window_actions
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(a.open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        for action in (a.save, a.save_as, a.export):
            file_menu.addAction(action)
        file_menu.addSeparator()
        for action in (a.import_mask, a.export_mask, a.reuse_mask):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(a.quit)
        edit = bar.addMenu("&Edit")
        for action in (a.undo, a.redo, None, a.clear_mask, a.grow_mask, a.shrink_mask, a.invert_mask):
            edit.addSeparator() if action is None else edit.addAction(action)
        view = bar.addMenu("&View")
        for action in (a.zoom_in, a.zoom_out, a.zoom_fit, a.zoom_100, None, a.compare, a.show_histogram):
            view.addSeparator() if action is None else view.addAction(action)
        self.panels_menu = view.addMenu("&Panels")
        tools = bar.addMenu("&Tools")
        for action in [*a.tools(), None, a.brush_smaller, a.brush_bigger]:
            tools.addSeparator() if action is None else tools.addAction(action)
        select = tools.addMenu("Se&lection")
        for action in a.select_actions():
            select.addAction(action)
        remove = bar.addMenu("&Remove")
        for action in (a.remove, a.cancel_removal, a.auto_remove, None, a.models):
            remove.addSeparator() if action is None else remove.addAction(action)
        self._fill_recent_menu()

    def _build_toolbars(self) -> None:
        a = self.window_actions
        tools = QToolBar("Tools", self)
        tools.setObjectName("toolsToolbar")
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tools.addAction(a.remove)
        tools.addSeparator()
        for action in a.tools():
            tools.addAction(action)
        tools.addSeparator()
        tools.addWidget(QLabel(" Size ", self))
        self.brush_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.brush_slider.setRange(BRUSH_MIN, BRUSH_MAX)
        self.brush_slider.setFixedWidth(140)
        self.brush_spin = QSpinBox(self)
        self.brush_spin.setRange(BRUSH_MIN, BRUSH_MAX)
        self.brush_spin.setSuffix(" px")
        tools.addWidget(self.brush_slider)
        tools.addWidget(self.brush_spin)
        tools.addSeparator()
        tools.addAction(a.clear_mask)
        tools.addAction(a.grow_mask)
        self.grow_spin = QSpinBox(self)
        self.grow_spin.setRange(1, 200)
        self.grow_spin.setSuffix(" px")
        self.grow_spin.setValue(4)
        self.grow_spin.setToolTip("How far Grow and Shrink move the mask's edge; set from the photo's size when it opens")
        tools.addWidget(self.grow_spin)
        tools.addSeparator()
        tools.addAction(a.select_add)
        tools.addAction(a.select_drop)
        tools.addSeparator()
        tools.addAction(a.compare)
        tools.addAction(a.auto_remove)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tools)
        self.tools_toolbar = tools

    def _build_docks(self) -> None:
        self.layers_panel = LayersPanel(self.adapter, self)
        self.history_panel = HistoryPanel(self.adapter, self)
        self.layers_dock = self._dock("Layers", "layersDock", self.layers_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_dock = self._dock("History", "historyDock", self.history_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.layers_dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.panels_menu.addAction(dock.toggleViewAction())
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFixedWidth(160)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the running removal")
        self.cancel_button.hide()
        self.busy_label = QLabel("", self)
        self.engine_label = QLabel("Engine: not loaded yet", self)
        self.cursor_label = QLabel("", self)
        self.size_label = QLabel("", self)
        self.zoom_label = QLabel("", self)
        for w in (self.busy_label, self.progress_bar, self.cancel_button):
            bar.addWidget(w)
        for w in (self.engine_label, self.cursor_label, self.size_label, self.zoom_label):
            bar.addPermanentWidget(w)

    def _connect(self) -> None:
        a = self.window_actions
        a.open.triggered.connect(self.files.ask_open)
        a.save.triggered.connect(lambda: self.files.save())
        a.save_as.triggered.connect(lambda: self.files.save_as())
        a.export.triggered.connect(self.files.ask_export)
        a.quit.triggered.connect(self.close)
        a.undo.triggered.connect(lambda: self._doc_call("undo"))
        a.redo.triggered.connect(lambda: self._doc_call("redo"))
        a.clear_mask.triggered.connect(self.clear_mask)
        a.grow_mask.triggered.connect(lambda: self.grow_mask(self.grow_spin.value()))
        a.shrink_mask.triggered.connect(lambda: self.grow_mask(-self.grow_spin.value()))
        a.invert_mask.triggered.connect(lambda: self._doc_call("invert_mask"))
        a.zoom_in.triggered.connect(lambda: self.view.zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: self.view.zoom_by(0.8))
        a.zoom_fit.triggered.connect(self.view.fit)
        a.zoom_100.triggered.connect(self.view.actual_size)
        a.compare.toggled.connect(self.view.set_compare)
        for name, action in a.tool_actions.items():
            action.triggered.connect(lambda _checked=False, n=name: self.select_tool(n))
        a.brush_smaller.triggered.connect(lambda: self.set_brush_size(round(self.brush_spin.value() / 1.25)))
        a.brush_bigger.triggered.connect(lambda: self.set_brush_size(round(self.brush_spin.value() * 1.25) + 1))
        a.remove.triggered.connect(self.remove_or_accept)
        a.select_add.triggered.connect(lambda: self.accept_selection(subtract=False))
        a.select_subtract.triggered.connect(lambda: self.accept_selection(subtract=True))
        a.select_cycle.triggered.connect(self.selection.cycle)
        a.select_drop.triggered.connect(self.selection.drop)
        self.selection.candidateChanged.connect(self._selection_changed)
        self.selection.busyChanged.connect(lambda _busy: self.view.viewport().update())
        self.selection.message.connect(self.show_message)
        self.selection.accepted.connect(self._stroke_finished)
        self.selection.classicalInUse.connect(self.sam_offer.offer)
        self.sam_offer.message.connect(self.show_message)
        self.sam_offer.installed.connect(lambda _path: self.selection.model_installed())
        self.sam_offer.installed.connect(lambda _path: self._prepare_selection())
        a.cancel_removal.triggered.connect(self.removal.cancel)
        a.auto_remove.toggled.connect(self._set_auto_remove)
        a.models.triggered.connect(self.open_model_manager)
        a.show_histogram.toggled.connect(self._toggle_histogram)
        self.brush_slider.valueChanged.connect(self.set_brush_size)
        self.brush_spin.valueChanged.connect(self.set_brush_size)
        self.cancel_button.clicked.connect(self.cancel_running)
        self.installer.installed.connect(self._model_installed)

        self.adapter.maskChanged.connect(self.view.on_mask_changed)
        self.adapter.layersChanged.connect(lambda _rect: self.view.sync_layers())
        self.adapter.layersChanged.connect(lambda _rect: self._prepare_selection())
        self.adapter.historyChanged.connect(self._update_history_actions)
        self.adapter.cleanChanged.connect(lambda _clean: self._update_title())
        self.adapter.projectPathChanged.connect(self._update_title)
        self.layers_panel.layerSelected.connect(self.view.select_layer)
        self.view.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.view.cursorMoved.connect(self._show_cursor)
        self.view.strokeFinished.connect(self._stroke_finished)

        self.removal.busyChanged.connect(self._removal_busy)
        self.removal.progress.connect(self._removal_progress)
        self.removal.statusMessage.connect(self.show_message)
        self.removal.failed.connect(self._removal_failed)
        self.removal.engineChanged.connect(self._engine_changed)
        self.removal.layerAdded.connect(self._layer_added)
        self.files.documentLoaded.connect(self.set_document)
        self.files.projectSaved.connect(lambda _path: self.autosave.saved_as_project())
        self.files.projectSaved.connect(lambda _path: self._update_title())  # Save As of a clean document
        self.autosave.failed.connect(self.show_message)
        self.files.message.connect(self.show_message)
        self.mask_files.message.connect(self.show_message)
        self.files.recentChanged.connect(self._fill_recent_menu)
        self.jobs.busyChanged.connect(self._jobs_busy)
        self.jobs.progress.connect(self._show_progress)

    # -- document -------------------------------------------------------------------------------
    @property
    def document(self) -> Document | None:
        return self.adapter.document

    def set_document(self, doc: Document | None, recovered: RecoverableSession | None = None) -> None:
        self.removal.cancel()
        self.view.set_document(doc)
        self.adapter.set_document(doc)
        self.selection.drop()
        self.autosave.document_replaced(recovered)
        if doc is not None:
            self.view.setFocus()  # the canvas owns the single-key shortcuts
        self.size_label.setText(f"{doc.width} × {doc.height}" if doc is not None else "")
        if doc is not None:
            self.grow_spin.setValue(grow_step(doc.width, doc.height))
        self._update_document_actions()
        self._update_title()

    def open_path(self, path: Path) -> None:
        self.files.open_path(path)

    def offer_recovery(self) -> None:
        """At start: offer autosaves of sessions that crashed."""
        from lamapaint.qt.dialogs.recovery import RecoveryDialog

        sessions = list_recoverable()
        if not sessions:
            return
        dialog = RecoveryDialog(sessions, self)
        dialog.exec()
        if dialog.choice == RecoveryDialog.RESTORE:
            session = dialog.selected()
            if not self.autosave.claim(session):  # another window restored it first
                self.show_message(f"The autosave of {session.photo_name} is already open in another window.")
                return
            self.jobs.submit(
                FILES_LANE,
                f"Restoring {session.photo_name}…",
                lambda _progress, _cancel: restore_session(session),
                lambda doc: self._recovered(doc, session),
                lambda exc: self._recovery_failed(exc),
                on_cancelled=self.autosave.release_claim,
                foreground=True,
            )
        elif dialog.choice == RecoveryDialog.DISCARD:
            for session in sessions:
                try:
                    discard_session(session)
                except (OSError, RuntimeError) as exc:
                    log.warning("Could not discard autosave %s: %s", session.session_id, exc)

    def _recovered(self, doc: Document, session: RecoverableSession) -> None:
        self.set_document(doc, recovered=session)
        if session.brush_size is not None:
            self.set_brush_size(session.brush_size)
        self.show_message(f"Restored unsaved work on {session.photo_name}. Save it to keep it.")

    def _recovery_failed(self, exc: BaseException) -> None:
        self.autosave.release_claim()
        self.show_message(f"Could not restore the autosave: {exc}")

    def _doc_call(self, method: str, *args: Any) -> None:
        doc = self.document
        if doc is not None:
            getattr(doc, method)(*args)

    def clear_mask(self) -> None:
        tool = self.view.tool
        if tool is not None and tool.active:
            tool.cancel(self.view)  # Esc first abandons a lasso or box in progress
            return
        if self.selection.drop():  # then a selection's clicks and candidate
            return
        self._doc_call("clear_mask")

    def grow_mask(self, pixels: int) -> None:
        """Grow (positive) or shrink the mask and say by how much."""
        doc = self.document
        if doc is None:
            return
        if not doc.mask.any():
            self.show_message("Paint a mask first; there is nothing to grow or shrink.")
            return
        doc.grow_mask(pixels)
        self.show_message(f"Mask grown by {pixels} px" if pixels > 0 else f"Mask shrunk by {-pixels} px")

    def engine_options(self) -> InpaintOptions:
        s = self.settings
        options = InpaintOptions(model=s.model, strategy=s.strategy, device=s.device, precision=s.precision, threads=s.threads)
        return dataclasses.replace(options, **self.engine_overrides)

    # -- tools ----------------------------------------------------------------------------------
    def select_tool(self, name: str) -> None:
        self.view.set_tool(self.tools[name])
        self.window_actions.tool_actions[name].setChecked(True)
        self._prepare_selection()

    # -- selection ------------------------------------------------------------------------------
    def _prepare_selection(self) -> None:
        """With the Select tool chosen, the embedding of the pixels shown is computed in the background."""
        if self.view.tool is self.tools["select"] and self.document is not None:
            self.selection.prepare()

    def remove_or_accept(self) -> None:
        """Enter: a shown selection goes into the mask first; Enter again removes."""
        if not self.accept_selection(subtract=False):
            self.removal.remove()

    def accept_selection(self, subtract: bool) -> bool:
        grow_pixels = 0 if subtract else self.grow_spin.value()
        if not self.selection.accept(grow_pixels, subtract=subtract):
            return False
        self.show_message("Selection taken out of the mask" if subtract else f"Selection added to the mask, grown by {grow_pixels} px; Enter removes it")
        return True

    def _selection_changed(self) -> None:
        for action in self.window_actions.select_actions():
            action.setEnabled(self.selection.has_candidate or action is self.window_actions.select_drop and bool(self.selection.prompts))
        self.view.viewport().update()

    def set_brush_size(self, size: int) -> None:
        size = max(BRUSH_MIN, min(BRUSH_MAX, int(size)))
        for w in (self.brush_slider, self.brush_spin):
            if w.value() != size:
                w.blockSignals(True)
                w.setValue(size)
                w.blockSignals(False)
        self.settings.brush_size = size
        self.view.set_brush_radius(size / 2)

    def _stroke_finished(self) -> None:
        if self.window_actions.auto_remove.isChecked():
            self.removal.remove()

    def _set_auto_remove(self, on: bool) -> None:
        self.settings.remove_on_stroke_end = on

    # -- removal feedback -----------------------------------------------------------------------
    def _removal_busy(self, busy: bool) -> None:
        self.window_actions.cancel_removal.setEnabled(busy)
        self._show_busy()

    def _removal_progress(self, fraction: float, message: str) -> None:
        if not self.jobs.busy:  # a file job the person waits for owns the progress bar
            self._show_progress(fraction, message)

    def _show_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        self.busy_label.setText(message)

    def _show_busy(self) -> None:
        """One progress bar and Cancel button for whatever the person waits for (a file job or a removal)."""
        busy = self.jobs.busy or self.removal.busy
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        waited = [job.label for job in self.jobs.running() if job.foreground]
        self.cancel_button.setToolTip(f"Stop: {waited[-1]}" if waited else "Stop the running removal")
        if not busy:
            self.busy_label.setText("")

    def cancel_running(self) -> None:
        """The status bar's Cancel: stops the file job being waited for, else the removal."""
        if not self.jobs.cancel_foreground():
            self.removal.cancel()

    def _removal_failed(self, message: str) -> None:
        QMessageBox.warning(self, "Removal failed", message)  # the status line already says it

    def _engine_changed(self, info: EngineInfo) -> None:
        self.engine_label.setText(f"Engine: {engine_words(info.backend, info.device)}")
        self.engine_label.setToolTip(f"{info.backend} · {info.device} · {info.precision}")
        if info.fallback_reason:
            log.info("Fallback: %s", info.fallback_reason)

    def _layer_added(self, layer: Layer, sample: FillSample) -> None:
        if layer.run is not None:
            self.engine_label.setToolTip(run_details(layer.run))
        self._last_fill = sample
        self._show_last_fill()

    def _show_last_fill(self) -> None:
        """The last fill's histogram, computed only while the histogram dock is on screen."""
        sample = self._last_fill
        if self._histogram is not None and sample is not None and sample is not self._drawn_fill and self.histogram_dock.isVisible():
            self._histogram.show_fill(sample.name, *sample.pixels)
            self._drawn_fill = sample

    def _model_installed(self, store: ModelStore, path: Path) -> None:
        self.removal.models_changed()
        self.first_run.hide()
        self.show_message(f"The {store.title} is installed ({path.name}); the next removal uses it.")

    def open_model_manager(self) -> None:
        from lamapaint.qt.dialogs.model_manager import ModelManagerDialog

        dialog = ModelManagerDialog(self.settings, self, self.installer)
        if dialog.exec() == ModelManagerDialog.DialogCode.Accepted:
            dialog.apply_to(self.settings)
            if self._write_settings():
                self.show_message("Model settings saved; they apply to the next removal.")
        self.removal.models_changed()  # a model may have been installed: the next removal looks again
        if model_installed():
            self.first_run.hide()

    def _toggle_histogram(self, on: bool) -> None:
        if self._histogram is None:
            if not on:
                return
            from lamapaint.qt.panels.histogram import HistogramPanel

            self._histogram = HistogramPanel(self)
            self.histogram_dock = self._dock("Fill histogram", "histogramDock", self._histogram, Qt.DockWidgetArea.RightDockWidgetArea)
            self.tabifyDockWidget(self.history_dock, self.histogram_dock)
            # toggleViewAction follows close-button clicks but not tab switches (visibilityChanged would).
            self.histogram_dock.toggleViewAction().toggled.connect(self.window_actions.show_histogram.setChecked)
            # Shown, or brought to the front of its tab group: draw the fill it has not drawn yet.
            self.histogram_dock.visibilityChanged.connect(lambda visible: visible and self._show_last_fill())
        self.histogram_dock.setVisible(on)
        if on:
            self.histogram_dock.raise_()
            self.resizeDocks([self.layers_dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)

    # -- status ---------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _show_cursor(self, pos: tuple[int, int] | None) -> None:
        self.cursor_label.setText("" if pos is None else f"x {pos[0]}, y {pos[1]}")

    def _jobs_busy(self, busy: bool, label: str) -> None:
        if busy:
            self.progress_bar.setValue(0)
            self.busy_label.setText(label)
        # A file job is waited for (busy cursor); a model install runs while the person works on.
        if any(job.foreground and job.lane != MODELS_LANE for job in self.jobs.running()):
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
        self._show_busy()

    def _update_history_actions(self) -> None:
        self.window_actions.update_history(self.adapter.undo_label, self.adapter.redo_label)

    def _update_document_actions(self) -> None:
        has_doc = self.document is not None
        for action in self.window_actions.document_actions():
            action.setEnabled(has_doc)
        self.window_actions.cancel_removal.setEnabled(self.removal.busy)
        self._update_history_actions()

    def _update_title(self) -> None:
        doc = self.document
        if doc is None:
            self.setWindowTitle(APP_TITLE)
            return
        name = doc.project_path.name if doc.project_path else doc.name
        self.setWindowTitle(f"{name}{'' if self.adapter.is_clean else ' *'} — {APP_TITLE}")

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for text in self.settings.recent_files:
            path = Path(text)
            action = self.recent_menu.addAction(path.name)
            action.setToolTip(text)
            action.triggered.connect(lambda _checked=False, p=path: self.files.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    # -- window ---------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        restore_geometry(self, self.settings.window_geometry, self.tools_toolbar.sizeHint().width() + 2 * TOOLBAR_SLACK)
        if self.settings.window_state:
            self.restoreState(QByteArray(base64.b64decode(self.settings.window_state)))

    def _save_settings(self) -> None:
        self.settings.window_geometry = base64.b64encode(bytes(self.saveGeometry().data())).decode("ascii")
        self.settings.window_state = base64.b64encode(bytes(self.saveState().data())).decode("ascii")
        self._write_settings()

    def _write_settings(self) -> bool:
        """Save the settings file; a failure costs one log line and a status message, never the window."""
        try:
            self.settings.save()
        except OSError as exc:
            text = explain_write_error(exc, app_paths().settings_file) or f"Could not save the settings: {exc.strerror or exc}"
            log.warning("Could not save the settings: %s", text)
            self.show_message(text)
            return False
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                event.acceptProposedAction()
                # Let the drop finish before a possible "unsaved changes" prompt.
                path = Path(url.toLocalFile())
                QTimer.singleShot(0, lambda: self.files.open_path(path))
                return

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.maybe_save(on_saved=self.close):
            event.ignore()
            return
        self.installer.cancel()
        self.canvas_keys.remove()
        self.removal.shutdown()
        self.jobs.wait(FILES_LANE)
        self.autosave.shutdown()
        self._save_settings()
        self.adapter.set_document(None)
        event.accept()
