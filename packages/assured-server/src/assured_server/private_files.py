"""What the server writes is readable by its own user only.

The data dir holds password and API-key hashes, provider details, stored responses with
signed upload policies, the JWT and storage secrets, and the documents themselves. Every entry
point of the server sets the umask to 0o077 before it creates anything, so each file and folder
it makes (and SQLite, and prometheus_client) is 0600 / 0700; SQLite gives its ``-wal`` and
``-shm`` files the mode of the database file. What an earlier version left readable by others
is tightened at start (:func:`tighten`).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from assured_server.config import Settings

log = logging.getLogger(__name__)

OWNER_ONLY_UMASK = 0o077
# What the server keeps directly in the data dir: secrets (config.with_generated_secrets), the
# demo key (demo.py); and the folders it owns whole: stored objects, the workers' metrics.
DATA_DIR_FILES = (
    "jwt_secret",
    "s3_access_key_id",
    "s3_secret_access_key",
    "demo_api_key",
    "demo.env",
)
DATA_DIR_TREES = ("objects", "run")
# The files of a SQLite database besides the database itself (db/engine.py's writer lock).
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal", "-writer.lock")


def owner_only_umask() -> None:
    """From now on, every file and folder this process (and its children) creates is owner-only."""
    os.umask(OWNER_ONLY_UMASK)


def tighten(settings: Settings) -> int:
    """Remove group and other access from the data dir and what the server keeps; log a count.

    Only the server's own paths: a data dir that is also something else (a home directory) keeps
    the modes of everything else in it. Symbolic links are not followed. A folder that is
    already owner-only is not walked: nothing in it is reachable by others, and a data dir
    made by this version (or tightened once) then costs a few ``lstat`` calls, not one per
    stored file.
    """
    changed = sum(_tighten_tree(path) for path in _server_paths(settings))
    # The data dir itself, last (were it first and this walk interrupted, the next start would
    # not look below again), and without walking it: not everything in it need be ours.
    changed += _tighten_tree(settings.data_dir, walk=False)
    if changed:
        log.info("tightened permissions of %d path(s) in the data dir (now owner-only)", changed)
    return changed


def _server_paths(settings: Settings) -> Iterator[Path]:
    from assured_server.db.engine import sqlite_file_of

    data_dir = settings.data_dir
    for name in (*DATA_DIR_FILES, *DATA_DIR_TREES):
        yield data_dir / name
    url = settings.effective_database_url
    database = sqlite_file_of(url) if url.startswith("sqlite") else None
    if database is not None:
        for suffix in SQLITE_SUFFIXES:
            yield Path(database + suffix)


def _tighten_tree(path: Path, *, walk: bool = True) -> int:
    """Make ``path`` owner-only; a folder that was not, its contents first (if ``walk``).
    Returns how many paths changed (a missing path or a symbolic link: none)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return 0
    if stat.S_ISLNK(mode) or not mode & OWNER_ONLY_UMASK:
        return 0
    changed = 0
    if walk and stat.S_ISDIR(mode):
        changed += sum(_tighten_tree(Path(entry.path)) for entry in _entries(path))
    try:
        path.chmod(stat.S_IMODE(mode) & ~OWNER_ONLY_UMASK)
    except FileNotFoundError:
        return changed  # removed meanwhile (a temporary file)
    except PermissionError:
        log.warning("cannot make %s owner-only: it belongs to another user", path)
        return changed
    return changed + 1


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []
