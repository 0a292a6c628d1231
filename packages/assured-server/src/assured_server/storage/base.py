"""The storage interface that every backend (filesystem, S3) implements."""

from __future__ import annotations

import abc
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime

# Keys are made by the server from ids (``files/<id>``, ``uploads/<id>``), never from client names;
# this pattern is a second line of defence against path tricks in a backend that maps keys to paths.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


class StorageError(Exception):
    """Base class of storage failures."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class ObjectExists(StorageError):
    """A commit that must not overwrite found the key taken."""


class StorageUnavailable(StorageError):
    """The store cannot be reached or failed; the caller answers 503 and retries later."""


class PreconditionFailed(StorageError):
    """The object is no longer the version an ETag named (a conditional read or copy refused)."""


def check_key(key: str) -> str:
    """Return ``key`` if it is one of the shapes the server makes, else raise ``ValueError``."""
    if len(key) > 512 or not _KEY.fullmatch(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a HEAD tells about an object."""

    key: str
    size: int
    etag: str
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class PresignedPost:
    """Where and with which form fields a client uploads straight to the store."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


class ObjectWriter(abc.ABC):
    """One object being written: nothing is visible under its key until :meth:`commit`."""

    @abc.abstractmethod
    async def write(self, data: bytes) -> None:
        """Append ``data``."""

    @abc.abstractmethod
    async def commit(self, *, overwrite: bool = False) -> None:
        """Make the object durable and visible under its key (atomically), or raise."""

    @abc.abstractmethod
    async def abort(self) -> None:
        """Throw away what was written; safe to call more than once and after a failure."""


class StorageBackend(abc.ABC):
    """Objects addressed by key in one bucket."""

    bucket: str

    @abc.abstractmethod
    async def open_writer(self, key: str) -> ObjectWriter:
        """Start writing an object under ``key``."""

    @abc.abstractmethod
    def read(
        self, key: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``start`` to ``end`` inclusive (the whole object by default).

        With ``if_match`` only the version with that ETag is read, else :class:`PreconditionFailed`.
        """

    @abc.abstractmethod
    async def head(self, key: str) -> ObjectInfo:
        """Size and ETag of the object, or :class:`ObjectNotFound`."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    @abc.abstractmethod
    async def copy(self, src_key: str, dst_key: str, *, if_match_etag: str) -> None:
        """Copy ``src_key`` to ``dst_key`` inside the store, only as the version ``if_match_etag``.

        Raises :class:`PreconditionFailed` when the source has another ETag by now,
        :class:`ObjectNotFound` when it is gone and :class:`ObjectExists` when ``dst_key`` is taken
        (a copy never replaces an object).
        """

    @abc.abstractmethod
    async def list_objects(
        self, prefix: str, *, limit: int, start_after: str | None = None
    ) -> list[ObjectInfo]:
        """At most ``limit`` committed objects whose keys start with ``prefix``, by key.

        With ``start_after``, only keys after it: the next page of a listing.
        """

    @abc.abstractmethod
    def presign_get(
        self, key: str, *, expires_in: int, response_params: Mapping[str, str], now: datetime
    ) -> str:
        """A URL that serves the object to anyone holding it until it expires."""

    @abc.abstractmethod
    def presign_post(
        self,
        key: str,
        *,
        content_type: str,
        max_size: int,
        expires_in: int,
        now: datetime,
    ) -> PresignedPost:
        """A POST-policy form that lets a browser upload one object under ``key``."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise :class:`StorageUnavailable` unless the store answers."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare the store when the server starts (clean leftovers, create folders)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections when the server stops."""
