"""The store lock: an exclusive `flock` on `<store>.lock`, held for the length of a commit.

Why not a stock file-lock library: a lock file removed (or replaced) while writers run must
not let two of them in at once. So, on every acquisition: open the lock path (O_NOFOLLOW, so a
symbolic link is refused, not followed), check it is a regular file of ours with one name,
flock it, then check that the file now locked is still the one at the lock path (same device
and inode) — if it was removed or replaced meanwhile, lock the new one instead. `still_held()`
repeats that last check just before a commit replaces the store. The holder writes its pid
into the file, so a writer kept waiting can say which process holds the store.

Cost per acquisition: one open, one fstat, one flock, one stat (and an 11-byte pwrite).
Re-entrant within one StoreLock; the threads of one process take turns (a threading.RLock
in front of the flock: the app's worker threads share one Store).
"""

from __future__ import annotations

import errno
import os
import shlex
import stat
import threading
import time
from pathlib import Path

from elp_tui.i18n import _

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_OPEN = (
    os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
)


class LockError(Exception):
    """The store could not be locked; the message says why and what to do."""


class StoreLock:
    def __init__(self, path: Path, store: Path, timeout: float):
        self.path = path
        self.store = store
        self.timeout = timeout
        # Who may own the lock file: this user, and the owner of the store's folder.
        self.owners: set[int] = {os.geteuid()} if hasattr(os, "geteuid") else set()
        self._mutex = threading.RLock()
        self._fd: int | None = None
        self._id: tuple[int, int] | None = None
        self._depth = 0

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        if not self._mutex.acquire(timeout=self.timeout):
            raise self._timeout(None)
        try:
            if self._depth == 0:
                self._take(deadline)
            self._depth += 1
        except BaseException:
            self._mutex.release()
            raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd, self._id = self._fd, None, None
            if fd is not None:
                os.close(fd)  # closing the file releases the flock
        self._mutex.release()

    def still_held(self) -> bool:
        """Whether the file this process locked is still the lock file (not removed or replaced)."""
        if fcntl is None:  # pragma: no cover - not POSIX: no flock, nothing to compare
            return True
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return self._id == (st.st_dev, st.st_ino)

    # -- inside ----------------------------------------------------------------------
    def _take(self, deadline: float) -> None:
        if fcntl is None:  # pragma: no cover - not POSIX
            return
        while True:
            fd = self._open()
            try:
                st = os.fstat(fd)
                if st.st_nlink and self._locked(fd, st, deadline):
                    self._mark(fd, st)
                    self._fd, self._id = fd, (st.st_dev, st.st_ino)
                    return
            except BaseException:
                os.close(fd)
                raise
            # The file was removed or replaced before this process locked it: whoever locks
            # the file now at the path holds the store, so lock that one.
            os.close(fd)
            if time.monotonic() >= deadline:
                raise self._timeout(None)

    def _locked(self, fd: int, st: os.stat_result, deadline: float) -> bool:
        """Flock `fd` (waiting until `deadline`); whether it is still the file at the lock path."""
        self._check(st)
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._timeout(fd) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        try:
            now = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)

    def _open(self) -> int:
        try:
            return os.open(self.path, _OPEN, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._not_ours(_("is a symbolic link")) from None
            if exc.errno in (errno.EISDIR, errno.ENXIO, errno.ENODEV):
                raise self._not_ours(_("is not a regular file")) from None
            raise

    def _check(self, st: os.stat_result) -> None:
        if not stat.S_ISREG(st.st_mode):
            raise self._not_ours(_("is not a regular file"))
        if self.owners and st.st_uid not in self.owners:
            raise self._not_ours(_("belongs to another user (uid {uid})").format(uid=st.st_uid))
        if st.st_nlink != 1:
            raise self._not_ours(_("has other names (hard links)"))

    def _mark(self, fd: int, st: os.stat_result) -> None:
        """Write this process's pid into the lock file; keep the file private."""
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o600)  # our own lock file (checked: ours, regular, one name)
        os.pwrite(fd, b"%10d\n" % os.getpid(), 0)

    def _holder(self, fd: int | None) -> int | None:
        if fd is None:
            return None
        try:
            head = os.pread(fd, 32, 0)
            pid = int(head.split(b"\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if pid > 0 else None

    def _timeout(self, fd: int | None) -> LockError:
        holder = self._holder(fd)
        if holder is None or holder == os.getpid():
            who = _("another ELP process")
        else:
            who = _("another ELP process (pid {pid})").format(pid=holder)
        return LockError(
            _("The store {path} stayed locked by {who} for {seconds:.0f} s: it is busy saving a change. "
              "Nothing was changed; wait for it to finish and try again.").format(
                path=self.store, who=who, seconds=self.timeout)
        )

    def _not_ours(self, problem: str) -> LockError:
        return LockError(
            _("The lock file {lock} of the store {path} {problem}: it is not a lock file ELP made, so ELP will not "
              "use it. Nothing was changed. Move it aside (for example: mv {quoted} {quoted}.aside) and try again.").format(
                lock=self.path, path=self.store, problem=problem, quoted=shlex.quote(str(self.path)))
        )
