"""``isolated``: a child's crash, exit or silence is one ``IsolatedCrash``; messages go both ways."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from lamapaint.io.isolated import IsolatedCrash, IsolatedWorker


def echo(conn: object, greeting: str) -> None:  # the targets run in the child
    conn.send(greeting)  # type: ignore[attr-defined]
    while True:
        try:
            message = conn.recv()  # type: ignore[attr-defined]
        except EOFError:
            return
        conn.send(("echo", message))  # type: ignore[attr-defined]


def crash(conn: object) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def leave(conn: object) -> None:
    sys.exit(3)


def hang(conn: object) -> None:
    print("noise on stdout must not reach the parent")
    time.sleep(60)


def test_messages_go_both_ways_and_close_ends_the_child() -> None:
    worker = IsolatedWorker(echo, "hello")
    assert worker.receive() == "hello"
    worker.send({"n": 1})
    assert worker.receive() == ("echo", {"n": 1})
    worker.close()
    assert worker._process.poll() is not None


@pytest.mark.parametrize(("target", "words"), [(crash, "was killed by SIGSEGV"), (leave, "exit status 3")])
def test_a_dead_child_is_one_isolated_crash(target: object, words: str) -> None:
    worker = IsolatedWorker(target)  # type: ignore[arg-type]
    with pytest.raises(IsolatedCrash, match=words):
        worker.receive()
    worker.close()


def test_a_silent_child_is_stopped_after_the_time_limit() -> None:
    worker = IsolatedWorker(hang, timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(IsolatedCrash, match="did not answer within 1 s"):
        worker.receive()
    assert time.monotonic() - started < 10
    worker.close()


def temp_copy_then_crash(conn: object) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".jpeg", delete=False) as fh:  # as jpeglib copies a photo
        fh.write(b"photo")
    conn.send(fh.name)  # type: ignore[attr-defined]
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_childs_temporary_files_are_in_the_folder_the_parent_removes(tmp_path) -> None:
    """Issue 17.10: after Ctrl+C, jpeglib's own copy of the photo stayed in the system's temporary folder."""
    folder = tmp_path / "lamapaint-jpeg-x"
    folder.mkdir()
    worker = IsolatedWorker(temp_copy_then_crash, temp_dir=str(folder))
    left = worker.receive()
    with pytest.raises(IsolatedCrash):
        worker.receive()
    assert os.path.dirname(left) == str(folder)
