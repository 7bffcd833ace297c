"""Crash recovery: periodic autosaves of the open document, found again on the next start.

Each editing session owns three files in the autosave folder (``app_paths().autosave_dir``)::

    <session>.lamapaint   a normal project file (written atomically by save_project)
    <session>.json        what the recovery prompt shows: photo name, time, the user's project
                          path, the photo's path (the folder Save suggests), the brush size
    <session>.lock        held locked (flock / msvcrt) while the session runs

The lock tells a live session (another window, another process) from a crashed one without
trusting pids: the OS drops the lock when the process dies. Whoever restores or discards a
crashed session takes its lock first, so two windows never take over the same session.

The files are written so that a project file never exists without its ``.json``: the first
autosave writes the ``.json`` before the project, ``discard`` removes the project first. A session
killed during its first autosave therefore has nothing complete to recover; its ``.json``, lock
and temp file are removed by :func:`remove_abandoned_files` on the next start. A project file
without a ``.json`` (left by an older version) is still offered, named after the file.

Typical use in the GUI::

    remove_abandoned_files()                 # on start, before listing
    saver = Autosaver()                      # one per open document
    # a timer on the GUI thread:
    if saver.should_save(doc.revision, doc.is_clean) and not saver.busy:
        snapshot = doc.snapshot()            # ~10 ms at 24 MP; the rest runs on a worker
        run_in_worker(saver.save, snapshot)
    # after a successful project save: saver.discard(); on a clean close: saver.close()

    for session in list_recoverable():       # on start
        saver = Autosaver.resume(session)    # SessionInUseError: another window has it
        doc = restore_session(session)       # the saver keeps protecting it
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import os
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable

from lamapaint.core.document import Document, DocumentSnapshot
from lamapaint.io.atomic import STALE_AFTER_S, atomic_write_bytes, remove_stale_temp_files
from lamapaint.io.project import ProjectError, load_project, save_project
from lamapaint.settings import app_paths

log = logging.getLogger(__name__)

SUFFIX = ".lamapaint"
#: The first autosave of a session (or the first after a project save) comes this long after the
#: first change is seen; later ones follow ``every_changes`` / ``every_seconds``.
FIRST_SAVE_DELAY_S = 2.0
MAX_BRUSH_SIZE = 100_000


class SessionInUseError(RuntimeError):
    """Another window (or process) holds the session's lock."""


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


def _still_at(fh: IO[bytes], path: Path) -> bool:
    """True when ``path`` is still the file ``fh`` locked (nobody removed it in between)."""
    if os.name == "nt":
        return True  # an open file cannot be removed there
    try:
        a, b = os.fstat(fh.fileno()), path.stat()
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _take_lock(lock_file: Path) -> IO[bytes] | None:
    """Open and lock ``lock_file`` (creating it); None when a live session holds it.

    A lock path that is an empty folder (never ours) is removed first; any other non-file raises.
    """
    for _attempt in range(5):
        if lock_file.is_dir() and not lock_file.is_symlink():
            lock_file.rmdir()  # OSError when not empty: someone else's folder, leave it
        fh = open(lock_file, "a+b")  # noqa: SIM115 - held open for the whole session
        if not _try_lock(fh):
            fh.close()
            return None
        if _still_at(fh, lock_file):
            return fh
        fh.close()  # a sweep removed the file between open and lock: take the new one
    raise OSError(f"cannot lock {lock_file}: it keeps being replaced")


def _release_lock(fh: IO[bytes], lock_file: Path, remove: bool) -> None:
    if remove:
        lock_file.unlink(missing_ok=True)  # before unlocking, so nobody locks a file about to vanish
    _unlock(fh)
    fh.close()


@dataclass(frozen=True)
class RecoverableSession:
    """An autosave left behind by a session that did not close cleanly."""

    session_id: str
    project_file: Path
    photo_name: str
    saved_at: _dt.datetime  # always timezone-aware
    project_path: Path | None  # the user's own project file, when the document had one
    size_bytes: int
    source_path: Path | None = None  # the photo the session started from, when known
    brush_size: int | None = None

    @property
    def folder(self) -> Path | None:
        """Where the person's work belongs: the project's folder, else the photo's."""
        where = self.project_path or self.source_path
        return where.parent if where is not None else None


def _files(folder: Path, session_id: str) -> tuple[Path, Path, Path]:
    return folder / f"{session_id}{SUFFIX}", folder / f"{session_id}.json", folder / f"{session_id}.lock"


class Autosaver:
    """Autosaves one document: soon after the first change, then every ``every_changes``
    revisions or ``every_seconds``, whichever comes first.

    ``should_save`` is cheap (GUI thread); ``save`` does the work (any thread, serialised). After a
    failed save the next try waits ``every_seconds``, so a full disk is not hammered.
    """

    def __init__(
        self,
        folder: Path | None = None,
        every_changes: int = 50,
        every_seconds: float = 60.0,
        session_id: str | None = None,
        revision: int = 0,
        clock: Callable[[], float] = time.monotonic,
        first_delay_s: float = FIRST_SAVE_DELAY_S,
    ) -> None:
        self.folder = Path(folder) if folder is not None else app_paths().autosave_dir
        self.every_changes = max(1, int(every_changes))
        self.every_seconds = float(every_seconds)
        self.first_delay_s = float(first_delay_s)
        self.session_id = session_id or uuid.uuid4().hex
        self._clock = clock
        self._lock = threading.Lock()
        self._lock_fh: IO[bytes] | None = None
        self._start_revision = int(revision)  # the document's revision when the session began
        self._saved_revision: int | None = None
        self._on_disk = False  # an autosave of this session exists
        self._since = clock()
        self._first_change_at: float | None = None
        self._failed_at: float | None = None

    @classmethod
    def resume(cls, session: RecoverableSession, **kwargs: Any) -> "Autosaver":
        """Take over a recovered session, so its files protect the restored document until the next save.

        Raises SessionInUseError when another window has taken it already.
        """
        saver = cls(folder=session.project_file.parent, session_id=session.session_id, **kwargs)
        saver._acquire()
        saver._on_disk = session.project_file.exists()
        return saver

    @property
    def project_file(self) -> Path:
        return _files(self.folder, self.session_id)[0]

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def should_save(self, revision: int, clean: bool = False) -> bool:
        """True when the document changed since the last autosave, by enough or long enough ago.

        A clean document (just opened, or just saved as a project) needs no autosave. While the
        session has no autosave on disk, the first change seen starts a short countdown instead.
        """
        last = self._saved_revision if self._saved_revision is not None else self._start_revision
        if clean or revision == last:
            self._first_change_at = None
            return False
        now = self._clock()
        if self._failed_at is not None and now - self._failed_at < self.every_seconds:
            return False
        if not self._on_disk:
            if self._first_change_at is None:
                self._first_change_at = now
            if now - self._first_change_at >= self.first_delay_s:
                return True
        return revision - last >= self.every_changes or now - self._since >= self.every_seconds

    def save(self, snapshot: DocumentSnapshot, brush_size: int | None = None) -> Path | None:
        """Write the snapshot (skipped when a newer one was saved already); returns the file.

        Raises what the write raised (ProjectError, OSError); the previous autosave stays intact.
        """
        with self._lock:
            if self._saved_revision is not None and snapshot.revision <= self._saved_revision:
                return None
            try:
                self._acquire()
                project_file, info_file, _ = _files(self.folder, self.session_id)
                info = self._info(snapshot, brush_size)
                if not info_file.exists():  # never a project file without its .json
                    atomic_write_bytes(info_file, json.dumps(info).encode("utf-8"))
                save_project(project_file, snapshot)
                atomic_write_bytes(info_file, json.dumps(info).encode("utf-8"))
            except BaseException:
                self._failed_at = self._clock()
                raise
            self._failed_at = None
            self._saved_revision = snapshot.revision
            self._on_disk = True
            self._since = self._clock()
            log.debug("autosaved %s (revision %d)", project_file, snapshot.revision)
            return project_file

    @staticmethod
    def _info(snapshot: DocumentSnapshot, brush_size: int | None) -> dict[str, Any]:
        source_path = getattr(snapshot.source, "path", None)
        return {
            "photo_name": snapshot.name,
            "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "project_path": str(snapshot.project_path) if snapshot.project_path else None,
            "source_path": str(source_path) if source_path else None,
            "brush_size": int(brush_size) if brush_size is not None else None,
            "revision": snapshot.revision,
        }

    def discard(self) -> None:
        """Remove this session's autosave (the document was saved, or closed without changes)."""
        with self._lock:
            project_file, info_file, _ = _files(self.folder, self.session_id)
            project_file.unlink(missing_ok=True)  # first: never a project file without its .json
            info_file.unlink(missing_ok=True)
            self._on_disk = False
            self._first_change_at = None
            self._since = self._clock()

    def start_at(self, revision: int) -> None:
        """The document this session protects begins at ``revision`` (one restored after a claim)."""
        with self._lock:
            self._start_revision = int(revision)
            self._saved_revision = None

    def release(self) -> None:
        """Let go of the session's lock but keep its files: it stays recoverable."""
        with self._lock:
            if self._lock_fh is not None:
                _release_lock(self._lock_fh, _files(self.folder, self.session_id)[2], remove=False)
                self._lock_fh = None

    def close(self) -> None:
        """End the session cleanly: nothing is left to recover."""
        self.discard()
        with self._lock:
            if self._lock_fh is not None:
                _release_lock(self._lock_fh, _files(self.folder, self.session_id)[2], remove=True)
                self._lock_fh = None

    def _acquire(self) -> None:
        if self._lock_fh is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fh = _take_lock(_files(self.folder, self.session_id)[2])
        if fh is None:
            raise SessionInUseError(f"autosave session {self.session_id} is in use by another window")
        self._lock_fh = fh


def _is_live(lock_file: Path) -> bool:
    """True when a running session holds the lock.

    Only a regular file can be a lock: a folder (or anything else) at that path is not one.
    """
    try:
        if not stat.S_ISREG(lock_file.lstat().st_mode):
            return False
        fh = open(lock_file, "rb")  # noqa: SIM115 - flock needs no write access
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: leave it alone
    with fh:
        if _try_lock(fh):
            _unlock(fh)
            return False
        return True


def _parse_saved_at(value: object) -> _dt.datetime:
    """An aware datetime; a naive one (hand-edited or foreign files) is taken as local time."""
    if not isinstance(value, str):
        raise TypeError(f"saved_at is {type(value).__name__}, not a string")
    saved_at = _dt.datetime.fromisoformat(value)
    return saved_at if saved_at.tzinfo is not None else saved_at.astimezone()


def _optional_path(value: object) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a path, got {type(value).__name__}")
    return Path(value)


def _optional_brush(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_BRUSH_SIZE:
        return value
    return None


def _read_session(folder: Path, session_id: str) -> RecoverableSession:
    project_file, info_file, _ = _files(folder, session_id)
    size = project_file.stat().st_size
    try:
        text = info_file.read_text(encoding="utf-8")
    except FileNotFoundError:  # written by an older version, which saved the project first
        mtime = _dt.datetime.fromtimestamp(project_file.stat().st_mtime, _dt.timezone.utc)
        return RecoverableSession(session_id, project_file, f"autosave {session_id[:8]}", mtime, None, size)
    info = json.loads(text)
    if not isinstance(info, dict):
        raise TypeError("the session description is not a JSON object")
    return RecoverableSession(
        session_id,
        project_file,
        str(info["photo_name"]),
        _parse_saved_at(info["saved_at"]),
        _optional_path(info.get("project_path")),
        size,
        source_path=_optional_path(info.get("source_path")),
        brush_size=_optional_brush(info.get("brush_size")),
    )


def list_recoverable(folder: Path | None = None) -> list[RecoverableSession]:
    """Autosaves of sessions that are no longer running, newest first."""
    folder = Path(folder) if folder is not None else app_paths().autosave_dir
    if not folder.is_dir():
        return []
    sessions = []
    for project_file in folder.glob(f"*{SUFFIX}"):
        session_id = project_file.name[: -len(SUFFIX)]
        if not session_id or session_id.startswith(".") or _is_live(_files(folder, session_id)[2]):
            continue
        try:
            sessions.append(_read_session(folder, session_id))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable autosave %s: %s", project_file, exc)
    sessions.sort(key=lambda s: s.saved_at, reverse=True)
    return sessions


def remove_abandoned_files(folder: Path | None = None, min_age_s: float = STALE_AFTER_S) -> int:
    """On start: remove what crashed sessions left that holds nothing to recover.

    That is temp files of killed writes, and the ``.json`` and lock of sessions with no project
    file (killed during their first autosave, or during a discard). Live sessions are untouched,
    and so are files younger than ``min_age_s`` (a session starting this very moment).
    Returns how many files were removed.
    """
    folder = Path(folder) if folder is not None else app_paths().autosave_dir
    if not folder.is_dir():
        return 0
    removed = remove_stale_temp_files(folder, min_age_s=min_age_s)
    candidates = {p.stem for p in folder.glob("*.json")} | {p.stem for p in folder.glob("*.lock")}
    born_before = time.time() - min_age_s
    for session_id in sorted(candidates):
        project_file, info_file, lock_file = _files(folder, session_id)
        if session_id.startswith(".") or project_file.exists() or not _all_older(born_before, info_file, lock_file):
            continue
        had_lock = lock_file.exists()
        try:
            fh = _take_lock(lock_file)
        except OSError as exc:
            log.debug("cannot check autosave session %s: %s", session_id, exc)
            continue
        if fh is None:
            continue  # live: its first autosave is being written
        clean = not project_file.exists()
        try:
            if clean and info_file.exists():
                info_file.unlink()
                removed += 1
        except OSError as exc:
            log.debug("cannot clean autosave session %s: %s", session_id, exc)
        finally:
            _release_lock(fh, lock_file, remove=clean)
        removed += int(clean and had_lock)
    if removed:
        log.info("removed %d file(s) of interrupted autosaves from %s", removed, folder)
    return removed


def _all_older(born_before: float, *paths: Path) -> bool:
    for path in paths:
        try:
            if path.lstat().st_mtime > born_before:
                return False
        except FileNotFoundError:
            continue
        except OSError:
            return False
    return True


def restore_session(session: RecoverableSession) -> Document:
    """Load a recovered document; it is marked modified (it is saved nowhere but the autosave).

    The photo's path comes back too (when its folder still exists), so Save and Export suggest the
    folder the work belongs in and the original stays protected from being overwritten.
    """
    try:
        doc = load_project(session.project_file)
    except ProjectError:
        log.warning("autosave %s cannot be restored", session.project_file)
        raise
    doc.set_project_path(session.project_path)
    source_path = session.source_path
    if doc.source is not None and source_path is not None and source_path.parent.is_dir():
        doc.source = dataclasses.replace(doc.source, path=source_path)
    doc.history.mark_modified()
    return doc


def discard_session(session: RecoverableSession) -> None:
    """Delete a recovered session's files (the person chose not to restore it).

    Raises SessionInUseError when a running window holds the session.
    """
    project_file, info_file, lock_file = _files(session.project_file.parent, session.session_id)
    fh = _take_lock(lock_file)
    if fh is None:
        raise SessionInUseError(f"autosave session {session.session_id} is in use")
    try:
        project_file.unlink(missing_ok=True)
        info_file.unlink(missing_ok=True)
    finally:
        _release_lock(fh, lock_file, remove=True)
