"""The streamed multipart body: correct framing, exact length, progress, flat memory."""

from __future__ import annotations

import email.parser
import email.policy
import http.server
import json
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sdk_helpers import TOKEN_PATH, token_body, upload_json

from assured import Assured, AssuredClient
from assured._constants import CHUNK_SIZE
from assured._multipart import MultipartForm
from assured._streams import open_source


def _parse(body: bytes, content_type: str) -> list[tuple[object, str | None, str, object]]:
    """(name, filename, content type, payload) of every part, with the stdlib's MIME parser."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts: list[tuple[object, str | None, str, object]] = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        parts.append(
            (
                part.get_param("name", header="content-disposition"),
                part.get_filename(),
                part.get_content_type(),
                payload,
            )
        )
    return parts


def _form(data: bytes, **kwargs: object) -> MultipartForm:
    defaults: dict[str, object] = {
        "file_field": "file",
        "filename": "scan.png",
        "content_type": "image/png",
    }
    defaults.update(kwargs)
    return MultipartForm(
        [("key", "uploads/abc"), ("Policy", "eyJ9")],
        source=open_source(data),
        **defaults,  # type: ignore[arg-type]
    )


def test_fields_come_first_in_order_then_the_file() -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    form = _form(data)
    body = b"".join(form)
    parts = _parse(body, form.content_type)
    assert [p[0] for p in parts] == ["key", "Policy", "file"]
    assert parts[0][3] == b"uploads/abc"
    assert parts[2][1:] == ("scan.png", "image/png", data)


def test_content_length_is_exact() -> None:
    form = _form(b"x" * (CHUNK_SIZE * 2 + 5))
    assert form.content_length == len(b"".join(form))
    assert form.headers()["Content-Length"] == str(form.content_length)


def test_quotes_and_line_breaks_in_names_do_not_break_the_framing() -> None:
    form = _form(b"%PDF-", filename='a"b\r\nc.pdf', content_type="application/pdf")
    body = b"".join(form)
    assert b'filename="a%22b%0D%0Ac.pdf"' in body
    assert len(_parse(body, form.content_type)) == 3


def test_non_ascii_filenames_are_sent_as_utf8() -> None:
    form = _form(b"%PDF-", filename="résumé.pdf", content_type="application/pdf")
    assert 'filename="résumé.pdf"'.encode() in b"".join(form)


def test_progress_reports_file_bytes_per_chunk() -> None:
    calls: list[tuple[int, int | None]] = []
    size = CHUNK_SIZE * 2 + 10
    form = _form(b"y" * size, progress=lambda done, total: calls.append((done, total)))
    b"".join(form)
    assert calls == [(0, size), (CHUNK_SIZE, size), (CHUNK_SIZE * 2, size), (size, size)]


async def test_async_iteration_gives_the_same_bytes() -> None:
    form = _form(b"z" * (CHUNK_SIZE + 3))
    boundary_free = b"".join(form)
    chunks = [chunk async for chunk in form]
    assert b"".join(chunks) == boundary_free


class _DiscardingHandler(http.server.BaseHTTPRequestHandler):
    """A real HTTP server that reads uploads in small pieces and keeps nothing."""

    received: int = 0

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        length = int(self.headers["Content-Length"])
        left = length
        while left:
            left -= len(self.rfile.read(min(65536, left)))
        type(self).received = length
        body = token_body() if self.path == TOKEN_PATH else upload_json()
        payload = json.dumps(body).encode()
        self.send_response(200 if self.path == TOKEN_PATH else 201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802
        # No upload-limits route, as on an older server: the SDK uploads all the same.
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def real_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DiscardingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def big_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "big.pdf"
    with path.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        block = b"0123456789abcdef" * 65536  # 1 MiB
        for _ in range(40):
            f.write(block)
    return path


def test_path_upload_over_a_real_socket_keeps_memory_flat(real_server: str, big_pdf: Path) -> None:
    size = big_pdf.stat().st_size
    with Assured(base_url=real_server, api_key="k") as client:
        # The one-request stream of v1 (over the threshold, a resumable upload holds one chunk).
        client.files.upload(big_pdf, resumable_threshold=None)  # warm up: token, pool, imports
        tracemalloc.start()
        try:
            client.files.upload(big_pdf, resumable_threshold=None)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert _DiscardingHandler.received > size
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte file"


async def test_async_path_upload_over_a_real_socket_keeps_memory_flat(
    real_server: str, big_pdf: Path
) -> None:
    size = big_pdf.stat().st_size
    async with AssuredClient(base_url=real_server, api_key="k") as client:
        await client.files.upload(big_pdf, resumable_threshold=None)
        tracemalloc.start()
        try:
            await client.files.upload(big_pdf, resumable_threshold=None)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert _DiscardingHandler.received > size
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte file"


def test_file_object_upload_reads_in_chunks(real_server: str, big_pdf: Path) -> None:
    reads: list[int] = []

    class Recording:
        def __init__(self, path: Path) -> None:
            self._f = path.open("rb")
            self.name = str(path)

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return self._f.read(size)

        def seekable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            return self._f.seek(offset, whence)

        def tell(self) -> int:
            return self._f.tell()

    recording = Recording(big_pdf)
    with Assured(base_url=real_server, api_key="k") as client:
        client.files.upload(recording, resumable_threshold=None)
    recording._f.close()
    assert reads
    assert all(0 < size <= CHUNK_SIZE for size in reads)
