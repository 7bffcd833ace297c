"""Fault injection at the I/O level: the disk fills up (ENOSPC) or refuses (EACCES) half way through
a project save, an export, an autosave or a settings save.

Every case checks the same promises: the previous file is intact byte for byte, no temp file is
left, the document is untouched and still modified, and the error explains itself in one line.
4 targets x 3 fault points (a write after half the bytes, the fsync, the rename) x 2 errors.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.io.autosave import Autosaver
from lamapaint.io.export import ExportOptions, export_image
from lamapaint.io.images import load_image
from lamapaint.io.project import save_project
from lamapaint.io.write_errors import explain_write_error
from lamapaint.settings import Settings, app_paths
from tests.io.faults import inject_write_fault
from tests.layer_helpers import layer_from_result

POINTS = ["write", "fsync", "replace"]
CODES = {"ENOSPC": errno.ENOSPC, "EACCES": errno.EACCES}
WORDING = {errno.ENOSPC: "The disk is full", errno.EACCES: "No permission"}


def _document(folder: Path) -> Document:
    rgb = np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "beach.png")
    doc = Document(load_image(folder / "beach.png").rgb, source=load_image(folder / "beach.png"))
    doc.fill_rect(Rect(4, 4, 30, 20))
    layer = layer_from_result("Remove object", np.ascontiguousarray(rgb[::-1]), doc.mask, info={"backend": "test"})
    assert layer is not None
    doc.add_layer(layer)
    return doc


def _edit(doc: Document) -> None:
    doc.fill_rect(Rect(40, 30, 60, 44))


def _project(doc: Document, folder: Path) -> tuple[Path, Callable[[], object]]:
    path = folder / "beach.lamapaint"
    return path, lambda: save_project(path, doc.snapshot())


def _export(doc: Document, folder: Path) -> tuple[Path, Callable[[], object]]:
    path = folder / "beach-cleaned.png"
    return path, lambda: export_image(path, doc.composite(), doc.source, ExportOptions(overwrite=True), touched=doc.touched())


def _autosave(doc: Document, folder: Path) -> tuple[Path, Callable[[], object]]:
    saver = Autosaver(folder=folder / "autosave")
    return saver.project_file, lambda: saver.save(doc.snapshot(), brush_size=40)


def _settings(doc: Document, folder: Path) -> tuple[Path, Callable[[], object]]:
    settings = Settings()

    def save() -> None:
        settings.jpeg_quality = 80 + doc.revision % 20  # something changed since the last save
        settings.save()

    return app_paths().settings_file, save


TARGETS = {"project": _project, "export": _export, "autosave": _autosave, "settings": _settings}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("code_name", CODES)
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("target", TARGETS)
def test_failed_save_keeps_the_old_file_the_document_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_app_home: Path, target: str, point: str, code_name: str
) -> None:
    code = CODES[code_name]
    doc = _document(tmp_path)
    path, save = TARGETS[target](doc, tmp_path)
    save()
    before = path.read_bytes()
    _edit(doc)
    composite, mask, revision = doc.composite(), doc.mask.copy(), doc.revision
    watched = [tmp_path, isolated_app_home]
    files_before = [_files(folder) for folder in watched]

    with monkeypatch.context() as patch, pytest.raises(Exception) as caught:
        faults = inject_write_fault(patch, point, code, after_bytes=len(before) // 2)  # type: ignore[arg-type]
        save()

    assert faults.injected >= 1
    if point == "write":
        assert faults.bytes_written > 0  # it failed half way, not before the first byte
    assert path.read_bytes() == before
    assert [_files(folder) for folder in watched] == files_before  # nothing stray, nothing else changed
    assert not doc.is_clean and doc.revision == revision
    assert np.array_equal(doc.composite(), composite) and np.array_equal(doc.mask, mask)
    message = explain_write_error(caught.value, path)
    assert message is not None and message.startswith(WORDING[code]) and "\n" not in message
    assert path.name in message


def test_the_next_save_works_once_the_disk_has_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _document(tmp_path)
    path, save = _project(doc, tmp_path)
    with monkeypatch.context() as patch, pytest.raises(Exception):
        inject_write_fault(patch, "write", errno.ENOSPC, after_bytes=100)
        save()
    assert not path.exists() and list(tmp_path.glob(".*.part")) == []
    save()
    assert path.exists()


def test_read_only_folder_and_unknown_errors_are_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "x.lamapaint"
    assert explain_write_error(OSError(errno.EROFS, "Read-only file system"), path).startswith(f"The folder {tmp_path} is read-only")  # type: ignore[union-attr]
    assert explain_write_error(OSError(errno.EIO, "I/O error"), path) is None
    assert explain_write_error(ValueError("bad"), path) is None


def test_settings_load_removes_a_killed_settings_save(isolated_app_home: Path) -> None:
    import os
    import time

    Settings(brush_size=33).save()
    stale = app_paths().settings_file.with_name(".settings.json.k1ll3d00.part")
    stale.write_bytes(b'{"brush_si')
    os.utime(stale, (time.time() - 60, time.time() - 60))
    assert Settings.load().brush_size == 33
    assert not stale.exists()
