"""SIGKILL during saves: a child process saves a project (or autosaves) in a loop and is killed at
random moments (fixed seed). Afterwards the file is the old or the new complete version, and the
next start's clean-up leaves no temp file behind.

Rounds per kind: ``LAMAPAINT_KILL_ROUNDS`` (default 50, about 10 s for both kinds on 2 cores), e.g.
``LAMAPAINT_KILL_ROUNDS=1000 .venv/bin/python -m pytest tests/io/test_killed_saves.py`` for a long run.
Children come from a fork server that has the modules preloaded, so a round costs milliseconds.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from lamapaint.io.atomic import TEMP_SUFFIX, remove_stale_temp_files
from lamapaint.io.autosave import list_recoverable, remove_abandoned_files, restore_session
from lamapaint.io.project import load_project, save_project
from tests.io import save_loop

pytestmark = pytest.mark.skipif(sys.platform == "win32" or not hasattr(signal, "SIGKILL"), reason="needs SIGKILL and fork")

ROUNDS = int(os.environ.get("LAMAPAINT_KILL_ROUNDS", "50"))
SEED = 20261202


@pytest.fixture(scope="module")
def context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.io.save_loop"])
    return ctx


@pytest.fixture(scope="module")
def versions() -> list[tuple[np.ndarray, np.ndarray]]:
    docs = [save_loop.version(k) for k in range(save_loop.VERSIONS)]
    return [(d.composite(), d.mask.copy()) for d in docs]


def _kill_during(ctx: Any, target: Callable[..., None], args: tuple[Any, ...], delay: float) -> None:
    ready = ctx.Event()
    proc = ctx.Process(target=target, args=(*args, ready), daemon=True)
    proc.start()
    assert ready.wait(30), "the child did not start"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert proc.exitcode == -signal.SIGKILL, f"the child ended on its own: {proc.exitcode}"


def _matches(doc: Any, versions: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    k = int(doc.name[1:])
    composite, mask = versions[k]
    return np.array_equal(doc.composite(), composite) and np.array_equal(doc.mask, mask)


def _save_seconds(tmp_path: Path) -> float:
    snapshot = save_loop.version(0).snapshot()
    start = time.perf_counter()
    for _ in range(3):
        save_project(tmp_path / "timing.lamapaint", snapshot)
    (tmp_path / "timing.lamapaint").unlink()
    return (time.perf_counter() - start) / 3


def test_killed_project_saves_leave_the_old_or_the_new_file(tmp_path: Path, context: Any, versions: list, record_property: Any) -> None:
    rng = random.Random(SEED)
    target = tmp_path / "work.lamapaint"
    save_project(target, save_loop.version(0).snapshot())
    span = 2.5 * _save_seconds(tmp_path)
    torn_temp = survived = 0
    for round_ in range(ROUNDS):
        _kill_during(context, save_loop.save_project_forever, (str(target), round_), rng.uniform(0, span))
        leftovers = list(tmp_path.glob(f".*{TEMP_SUFFIX}"))
        torn_temp += bool(leftovers)
        doc = load_project(target)  # raises on a torn file
        assert _matches(doc, versions), f"round {round_}: {doc.name} does not match its version"
        survived += 1
        # The next start (the next save of this file) removes what the killed write left.
        remove_stale_temp_files(tmp_path, target.name, min_age_s=0)
        assert list(tmp_path.glob(f".*{TEMP_SUFFIX}")) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work.lamapaint"]
    record_property("kills", ROUNDS)
    record_property("killed_mid_write", torn_temp)
    record_property("files_survived", survived)
    assert torn_temp > 0, "no kill landed during a write: the timing is off"


def test_killed_autosaves_are_recoverable_or_cleaned(tmp_path: Path, context: Any, versions: list, record_property: Any) -> None:
    rng = random.Random(SEED + 1)
    span = 3.0 * _save_seconds(tmp_path)
    nothing_saved_yet = recovered = torn_temp = 0
    folder = tmp_path / "autosave-0"
    for round_ in range(ROUNDS):
        if round_ % 3 == 0:  # a fresh folder: this child's first autosave may be the one killed
            folder = tmp_path / f"autosave-{round_}"
        _kill_during(context, save_loop.autosave_forever, (str(folder), round_), rng.uniform(0, span))
        torn_temp += bool(list(folder.glob(f".*{TEMP_SUFFIX}")))
        remove_abandoned_files(folder, min_age_s=0)  # the next start
        names = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        assert not [n for n in names if n.endswith(TEMP_SUFFIX)], names
        sessions = list_recoverable(folder)
        if not sessions:
            assert names == [], f"round {round_}: unrecoverable leftovers {names}"
            nothing_saved_yet += 1
            continue
        (session,) = sessions
        assert session.session_id == save_loop.SESSION_ID and session.brush_size in range(10, 10 + save_loop.VERSIONS)
        assert _matches(restore_session(session), versions), f"round {round_}: the autosave does not match its version"
        recovered += 1
    record_property("kills", ROUNDS)
    record_property("killed_mid_write", torn_temp)
    record_property("recovered", recovered)
    record_property("no_autosave_yet_cleaned", nothing_saved_yet)
    assert recovered > 0 and torn_temp > 0
