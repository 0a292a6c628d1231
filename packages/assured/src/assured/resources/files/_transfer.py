"""Streaming a pre-signed download to its destination, for both clients."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from assured._base_client import RequestOptions, connection_error
from assured._constants import CHUNK_SIZE
from assured._download import DownloadDestination, Sink, filename_from_disposition
from assured._streams import ProgressCallback

if TYPE_CHECKING:
    from assured._base_client_async import AsyncAPIClient
    from assured._base_client_sync import SyncAPIClient


def _get(url: str) -> RequestOptions:
    # Pre-signed: the URL is the credential, and storage refuses a second one in a header.
    return RequestOptions("GET", url, authenticated=False)


def _total(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _open_sink(response: httpx.Response, destination: DownloadDestination, file: str) -> Sink:
    fallback = file.rstrip("/").rsplit("/", 1)[-1] or "download"
    header = response.headers.get("content-disposition")
    return Sink(destination, filename_from_disposition(header) or fallback)


async def download_async(
    client: AsyncAPIClient,
    url: str,
    destination: DownloadDestination,
    file: str,
    progress: ProgressCallback | None,
) -> Path | None:
    """GET ``url`` and stream its body into ``destination``; nothing partial stays behind."""
    async with client.stream(_get(url)) as response:
        total = _total(response)
        sink = _open_sink(response, destination, file)
        done = 0
        try:
            if progress is not None:
                progress(0, total)
            async for chunk in response.aiter_bytes(CHUNK_SIZE):
                await sink.awrite(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            sink.commit()
        except httpx.RequestError as exc:
            sink.abort()
            raise connection_error(exc, response.request) from exc
        except BaseException:
            sink.abort()
            raise
    return sink.path


def download_sync(
    client: SyncAPIClient,
    url: str,
    destination: DownloadDestination,
    file: str,
    progress: ProgressCallback | None,
) -> Path | None:
    """GET ``url`` and stream its body into ``destination``; nothing partial stays behind."""
    with client.stream(_get(url)) as response:
        total = _total(response)
        sink = _open_sink(response, destination, file)
        done = 0
        try:
            if progress is not None:
                progress(0, total)
            for chunk in response.iter_bytes(CHUNK_SIZE):
                sink.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            sink.commit()
        except httpx.RequestError as exc:
            sink.abort()
            raise connection_error(exc, response.request) from exc
        except BaseException:
            sink.abort()
            raise
    return sink.path
