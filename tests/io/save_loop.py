"""Child processes for the SIGKILL tests: save versions of a small document in a loop until killed.

Version ``k`` of the document is fully determined by ``k``, so the parent can tell which complete
version a surviving file holds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from lamapaint.core.document import Document, DocumentSnapshot
from lamapaint.core.geometry import Rect
from lamapaint.io.autosave import Autosaver
from lamapaint.io.project import save_project
from tests.layer_helpers import layer_from_result

VERSIONS = 4
SESSION_ID = "killed-session"


def version(k: int) -> Document:
    """A 96x128 photo with a mask and a layer that both depend on ``k``."""
    rng = np.random.default_rng(1000 + k % VERSIONS)
    rgb = np.random.default_rng(7).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    doc = Document(rgb, name=f"v{k % VERSIONS}")
    x = int(rng.integers(0, 80))
    doc.fill_rect(Rect(x, 10, x + 40, 50))
    fill = rng.integers(0, 256, rgb.shape, dtype=np.uint8)
    layer = layer_from_result("Remove object", fill, doc.mask, info={"version": k % VERSIONS})
    assert layer is not None
    doc.add_layer(layer)
    doc.fill_rect(Rect(5, 60, 5 + 10 * (1 + k % VERSIONS), 90))
    return doc


# Built once at import: the fork server imports this module, so every child starts with them.
SNAPSHOTS: list[DocumentSnapshot] = [version(k).snapshot() for k in range(VERSIONS)]


def save_project_forever(target: str, first: int, ready: Any) -> None:
    snapshots = SNAPSHOTS
    ready.set()
    k = first
    while True:
        save_project(Path(target), snapshots[k % VERSIONS])
        k += 1


def autosave_forever(folder: str, first: int, ready: Any) -> None:
    snapshots = SNAPSHOTS
    saver = Autosaver(folder=Path(folder), session_id=SESSION_ID)
    ready.set()
    k = first
    while True:
        # Autosaver skips snapshots that are not newer: give each one a new revision.
        saver.save(dataclasses.replace(snapshots[k % VERSIONS], revision=k + 1), brush_size=10 + k % VERSIONS)
        k += 1
