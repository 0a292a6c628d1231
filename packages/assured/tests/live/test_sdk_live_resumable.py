"""``files.upload`` above ``resumable_threshold`` goes up with tus, and resumes after a proxy
cuts the connection in the middle of a chunk, without the caller noticing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from live_data import pdf_bytes, sha256
from sdk_live_harness import LiveServer

from assured import Assured, AssuredClient
from assured.resources.files import _async as files_async
from assured.resources.files import _sync as files_sync

CHUNK = 1024 * 1024


class CuttingProxy:
    """A TCP proxy to the server that drops one connection after ``cut_after`` bytes sent up."""

    def __init__(self, target: str, cut_after: int) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.cut_after = cut_after
        self.cuts = 0
        self._armed = True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        cut, self._armed = self._armed, False  # only the first connection is cut

        def down() -> None:
            try:
                while data := upstream.recv(65536):
                    client.sendall(data)
            except OSError:
                pass
            finally:
                client.close()

        threading.Thread(target=down, daemon=True).start()
        sent = 0
        try:
            while data := client.recv(65536):
                if cut and sent + len(data) > self.cut_after:
                    self.cuts += 1
                    break
                upstream.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            # A cut: both sides see the connection go away mid-request (shutdown sends the FIN
            # at once; close alone waits for the other thread's recv).
            for end in (upstream, client):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy(live_server: LiveServer) -> Iterator[CuttingProxy]:
    """The proxy, cutting the first connection 2.5 chunks into its upload."""
    running = CuttingProxy(live_server.base_url, cut_after=int(2.5 * CHUNK))
    yield running
    running.close()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """1 MiB chunks: the live server takes at most 4 MiB."""
    monkeypatch.setattr(files_async, "RESUMABLE_CHUNK_SIZE", CHUNK)
    monkeypatch.setattr(files_sync, "RESUMABLE_CHUNK_SIZE", CHUNK)


async def test_a_large_upload_resumes_after_a_cut_connection(
    live_server: LiveServer, proxy: CuttingProxy
) -> None:
    data = pdf_bytes(4 * CHUNK - 100)
    seen: list[int] = []
    async with AssuredClient(base_url=proxy.url, api_key=live_server.api_key) as client:
        record = await client.files.upload(
            data,
            filename="statement.pdf",
            resumable_threshold=CHUNK,
            progress=lambda done, _total: seen.append(done),
        )
        assert proxy.cuts == 1
        assert (record.sha256, record.size) == (sha256(data), len(data))
        assert record.file_url.endswith(record.id)
        # It went up as a resumable upload: a v3 File that expires (a v1 file does not).
        file = await client.files.get(record.id)
        assert file.status == "available"
        assert file.expires_at is not None
    assert seen[0] == 0 and seen[-1] == len(data)


def test_the_sync_client_uploads_resumably_too(live_server: LiveServer) -> None:
    data = pdf_bytes(2 * CHUNK + 7)
    with Assured(base_url=live_server.base_url, api_key=live_server.api_key) as client:
        record = client.files.upload(data, filename="scan.pdf", resumable_threshold=CHUNK)
        assert record.sha256 == sha256(data)
        assert client.files.get(record.id).expires_at is not None
        # Below the threshold: the one-request v1 upload, which does not expire.
        small = client.files.upload(data[:1000], filename="small.pdf", resumable_threshold=CHUNK)
        assert client.files.get(small.id).expires_at is None
