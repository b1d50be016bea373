"""Whole-file replacement: a reader sees the old file or the whole new one, never half of it."""

from __future__ import annotations

import os
import re
import secrets
import stat
import tempfile
from pathlib import Path
from typing import Callable

# A new file is created, never opened if something is already there (a file, or a link an
# attacker planted): O_EXCL also refuses a symbolic link, dangling or not.
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
# The temp files of a store commit: `.<store>.<pid>.<16 hex>.elp.tmp`. Only files of exactly
# this form, owned by this user, whose writer is no longer alive, are ever cleaned up.
_TEMP_SUFFIX = ".elp.tmp"


def _write_new(path: Path, payload: bytes) -> None:
    """Create `path` (0600, O_EXCL: FileExistsError if anything is there), write, fsync.
    A half-written file is removed again."""
    fd = os.open(path, _CREATE_NEW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        raise


def sync_folder(folder: Path) -> None:
    """Make a folder's entries (a new or renamed file) durable."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write(
    path: Path,
    payload: bytes,
    *,
    fsync_folder: bool = True,
    temp: Path | None = None,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Temp file in the same folder (0600), fsync, os.replace, then fsync the folder.

    `temp` names the temp file (created with O_EXCL; default: a mkstemp name);
    `before_replace` runs once the temp file is on disk, just before it replaces `path`: if
    it raises, `path` is untouched and the temp file is removed."""
    folder = path.parent
    if temp is None:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    else:
        tmp = str(temp)
        fd = os.open(tmp, _CREATE_NEW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if fsync_folder:
        sync_folder(folder)


def store_temp(path: Path) -> Path:
    """A temp file name for a commit of the store `path`, naming this process as its writer."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}{_TEMP_SUFFIX}")


def _alive(pid: int) -> bool:
    """Whether process `pid` may still be running (this process counts as alive; a zombie does not)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rpartition(b")")[2].split()[:1]
        return state != [b"Z"]
    except OSError:
        return True


def abandoned_temps(path: Path) -> list[Path]:
    """The temp files of the store `path` that a writer killed mid-commit left behind: named
    by `store_temp` for this very store, regular files of this user, their writer dead. Call
    only under the store lock. Nothing else in the folder is ever listed, whatever its name."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"([1-9][0-9]{0,9})\.[0-9a-f]{16}" + re.escape(_TEMP_SUFFIX) + r"\Z")
    found: list[Path] = []
    with os.scandir(path.parent) as entries:
        for entry in entries:
            match = pattern.match(entry.name)
            if match is None:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not _alive(int(match.group(1))):
                found.append(Path(entry.path))
    return found


def keep_copy(path: Path, name: str, payload: bytes) -> Path:
    """Write `payload` to a new file `<path>.<name>` beside `path` (or `-2`, `-3` ... if that
    name is taken), created exclusively: an existing file is never replaced. Returns its path."""
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}.{name}" + (f"-{n}" if n > 1 else ""))
        try:
            _write_new(candidate, payload)
        except FileExistsError:
            n += 1
            continue
        sync_folder(path.parent)
        return candidate
