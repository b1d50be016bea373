"""Whole-file replacement: a reader sees the old file or the whole new one, never half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, payload: bytes, *, fsync_folder: bool = True) -> None:
    """Temp file in the same folder (0600), fsync, os.replace, then fsync the folder."""
    folder = path.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if fsync_folder:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def free_name(path: Path, what: str, stamp: str) -> Path:
    """`<path>.<what>-<stamp>`, or with -2, -3 ... if that exists: a kept file is never replaced."""
    candidate = path.with_name(f"{path.name}.{what}-{stamp}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{what}-{stamp}-{n}")
        n += 1
    return candidate
