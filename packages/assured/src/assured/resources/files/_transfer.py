"""What downloads need without I/O: the request for a pre-signed URL and where its bytes go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assured._download import DownloadDestination, Sink, filename_from_disposition
from assured._request_options import RequestOptions

if TYPE_CHECKING:
    import httpx


def presigned_get(url: str) -> RequestOptions:
    """GET a pre-signed URL: the URL is the credential, and storage refuses a second one."""
    return RequestOptions("GET", url, authenticated=False)


def total_size(response: httpx.Response) -> int | None:
    """The announced size of a download, if any."""
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def open_sink(response: httpx.Response, destination: DownloadDestination, file: str) -> Sink:
    """The destination, opened; the file's own name comes from the answer, else from ``file``."""
    fallback = file.rstrip("/").rsplit("/", 1)[-1] or "download"
    header = response.headers.get("content-disposition")
    return Sink(destination, filename_from_disposition(header) or fallback)
