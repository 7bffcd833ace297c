"""Run native-library work in a child process, so that a crash in C costs that work, not the app.

A segmentation fault in a C extension cannot be caught in the process it happens in: it ends the
editor with its unsaved layers, or a folder run with every photo still to do. Work that feeds
files to a less-proven native library (jpeglib's libjpeg 6b wrapper, for the block-wise JPEG
save) runs here instead; the child's death by a signal, an exit or silence past a time limit
arrives as one ``IsolatedCrash`` with a plain message, and the caller falls back.

The child is a fresh interpreter (``python -c``), not a ``multiprocessing`` child: spawn would
import the parent's main script again in the child, and a user's script without a
``__main__`` guard would run (and export) a second time. Messages are pickles over the child's
stdin and stdout. In a frozen bundle ``sys.executable`` is the app itself, so its entry scripts
call :func:`run_if_child` first thing (``packaging/entry_*.py``). The child ignores SIGINT:
Ctrl+C in a terminal reaches the whole process group, and the parent decides.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Callable

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 300.0
"""Longest wait for one answer: reading a 200 MP photo's coefficients takes about 5 s."""
CHILD_FLAG = "--lamapaint-isolated-child"
_CHILD_CODE = "from lamapaint.io.isolated import child_main; child_main()"


class IsolatedCrash(Exception):
    """The child process died or stopped answering; the message says how ("was killed by SIGSEGV")."""


class Channel:
    """One end of the parent-child pipe: whole pickled objects, in order."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes]) -> None:
        self._reader, self._writer = reader, writer

    def send(self, message: Any) -> None:
        pickle.dump(message, self._writer, protocol=pickle.HIGHEST_PROTOCOL)
        self._writer.flush()

    def recv(self) -> Any:
        """The next message; EOFError once the other end has closed."""
        return pickle.load(self._reader)


def run_if_child() -> None:
    """Run as the isolated child (and exit) when the frozen app was started as one."""
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_FLAG:
        child_main()
        sys.exit(0)


def child_main() -> None:
    """The child: read ``(target, args)`` from stdin and run ``target(channel, *args)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reader, writer = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not land in the message stream
    channel = Channel(reader, writer)
    try:
        target, args = channel.recv()
    except EOFError:
        return
    target(channel, *args)


def _command(temp_dir: str | None) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if temp_dir is not None:  # the child's own temporary files (jpeglib's copies) go where the parent removes them
        env.update(TMPDIR=temp_dir, TEMP=temp_dir, TMP=temp_dir)
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG], env
    # The child imports lamapaint (and the target's module) from where this process did.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root, *sys.path[1:], *filter(None, [env.get("PYTHONPATH")])])
    return [sys.executable, "-c", _CHILD_CODE], env


class IsolatedWorker:
    """A child process running ``target(channel, *args)``, which talks to the parent through
    ``channel`` (``send``, ``recv``). ``target`` must be a module-level function: the child
    imports it by name. ``temp_dir``: the child's temporary folder, for the parent to clean up even
    when the child is killed."""

    def __init__(self, target: Callable[..., None], *args: Any, timeout_s: float = DEFAULT_TIMEOUT_S, temp_dir: str | None = None) -> None:
        self._timeout_s = timeout_s
        command, env = _command(temp_dir)
        quiet = not log.isEnabledFor(logging.DEBUG)  # libjpeg's warnings are for --verbose only
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL if quiet else None, env=env,
            )
        except OSError as exc:
            raise IsolatedCrash(f"could not be started ({exc.strerror or exc})") from exc
        assert self._process.stdin is not None and self._process.stdout is not None
        self._channel = Channel(self._process.stdout, self._process.stdin)
        self.send((target, args))

    def send(self, message: Any) -> None:
        try:
            self._channel.send(message)
        except (OSError, ValueError) as exc:
            raise IsolatedCrash(self._how_it_ended()) from exc

    def receive(self) -> Any:
        """The child's next message; IsolatedCrash when it died or did not answer in time."""
        expired = threading.Event()

        def stop() -> None:
            expired.set()
            self._process.kill()

        timer = threading.Timer(self._timeout_s, stop)
        timer.daemon = True
        timer.start()
        try:
            return self._channel.recv()
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            if expired.is_set():
                raise IsolatedCrash(f"did not answer within {self._timeout_s:g} s and was stopped") from exc
            raise IsolatedCrash(self._how_it_ended()) from exc
        finally:
            timer.cancel()

    def close(self) -> None:
        """End the child at once (it holds nothing to save: the parent owns its files) and
        release the pipes. Letting it exit by itself costs its interpreter's teardown, 0.1 s
        with a 20 MP photo's coefficients."""
        if self._process.poll() is None:
            self._process.kill()
        for pipe in (self._process.stdin, self._process.stdout):
            with contextlib.suppress(OSError):  # a dead child's stdin cannot take the last flush
                if pipe is not None:
                    pipe.close()
        self._process.wait()

    def _how_it_ended(self) -> str:
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return "stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name}"
        return f"ended unexpectedly (exit status {code})"
