"""Undo/redo: small commands, a clean marker and a memory budget in bytes.

Commands are applied to a target (the ``Document``) that the history is given once; commands keep
only what they need to go both ways (a mask command keeps the old values of the tiles it touched,
a visibility toggle keeps a bool). The clean marker remembers a *state* (the command on top of the
undo stack), so it survives undo/redo and becomes unreachable when a new branch discards it.
"""

from __future__ import annotations

import itertools
import logging
from abc import ABC, abstractmethod
from typing import Any

from lamapaint.core.geometry import Rect

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 1 << 30  # 1 GiB

_UNREACHABLE = -1


class Command(ABC):
    """One reversible change. ``apply`` after ``revert`` (and vice versa) must restore exactly."""

    label: str = "Edit"

    @abstractmethod
    def apply(self, doc: Any) -> Rect | None:
        """Do (or redo) the change; return the image area it touched, if any."""

    @abstractmethod
    def revert(self, doc: Any) -> Rect | None:
        """Undo the change; return the image area it touched, if any."""

    @property
    def nbytes(self) -> int:
        """Memory this command keeps alive for undo (approximate, dominated by pixel arrays)."""
        return 64


class History:
    """Undo and redo stacks over a target, bounded by ``budget_bytes``.

    When the kept commands exceed the budget the oldest undo steps are forgotten; the newest step
    is always kept so the last action can be undone, and the document itself is never touched.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET, target: Any = None) -> None:
        self.budget_bytes = int(budget_bytes)
        self.target = target
        self._undo: list[tuple[int, Command]] = []
        self._redo: list[tuple[int, Command]] = []
        self._seq = itertools.count(1)
        self._base = 0  # state id when the undo stack is empty
        self._clean = 0
        self._nbytes = 0

    # --- state -------------------------------------------------------------------------------
    @property
    def _state(self) -> int:
        return self._undo[-1][0] if self._undo else self._base

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1][1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1][1].label if self._redo else None

    @property
    def undo_labels(self) -> list[str]:
        """Labels of the steps that can be undone, oldest first (a history panel lists them)."""
        return [cmd.label for _, cmd in self._undo]

    @property
    def redo_labels(self) -> list[str]:
        """Labels of the steps that can be redone, next one first."""
        return [cmd.label for _, cmd in reversed(self._redo)]

    @property
    def is_clean(self) -> bool:
        return self._state == self._clean

    @property
    def nbytes(self) -> int:
        return self._nbytes

    @property
    def undo_count(self) -> int:
        return len(self._undo)

    @property
    def redo_count(self) -> int:
        return len(self._redo)

    def mark_clean(self) -> None:
        """The current state is the saved one (a project save, a fresh open)."""
        self._clean = self._state

    def mark_modified(self) -> None:
        """No reachable state is saved (a document restored from an autosave)."""
        self._clean = _UNREACHABLE

    # --- changes -----------------------------------------------------------------------------
    def push(self, cmd: Command, already_applied: bool = False) -> Rect | None:
        """Record ``cmd`` (applying it first unless ``already_applied``) and drop the redo branch."""
        rect = None if already_applied else cmd.apply(self.target)
        for _, dropped in self._redo:
            self._nbytes -= dropped.nbytes
        self._redo.clear()
        self._undo.append((next(self._seq), cmd))
        self._nbytes += cmd.nbytes
        self._evict()
        return rect

    def _evict(self) -> None:
        while self._nbytes > self.budget_bytes and len(self._undo) > 1:
            seq, old = self._undo.pop(0)
            self._nbytes -= old.nbytes
            self._base = seq
            log.debug("history over budget: forgot %r (%d bytes)", old.label, old.nbytes)

    def undo(self) -> Command | None:
        """Revert the newest step; returns it (``None`` when there is nothing to undo)."""
        if not self._undo:
            return None
        seq, cmd = self._undo.pop()
        cmd.revert(self.target)
        self._redo.append((seq, cmd))
        return cmd

    def redo(self) -> Command | None:
        """Re-apply the step last undone; returns it (``None`` when there is nothing to redo)."""
        if not self._redo:
            return None
        seq, cmd = self._redo.pop()
        cmd.apply(self.target)
        self._undo.append((seq, cmd))
        return cmd

