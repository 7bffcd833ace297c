"""Crash recovery: periodic autosaves of the open document, found again on the next start.

Each editing session owns three files in the autosave folder (``app_paths().autosave_dir``)::

    <session>.lamapaint   a normal project file (written atomically by save_project)
    <session>.json        what the recovery prompt shows: photo name, time, the user's project path
    <session>.lock        held locked (flock / msvcrt) while the session runs

The lock tells a live session (another window, another process) from a crashed one without
trusting pids: the OS drops the lock when the process dies. Typical use in the GUI::

    saver = Autosaver()                      # one per open document
    # after each document change, on the GUI thread:
    if saver.should_save(doc.revision, doc.is_clean) and not saver.busy:
        snapshot = doc.snapshot()            # ~10 ms at 24 MP; the rest runs on a worker
        run_in_worker(saver.save, snapshot)
    # after a successful project save: saver.discard(); on a clean close: saver.close()

    for session in list_recoverable():       # on start
        doc = restore_session(session)       # then Autosaver.resume(session) keeps protecting it
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable

from lamapaint.core.document import Document, DocumentSnapshot
from lamapaint.io.atomic import atomic_write_bytes
from lamapaint.io.project import ProjectError, load_project, save_project
from lamapaint.settings import app_paths

log = logging.getLogger(__name__)

SUFFIX = ".lamapaint"


def _try_lock(fh: IO[bytes]) -> bool:
    """Take an exclusive, non-blocking lock on an open file; False when someone else holds it."""
    try:
        if os.name == "nt":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fh: IO[bytes]) -> None:
    try:
        if os.name == "nt":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except OSError:
        pass


@dataclass(frozen=True)
class RecoverableSession:
    """An autosave left behind by a session that did not close cleanly."""

    session_id: str
    project_file: Path
    photo_name: str
    saved_at: _dt.datetime
    project_path: Path | None  # the user's own project file, when the document had one
    size_bytes: int


def _files(folder: Path, session_id: str) -> tuple[Path, Path, Path]:
    return folder / f"{session_id}{SUFFIX}", folder / f"{session_id}.json", folder / f"{session_id}.lock"


class Autosaver:
    """Autosaves one document every ``every_changes`` revisions or ``every_seconds``, whichever first.

    ``should_save`` is cheap (GUI thread); ``save`` does the work (any thread, serialised).
    """

    def __init__(
        self,
        folder: Path | None = None,
        every_changes: int = 50,
        every_seconds: float = 60.0,
        session_id: str | None = None,
        revision: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder) if folder is not None else app_paths().autosave_dir
        self.every_changes = max(1, int(every_changes))
        self.every_seconds = float(every_seconds)
        self.session_id = session_id or uuid.uuid4().hex
        self._clock = clock
        self._lock = threading.Lock()
        self._lock_fh: IO[bytes] | None = None
        self._start_revision = int(revision)  # the document's revision when the session began
        self._saved_revision: int | None = None
        self._since = clock()

    @classmethod
    def resume(cls, session: RecoverableSession, **kwargs: object) -> "Autosaver":
        """Take over a recovered session, so its files protect the restored document until the next save."""
        saver = cls(folder=session.project_file.parent, session_id=session.session_id, **kwargs)  # type: ignore[arg-type]
        saver._acquire()
        return saver

    @property
    def project_file(self) -> Path:
        return _files(self.folder, self.session_id)[0]

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def should_save(self, revision: int, clean: bool = False) -> bool:
        """True when the document changed since the last autosave, by enough or long enough ago.

        A clean document (just opened, or just saved as a project) needs no autosave.
        """
        last = self._saved_revision if self._saved_revision is not None else self._start_revision
        if clean or revision == last:
            return False
        return revision - last >= self.every_changes or self._clock() - self._since >= self.every_seconds

    def save(self, snapshot: DocumentSnapshot) -> Path | None:
        """Write the snapshot (skipped when a newer one was saved already); returns the file."""
        with self._lock:
            if self._saved_revision is not None and snapshot.revision <= self._saved_revision:
                return None
            self._acquire()
            project_file, info_file, _ = _files(self.folder, self.session_id)
            save_project(project_file, snapshot)
            info = {
                "photo_name": snapshot.name,
                "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
                "project_path": str(snapshot.project_path) if snapshot.project_path else None,
                "revision": snapshot.revision,
            }
            atomic_write_bytes(info_file, json.dumps(info).encode("utf-8"))
            self._saved_revision = snapshot.revision
            self._since = self._clock()
            log.debug("autosaved %s (revision %d)", project_file, snapshot.revision)
            return project_file

    def discard(self) -> None:
        """Remove this session's autosave (the document was saved, or closed without changes)."""
        with self._lock:
            project_file, info_file, _ = _files(self.folder, self.session_id)
            info_file.unlink(missing_ok=True)
            project_file.unlink(missing_ok=True)
            self._since = self._clock()

    def close(self) -> None:
        """End the session cleanly: nothing is left to recover."""
        self.discard()
        with self._lock:
            if self._lock_fh is not None:
                _unlock(self._lock_fh)
                self._lock_fh.close()
                self._lock_fh = None
                _files(self.folder, self.session_id)[2].unlink(missing_ok=True)

    def _acquire(self) -> None:
        if self._lock_fh is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        lock_file = _files(self.folder, self.session_id)[2]
        fh = open(lock_file, "a+b")  # noqa: SIM115 - held open for the whole session
        if not _try_lock(fh):
            fh.close()
            raise RuntimeError(f"autosave session {self.session_id} is in use by another window")
        self._lock_fh = fh


def _is_live(lock_file: Path) -> bool:
    """True when a running session holds the lock."""
    try:
        fh = open(lock_file, "r+b")  # noqa: SIM115
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: leave it alone
    with fh:
        if _try_lock(fh):
            _unlock(fh)
            return False
        return True


def list_recoverable(folder: Path | None = None) -> list[RecoverableSession]:
    """Autosaves of sessions that are no longer running, newest first."""
    folder = Path(folder) if folder is not None else app_paths().autosave_dir
    if not folder.is_dir():
        return []
    sessions = []
    for info_file in folder.glob("*.json"):
        session_id = info_file.stem
        project_file, _, lock_file = _files(folder, session_id)
        if not project_file.exists() or _is_live(lock_file):
            continue
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
            saved_at = _dt.datetime.fromisoformat(info["saved_at"])
            photo_name = str(info["photo_name"])
            project_path = Path(info["project_path"]) if info.get("project_path") else None
            size = project_file.stat().st_size
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable autosave %s: %s", info_file, exc)
            continue
        sessions.append(RecoverableSession(session_id, project_file, photo_name, saved_at, project_path, size))
    sessions.sort(key=lambda s: s.saved_at, reverse=True)
    return sessions


def restore_session(session: RecoverableSession) -> Document:
    """Load a recovered document; it is marked modified (it is saved nowhere but the autosave)."""
    try:
        doc = load_project(session.project_file)
    except ProjectError:
        log.warning("autosave %s cannot be restored", session.project_file)
        raise
    doc.set_project_path(session.project_path)
    doc.history.mark_modified()
    return doc


def discard_session(session: RecoverableSession) -> None:
    """Delete a recovered session's files (the person chose not to restore it)."""
    project_file, info_file, lock_file = _files(session.project_file.parent, session.session_id)
    if _is_live(lock_file):
        raise RuntimeError(f"autosave session {session.session_id} is in use")
    for f in (info_file, project_file, lock_file):
        f.unlink(missing_ok=True)
