"""Atomic writes: all or nothing, and the file gets ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lamapaint.io.atomic import DestinationExistsError, atomic_write, atomic_write_bytes


def test_failure_half_way_keeps_the_previous_file_and_leaves_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "photo.jpg"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(dest) as fh:
        fh.write(b"half")
        raise RuntimeError("disk on fire")
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["photo.jpg"]


def test_refuses_existing_destination_unless_asked(tmp_path: Path) -> None:
    dest = tmp_path / "a.png"
    atomic_write_bytes(dest, b"1", overwrite=False)
    with pytest.raises(DestinationExistsError):
        atomic_write_bytes(dest, b"2", overwrite=False)
    atomic_write_bytes(dest, b"3")
    assert dest.read_bytes() == b"3"


def test_new_file_gets_umask_mode_and_replacement_keeps_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    os.umask(old_umask)
    fresh = tmp_path / "fresh.png"
    atomic_write_bytes(fresh, b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~old_umask
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"y")
    kept.chmod(0o640)
    atomic_write_bytes(kept, b"z")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
