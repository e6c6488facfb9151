"""Advisory locks (flock) that keep two dhscan processes from rewriting the same file at once."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from scanner.core.errors import UsageError


@contextmanager
def file_locked(path: Path) -> Iterator[os.stat_result]:
    """Hold an exclusive lock on `path` (waiting for another holder), and yield its state once held.

    A rewrite replaces the file by rename, so a process that waited on the old file locks the new one
    instead of proceeding on a file that is no longer there."""
    while True:
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held, now = os.fstat(fd), os.stat(path)
        except BaseException:
            os.close(fd)
            raise
        if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
            break
        os.close(fd)
    try:
        yield now
    finally:
        os.close(fd)


@contextmanager
def exclusive(path: Path, what: str, busy: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) or fail at once with one line (`busy`)."""
    try:  # a folder is locked through itself, leaving nothing in it
        fd = os.open(path, os.O_RDONLY) if path.is_dir() else os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(busy or f"{what} {path} is in use by another dhscan process; wait for it to finish") from None
        yield
    finally:
        os.close(fd)
