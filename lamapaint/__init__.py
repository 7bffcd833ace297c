"""lamapaint: remove unwanted objects from photos with LaMa, non-destructively.

The Python API is ``from lamapaint import remove, Remover, select_mask, Selector`` (README,
"Python API", "Selecting objects"). They are looked up on first access, so ``import lamapaint``
stays cheap: neither numpy-heavy engine code nor torch is imported until they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lamapaint._version import __version__

if TYPE_CHECKING:
    from lamapaint.api import Remover, Selector, remove, select_mask

__all__ = ["Remover", "Selector", "__version__", "remove", "select_mask"]

_API = ("Remover", "Selector", "remove", "select_mask")


def __getattr__(name: str) -> Any:
    if name in _API:
        from lamapaint import api

        return getattr(api, name)
    raise AttributeError(f"module 'lamapaint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
