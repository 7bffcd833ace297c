"""Every QAction of the window, with its text, shortcut and tool tip, in one place.

The main window connects them; tests trigger them. Undo/Redo texts name the step they act on.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from lamapaint.qt.tools.brush import BrushTool, EraserTool
from lamapaint.qt.tools.hand import HandTool
from lamapaint.qt.tools.select import SelectTool
from lamapaint.qt.tools.shapes import LassoTool, RectTool


#: A QAction property naming the F1 list's group for an action that sits in no menu (a panel's keys).
HELP_GROUP_PROPERTY = "helpGroup"


def _action(parent: QObject, text: str, shortcut: str | QKeySequence.StandardKey | list | None = None, tip: str = "", checkable: bool = False) -> QAction:
    action = QAction(text, parent)
    if isinstance(shortcut, list):
        action.setShortcuts([QKeySequence(s) for s in shortcut])
    elif shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        shortcut_text = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({shortcut_text})" if shortcut_text else tip)
        action.setStatusTip(tip)
    action.setCheckable(checkable)
    return action


class Actions(QObject):
    """Plain holder; no behaviour here beyond enabling/labelling helpers."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        keys = QKeySequence.StandardKey
        # File
        self.open = _action(self, "&Open…", keys.Open, "Open a photo or a .lamapaint project")
        self.save = _action(self, "&Save Project", keys.Save, "Save the project (photo, layers, mask)")
        self.save_as = _action(self, "Save Project &As…", "Ctrl+Shift+S", "Save the project under a new name")
        self.export = _action(self, "&Export Image…", "Ctrl+E", "Write the cleaned photo as JPEG/PNG/TIFF/WebP")
        self.import_mask = _action(self, "&Import Mask…", None, "Use an image of the photo's size as the mask (white or opaque = remove)")
        self.export_mask = _action(self, "Export &Mask…", None, "Save the mask as a PNG, white = remove (the painted mask and the areas already removed)")
        self.reuse_mask = _action(self, "Reuse &Last Mask", None, "Put the last photo's mask on this one (same size: sensor dust, a watermark, a series)")
        self.quit = _action(self, "&Quit", keys.Quit)
        # Edit
        self.undo = _action(self, "&Undo", keys.Undo, "Undo the last step")
        self.redo = _action(self, "&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo the step undone last")
        self.clear_mask = _action(self, "&Clear Mask", "Esc", "Clear the painted mask")
        self.grow_mask = _action(self, "&Grow Mask", "Ctrl+G", "Grow the mask by the amount beside the Grow button (covers halos and shadows' edges)")
        self.shrink_mask = _action(self, "S&hrink Mask", "Ctrl+Shift+G", "Shrink the mask by the amount beside the Grow button")
        self.invert_mask = _action(self, "&Invert Mask", "Ctrl+I", "Swap painted and unpainted areas")
        # View
        self.zoom_in = _action(self, "Zoom &In", [keys.ZoomIn, "Ctrl+="], "Zoom in")
        self.zoom_out = _action(self, "Zoom &Out", keys.ZoomOut, "Zoom out")
        self.zoom_fit = _action(self, "&Fit to Window", "Ctrl+0", "Show the whole photo")
        self.zoom_100 = _action(self, "&Actual Pixels", "Ctrl+1", "One image pixel per screen pixel")
        # The tab puts "Hold \" in the menu's shortcut column: the key is held, not pressed.
        self.compare = _action(self, "&Compare with Original\tHold \\", None, "Show the original photo without the removals (or hold \\)", checkable=True)
        # Tools
        self.tool_group = QActionGroup(self)
        self.tool_brush = _action(self, "&Brush", "B", "Paint over what to remove", checkable=True)
        self.tool_eraser = _action(self, "&Eraser", "E", "Erase the painted mask", checkable=True)
        self.tool_lasso = _action(self, "&Lasso", "L", "Draw around what to remove (Alt: erase)", checkable=True)
        self.tool_rect = _action(self, "&Rectangle", "R", "Drag a box over what to remove (Alt: erase)", checkable=True)
        self.tool_select = _action(
            self, "&Select Object", "S", "Click an object to select it (Alt-click or right-click: exclude a part; drag: a box; draw around it: a stroke)", checkable=True
        )
        self.tool_hand = _action(self, "&Hand", "H", "Pan the view (or hold space, or drag with the middle button)", checkable=True)
        #: Tool actions by the tool's own name, in toolbar order.
        self.tool_actions: dict[str, QAction] = {
            BrushTool.name: self.tool_brush,
            EraserTool.name: self.tool_eraser,
            LassoTool.name: self.tool_lasso,
            RectTool.name: self.tool_rect,
            SelectTool.name: self.tool_select,
            HandTool.name: self.tool_hand,
        }
        for a in self.tools():
            self.tool_group.addAction(a)
        self.tool_brush.setChecked(True)
        self.brush_smaller = _action(self, "Smaller Brush", "[", "Make the brush smaller")
        self.brush_bigger = _action(self, "Bigger Brush", "]", "Make the brush bigger")
        # Select: Enter (the Remove key) adds a candidate first; Esc (Clear Mask) drops it first.
        self.select_add = _action(self, "Add Selection to Mask", ["Shift+Return", "Shift+Enter"], "Add the selected object, grown by the Grow amount, to the mask (or Enter)")
        self.select_subtract = _action(self, "Subtract Selection from Mask", ["Alt+Return", "Alt+Enter"], "Take the selected object out of the mask")
        self.select_cycle = _action(self, "Next Candidate", "C", "Show SAM's next candidate: the whole object, a part, a smaller part")
        self.select_drop = _action(self, "Drop Selection", None, "Forget the selection's clicks (or Esc)")
        self.tool_select.setIconText("Select")
        self.select_add.setIconText("Add")
        self.select_drop.setIconText("✗")
        # Remove
        self.remove = _action(self, "&Remove Object", ["Return", "Enter"], "Fill the painted area from its surroundings")
        self.cancel_removal = _action(self, "&Cancel Removal", "Ctrl+.", "Stop the running removal")
        self.auto_remove = _action(self, "Remove &When a Stroke Ends", None, "On: each stroke is removed as soon as you finish it (quick touch-ups). Off: press Remove", checkable=True)
        self.models = _action(self, "&Models and Device…", None, "Install LaMa models; choose device and precision")
        self.show_histogram = _action(self, "Fill &Histogram", None, "RGB histogram of the last fill against its surroundings", checkable=True)
        # Help
        self.shortcuts_help = _action(self, "&Keyboard Shortcuts", "F1", "List every keyboard shortcut")
        self.about = _action(self, "&About lamapaint", None, "Version, credits, licence and where lamapaint keeps its files")
        self.about.setMenuRole(QAction.MenuRole.AboutRole)

        # Short labels for the toolbar; menus keep the full text.
        self.compare.setIconText("Compare")
        self.auto_remove.setIconText("Remove after stroke")  # "Auto" alone said nothing of what it does
        self.remove.setIconText("Remove")
        self.clear_mask.setIconText("Clear")
        self.grow_mask.setIconText("Grow")

    def tools(self) -> list[QAction]:
        return list(self.tool_actions.values())

    def canvas_actions(self) -> list[QAction]:
        """Single-key shortcuts of the canvas. They act window-wide, from any panel; while a text
        field is edited (a layer rename, a spin box) ``CanvasKeys`` leaves letters, Enter and Esc to it."""
        return [*self.tools(), self.brush_smaller, self.brush_bigger, self.remove, self.clear_mask, *self.select_actions()]

    def select_actions(self) -> list[QAction]:
        """The Select tool's actions: enabled while it shows a candidate."""
        return [self.select_add, self.select_subtract, self.select_cycle, self.select_drop]

    def document_actions(self) -> list[QAction]:
        """Actions that need an open document."""
        return [
            self.save, self.save_as, self.export, self.import_mask, self.export_mask, self.clear_mask, self.grow_mask, self.shrink_mask,
            self.invert_mask, self.zoom_in, self.zoom_out, self.zoom_fit, self.zoom_100, self.compare, self.remove,
        ]

    def update_history(self, undo_label: str | None, redo_label: str | None) -> None:
        self.undo.setEnabled(undo_label is not None)
        self.redo.setEnabled(redo_label is not None)
        self.undo.setText(f"&Undo {undo_label}" if undo_label else "&Undo")
        self.redo.setText(f"&Redo {redo_label}" if redo_label else "&Redo")
