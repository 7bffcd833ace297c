"""History: undo/redo, the clean marker and the byte budget, on a tiny target."""

from __future__ import annotations

from typing import Any


from lamapaint.core.geometry import Rect
from lamapaint.core.history import Command, History


class Target:
    def __init__(self) -> None:
        self.values: list[int] = []


class Append(Command):
    def __init__(self, value: int, size: int = 10) -> None:
        self.label = f"append {value}"
        self.value = value
        self.size = size

    def apply(self, doc: Any) -> Rect | None:
        doc.values.append(self.value)
        return None

    def revert(self, doc: Any) -> Rect | None:
        assert doc.values.pop() == self.value
        return None

    @property
    def nbytes(self) -> int:
        return self.size


def _history(budget: int = 1 << 30) -> tuple[History, Target]:
    target = Target()
    return History(budget, target=target), target


def test_undo_redo_and_labels() -> None:
    h, t = _history()
    assert not h.can_undo and h.undo() is None and h.redo() is None
    h.push(Append(1))
    h.push(Append(2))
    assert t.values == [1, 2] and h.undo_label == "append 2"
    h.undo()
    assert t.values == [1] and h.redo_label == "append 2" and h.can_redo
    assert h.undo_labels == ["append 1"] and h.redo_labels == ["append 2"]
    h.redo()
    assert t.values == [1, 2] and not h.can_redo


def test_push_already_applied_does_not_apply_again() -> None:
    h, t = _history()
    t.values.append(5)
    h.push(Append(5), already_applied=True)
    assert t.values == [5]
    h.undo()
    assert t.values == []


def test_new_branch_drops_redo() -> None:
    h, t = _history()
    h.push(Append(1))
    h.undo()
    h.push(Append(2))
    assert not h.can_redo and t.values == [2]


def test_clean_marker_across_undo_redo_and_branches() -> None:
    h, _ = _history()
    assert h.is_clean
    h.push(Append(1))
    assert not h.is_clean
    h.undo()
    assert h.is_clean
    h.redo()
    h.mark_clean()
    h.push(Append(2))
    assert not h.is_clean
    h.undo()
    assert h.is_clean
    h.undo()
    assert not h.is_clean
    h.push(Append(3))  # a new branch: the saved state can no longer be reached
    assert not h.is_clean
    h.undo()
    assert not h.is_clean
    h.mark_clean()
    assert h.is_clean


def test_budget_drops_oldest_but_never_the_newest() -> None:
    h, t = _history(budget=100)
    for i in range(5):
        h.push(Append(i, size=30))
    assert h.nbytes <= 100 and h.undo_count == 3
    while h.can_undo:
        h.undo()
    assert t.values == [0, 1]  # the forgotten steps stay applied
    h, t = _history(budget=10)
    h.push(Append(1, size=500))
    assert h.undo_count == 1 and h.nbytes == 500
    h.push(Append(2, size=500))
    assert h.undo_count == 1
    h.undo()
    assert t.values == [1]


def test_clean_marker_survives_eviction_of_steps_before_it() -> None:
    h, _ = _history(budget=50)
    h.push(Append(1, size=30))
    h.mark_clean()
    h.push(Append(2, size=30))  # evicts step 1; the clean state is now the stack's base
    assert h.undo_count == 1
    h.undo()
    assert h.is_clean
    h.redo()
    h.push(Append(3, size=30))  # evicts step 2: the clean state is gone for good
    while h.can_undo:
        h.undo()
    assert not h.is_clean


def test_redo_steps_count_in_nbytes_until_dropped() -> None:
    h, _ = _history()
    h.push(Append(1, size=40))
    h.push(Append(2, size=60))
    h.undo()
    assert h.nbytes == 100
    h.push(Append(3, size=1))
    assert h.nbytes == 41
