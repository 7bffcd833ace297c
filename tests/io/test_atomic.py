"""Atomic writes: all or nothing, and the file gets ordinary permissions."""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from lamapaint.io.atomic import DestinationExistsError, atomic_write, atomic_write_bytes, remove_stale_temp_files


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


def _stale(path: Path, age_s: float = 60.0) -> Path:
    path.write_bytes(b"half a file")
    old = time.time() - age_s
    os.utime(path, (old, old))
    return path


def test_next_write_removes_temp_files_a_killed_write_left(tmp_path: Path) -> None:
    dest = tmp_path / "trip.lamapaint"
    dest.write_bytes(b"old")
    killed = _stale(tmp_path / ".trip.lamapaint.k1ll3d_x.part")
    other = _stale(tmp_path / ".other.png.abcd1234.part")  # another file's: left for its own next write
    download = _stale(tmp_path / "big-lama.pt.part")  # a resumable download, not ours
    atomic_write_bytes(dest, b"new")
    assert dest.read_bytes() == b"new"
    assert not killed.exists() and other.exists() and download.exists()


def test_sweep_spares_running_writes_young_files_and_foreign_names(tmp_path: Path) -> None:
    stale = _stale(tmp_path / ".settings.json.a1b2c3d4.part")
    young = _stale(tmp_path / ".settings.json.young123.part", age_s=0)
    foreign = _stale(tmp_path / ".notes.txt.part")  # no mkstemp part: not ours
    folder = tmp_path / ".y.png.dir45678.part"
    folder.mkdir()  # a folder is never ours
    with atomic_write(tmp_path / "live.png") as fh:
        fh.write(b"in progress")
        (running,) = tmp_path.glob(".live.png.*.part")
        os.utime(running, (time.time() - 60, time.time() - 60))
        assert remove_stale_temp_files(tmp_path) == 1  # only the stale one
        assert running.exists()  # locked by the write in progress
    assert not stale.exists() and young.exists() and foreign.exists() and folder.is_dir()
    assert (tmp_path / "live.png").read_bytes() == b"in progress"
    assert remove_stale_temp_files(tmp_path, min_age_s=0) == 1 and not young.exists()


def _race(dest: Path, writers: int) -> list[str]:
    """``writers`` threads write ``dest`` with overwrite=False, released together just before each
    puts its finished file into place; returns what each got ("won" or "exists")."""
    barrier = threading.Barrier(writers)
    outcome: list[str] = [""] * writers

    def write(i: int) -> None:
        try:
            with atomic_write(dest, overwrite=False) as fh:
                fh.write(b"writer %d" % i)
                barrier.wait(timeout=10)
            outcome[i] = "won"
        except DestinationExistsError:
            outcome[i] = "exists"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcome


def test_racing_no_overwrite_writers_have_exactly_one_winner(tmp_path: Path) -> None:
    """Issue 17.9: a check-then-rename let two writers "succeed", the second replacing the first."""
    for round_ in range(200):
        dest = tmp_path / f"race{round_}.png"
        outcome = _race(dest, 4)
        assert sorted(outcome) == ["exists", "exists", "exists", "won"], f"round {round_}: {outcome}"
        assert dest.read_bytes() == b"writer %d" % outcome.index("won")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_no_overwrite_without_hard_links_reserves_the_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where links fail (FAT, some network shares) the exclusive reservation keeps the promise."""

    def no_links(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    for round_ in range(50):
        dest = tmp_path / f"race{round_}.png"
        outcome = _race(dest, 4)
        assert sorted(outcome) == ["exists", "exists", "exists", "won"], f"round {round_}: {outcome}"
        assert dest.read_bytes() == b"writer %d" % outcome.index("won")
    existing = tmp_path / "race0.png"
    with pytest.raises(DestinationExistsError):
        atomic_write_bytes(existing, b"again", overwrite=False)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_legal_long_name_is_written_and_its_temp_file_swept(tmp_path: Path) -> None:
    """Issue 17.9: a 250-byte name failed because ``.<name>.<random>.part`` passed 255 bytes."""
    dest = tmp_path / ("é" * 123 + "x.jpg")  # 123 * 2 + 5 = 251 bytes
    assert len(os.fsencode(dest.name)) == 251
    atomic_write_bytes(dest, b"1", overwrite=False)
    atomic_write_bytes(dest, b"2")
    assert dest.read_bytes() == b"2"
    killed = _stale(tmp_path / ".lp.k1ll3d_x.part")  # what a killed write of a long name leaves
    atomic_write_bytes(dest, b"3")
    assert not killed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [dest.name]
