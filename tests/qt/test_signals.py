"""Each document change kind reaches the GUI once: a stroke of N stamps is N mask signals (dirty
rectangles for the canvas), one history signal at its end and one history-panel rebuild."""

from __future__ import annotations

from pathlib import Path

from lamapaint.core.document import Document
from lamapaint.qt.main_window import MainWindow
from tests.qt.conftest import drag, make_photo


def test_a_stroke_is_n_mask_signals_one_history_signal_one_panel_rebuild(qtbot, doc_window: MainWindow) -> None:  # noqa: ANN001
    win = doc_window
    counts = {"mask": 0, "history": 0, "clean": 0, "rebuild": 0}
    win.adapter.maskChanged.connect(lambda _rect: counts.__setitem__("mask", counts["mask"] + 1))
    win.adapter.historyChanged.connect(lambda: counts.__setitem__("history", counts["history"] + 1))
    win.adapter.cleanChanged.connect(lambda _clean: counts.__setitem__("clean", counts["clean"] + 1))
    win.history_panel.list.model().modelReset.connect(lambda: counts.__setitem__("rebuild", counts["rebuild"] + 1))
    points = [(20 + 3 * i, 20 + i) for i in range(12)]
    win.set_brush_size(6)
    drag(qtbot, win, points)
    stamps = len(points) + 1  # press, each move, release
    assert counts == {"mask": stamps, "history": 1, "clean": 1, "rebuild": 1}
    assert win.history_panel.list.count() == 2 and win.windowTitle().startswith("Untitled *")
    # a second stroke: the document is already dirty, so no clean signal
    drag(qtbot, win, [(80, 80), (85, 82)])
    assert counts["history"] == 2 and counts["clean"] == 1 and counts["rebuild"] == 2
    # undo to the clean state: one history signal, one clean signal, one rebuild
    win.window_actions.undo.trigger()
    win.window_actions.undo.trigger()
    assert counts["history"] == 4 and counts["clean"] == 2 and counts["rebuild"] == 4
    assert not win.windowTitle().endswith("* — lamapaint") and "*" not in win.windowTitle()


def test_history_panel_click_walks_many_steps_and_rebuilds_once(qtbot, doc_window: MainWindow) -> None:  # noqa: ANN001
    win = doc_window
    win.set_brush_size(4)
    for i in range(5):
        drag(qtbot, win, [(10 + 10 * i, 10), (12 + 10 * i, 12)])
    rebuilds: list[int] = []
    win.history_panel.list.model().modelReset.connect(lambda: rebuilds.append(1))
    win.history_panel.list.setCurrentRow(1)  # back to after the first stroke: four undos
    assert win.document.history.undo_count == 1 and len(rebuilds) == 1
    assert win.history_panel.list.count() == 6 and win.history_panel.list.currentRow() == 1


def test_project_path_is_a_document_change_that_retitles(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    doc = Document(make_photo())
    window.set_document(doc)
    seen: list[int] = []
    window.adapter.projectPathChanged.connect(lambda: seen.append(1))
    doc.set_project_path(tmp_path / "holiday.lamapaint")
    assert seen == [1] and window.windowTitle().startswith("holiday.lamapaint — ")
    doc.set_project_path(tmp_path / "holiday.lamapaint")  # no change: no signal
    assert seen == [1] and doc.snapshot().project_path == tmp_path / "holiday.lamapaint"


def test_opening_a_document_rebuilds_the_history_panel_once(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    rebuilds: list[int] = []
    window.history_panel.list.model().modelReset.connect(lambda: rebuilds.append(1))
    window.set_document(Document(make_photo()))
    assert rebuilds == [1] and window.history_panel.list.count() == 1
    window.set_document(None)
    assert rebuilds == [1, 1] and window.history_panel.list.count() == 0


def test_the_layers_panel_reads_each_layers_record_typed_never_reparsing(qtbot, window: MainWindow, monkeypatch) -> None:  # noqa: ANN001
    import numpy as np

    from lamapaint.core import run_record
    from lamapaint.core.geometry import Rect
    from lamapaint.core.layers import Layer
    from tests.io.test_project_runs import OLD_INFO

    doc = Document(make_photo())
    for i in range(3):  # as a project file hands them over: infos in the older format
        doc.add_layer(Layer.create(f"Removal {i + 1}", Rect(10 * i, 5, 10 * i + 8, 13), np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 255, np.uint8), info=dict(OLD_INFO)), clear_mask=False)
    parses: list[int] = []
    parse = run_record.RunInfo.from_dict.__func__
    monkeypatch.setattr(run_record.RunInfo, "from_dict", classmethod(lambda cls, data: (parses.append(1), parse(cls, data))[1]))
    window.set_document(doc)
    doc.set_layer_visible(doc.layers[0].id, False)
    doc.rename_layer(doc.layers[1].id, "Sky")
    assert window.layers_panel.list.count() == 4 and parses == []
    assert "with the basic fill" in window.layers_panel.list.item(0).toolTip()
