"""Durable file operations under the filesystem backend: temp files, links, listings."""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".tmp."
STALE_TEMP_SECONDS = 24 * 3600


def usable_dir(path: Path) -> bool:
    """Whether ``path`` is a writable folder on a file system with free space."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return False
    return path.is_dir() and os.access(path, os.W_OK) and stat.f_bavail > 0


def write_all(fd: int, data: bytearray) -> None:
    """Write every byte of ``data`` (``os.write`` may write fewer)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def discard(fd: int | None, temp: Path | None) -> None:
    """Close ``fd`` and remove the temporary file (either may be absent)."""
    if fd is not None:
        os.close(fd)
    if temp is not None:
        temp.unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make the entries of ``directory`` (a new link, a removal) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_durably(path: Path) -> None:
    """Remove ``path`` if present, durably."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_dir(path.parent)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(root: Path, only_dead_owners: bool) -> int:
    """Delete temporary files whose writer process is gone (or, by age, that are a day old)."""
    removed = 0
    cutoff = time.time() - STALE_TEMP_SECONDS
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = Path(dirpath, name)
            pid_text = name[len(TEMP_PREFIX) :].partition(".")[0]
            # At start this process has no writer open yet, so its own pid marks a leftover of an
            # earlier process that had the same pid.
            dead = (
                not pid_text.isdigit()
                or int(pid_text) == os.getpid()
                or not _pid_alive(int(pid_text))
            )
            if only_dead_owners and not dead:
                continue
            try:
                if only_dead_owners or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
    return removed


def link_durably(src: Path, dst: Path) -> None:
    """Give ``src``'s file a second name ``dst``; ``FileExistsError`` if ``dst`` is taken.

    A link, not a copy: the bytes are the very ones that were verified, and link() refuses an
    existing target atomically.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.link(src, dst)
    fsync_dir(dst.parent)


def list_files(
    root: Path, prefix: str, limit: int, start_after: str | None = None
) -> list[tuple[str, os.stat_result]]:
    """Keys (``/``-separated, relative to ``root``) starting with ``prefix``, sorted, no temps.

    At most ``limit``, all after ``start_after`` when given. A folder lists in no order, so
    every call reads the names under the prefix (as the temp sweep does); only the ``limit``
    first are kept (a heap) and looked at (``stat``).
    """
    folder, _, _name_prefix = prefix.rpartition("/")
    base = root.joinpath(*folder.split("/")) if folder else root

    def keys() -> Iterator[str]:
        for dirpath, _dirs, names in os.walk(base):
            relative = Path(dirpath).relative_to(root).as_posix()
            for name in names:
                if name.startswith(TEMP_PREFIX):
                    continue
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix) and (start_after is None or key > start_after):
                    yield key

    found: list[tuple[str, os.stat_result]] = []
    for key in heapq.nsmallest(limit, keys()):
        try:
            found.append((key, root.joinpath(*key.split("/")).stat()))
        except FileNotFoundError:
            continue  # deleted since it was listed
    return found
