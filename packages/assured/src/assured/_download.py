"""Where downloaded bytes go: a file written under a temporary name and renamed on success.

A download that fails half-way leaves nothing behind, and an existing file at the destination
is replaced only by a complete new one (``os.replace`` is atomic within a directory).
"""

from __future__ import annotations

import os
import re
import tempfile
import urllib.parse
from pathlib import Path
from typing import IO

DownloadDestination = str | os.PathLike[str] | IO[bytes]
"""A path or a binary file object. A path that names a directory — an existing one, or any
ending in ``/`` (made if missing) — receives the file under its own name."""

_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;\s]+)', re.I)


def filename_from_disposition(header: str | None) -> str | None:
    """The file name a ``Content-Disposition`` header suggests, made safe to use as a name."""
    if not header:
        return None
    name: str | None = None
    if match := _FILENAME_STAR.search(header):
        name = urllib.parse.unquote(match[2].strip(), encoding=match[1] or "utf-8")
    elif match := _FILENAME.search(header):
        name = match[1] if match[1] is not None else match[2]
    if name is None:
        return None
    # The name comes from the network: keep its last component only, so "../../.bashrc"
    # cannot write outside the chosen directory.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name if name not in ("", ".", "..") else None


def names_directory(destination: str | os.PathLike[str]) -> bool:
    """Whether a destination path means "into this directory": it ends with a separator
    (``copies/``, which ``Path`` would forget) or it is an existing directory."""
    text = os.fspath(destination)
    separators = tuple(sep for sep in (os.sep, os.altsep) if sep)
    return text.endswith(separators) or os.path.isdir(text)


def _make_directory(path: Path) -> list[Path]:
    """Make ``path`` and its missing parents; return those made, deepest first."""
    made = []
    missing = path
    while not missing.exists():
        made.append(missing)
        missing = missing.parent
    path.mkdir(parents=True, exist_ok=True)
    return made


class Sink:
    """An open destination: ``write`` chunks, then ``commit`` or ``abort``."""

    def __init__(self, destination: DownloadDestination, suggested_name: str) -> None:
        self.path: Path | None = None
        """The final path (``None`` when writing to a caller's file object)."""
        self._tmp: Path | None = None
        self._made: list[Path] = []
        if isinstance(destination, str | os.PathLike):
            path = Path(destination)
            if names_directory(destination):
                self._made = _make_directory(path)
                path = path / suggested_name
            self.path = path
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
            except BaseException:
                self._remove_made()
                raise
            self._tmp = Path(tmp)
            # mkstemp makes the file readable by its owner only: fitting for private documents.
            self._file: IO[bytes] = os.fdopen(fd, "wb")
        else:
            self._file = destination

    def write(self, chunk: bytes) -> None:
        """Write one chunk."""
        self._file.write(chunk)

    async def awrite(self, chunk: bytes) -> None:
        """Write one chunk from a worker thread, so the event loop never waits on the disk."""
        import anyio.to_thread  # on first use: see _concurrency

        await anyio.to_thread.run_sync(self._file.write, chunk)

    def commit(self) -> None:
        """Make the download visible under its final name."""
        self._file.flush()
        if self._tmp is not None and self.path is not None:
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self.path)
            self._tmp = None
        self._made = []

    def abort(self) -> None:
        """Throw away a partial download, and the directories made for it."""
        if self._tmp is not None:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        self._remove_made()

    def _remove_made(self) -> None:
        for directory in self._made:
            try:
                directory.rmdir()
            except OSError:  # something else was put there meanwhile: it stays
                break
        self._made = []
