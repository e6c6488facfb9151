"""Durable writes, the one way dhscan changes a file: into a temporary file beside the target, fsynced,
then renamed over it and the folder fsynced, so a reader (or a run killed at any point) sees the old file
or the new one, whole."""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator

APPLY_TAG = "dhscan-apply"  # in the names of the temporary files apply leaves while it rewrites a source


def temporary_beside(target: Path, tag: str = APPLY_TAG) -> tuple[int, Path]:
    """(fd, path) of a new temporary file in the target's folder: the rename is then within one file system."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.{tag}.", suffix=".tmp", dir=target.parent)
    return fd, Path(name)


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # outputs' own names
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, output_mode(path.parent))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def current_umask() -> int:
    """The process's umask, read without changing it where /proc tells (os.umask can only set it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def output_mode(folder: Path) -> int:
    """An output's permissions: what the umask allows a new file, and never more open than its folder
    (outputs describe personal data; a 0700 folder gets 0600 files)."""
    mode = 0o666 & ~current_umask()
    try:
        mode &= os.stat(folder).st_mode & 0o777
    except OSError:
        pass
    return mode


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_temporary(path: Path, write: Callable[[Path], None]) -> Path:
    """`write(temp)` into a temporary file beside `path`, fsynced, with its permissions; the caller
    renames it over `path` (replace)."""
    fd, temp = temporary_beside(path)
    os.close(fd)
    try:
        write(temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        keep_mode_and_owner(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def replace(temp: Path | None, target: Path) -> None:
    """Put the rewritten file in place (or remove the target when nothing is left), durably."""
    if temp is None:
        target.unlink(missing_ok=True)
    else:
        os.replace(temp, target)
    fsync_dir(target.parent)


def keep_mode_and_owner(temp: Path, target: Path) -> None:
    """The rewritten file gets the original's permissions, owner and group (a root apply must not leave
    a user's dataset owned by root); an owner this process may not set is left as it is."""
    info = os.stat(target)
    try:
        os.chown(temp, info.st_uid, info.st_gid)
    except PermissionError:
        pass
    os.chmod(temp, stat.S_IMODE(info.st_mode))


def remove_stale_temporaries(target: Path) -> None:
    """Temporary files a killed apply left beside the target."""
    for leftover in target.parent.glob(f".{target.name}.{APPLY_TAG}.*.tmp"):
        leftover.unlink(missing_ok=True)
