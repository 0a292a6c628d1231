"""A slow v1 upload meets the sweep: its row is left alone while it streams, and an upload
whose row moved on anyway (expired, or dropped after a stall past its lease) answers the
contract's error and leaves no bytes and no row.

The body is a generator that sends the form up to the middle of the file, then waits for the
test; meanwhile the test moves the row's clock in the database (as if minutes had passed) and
waits, bounded, for the server's own sweep (four a second) to act on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from server_helpers import (
    Api,
    assert_api_error,
    in_database,
    make_api,
    pdf_bytes,
    sha256,
    stored_objects,
    wait_until,
)
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assured_server.db.models import StoredFile
from assured_testing import ServerProcess

HANDLE = "/api/v1/files/handle/"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
CONTENT = pdf_bytes(300_000)
WAIT = 30.0


class SlowUpload:
    """A v1 upload whose body stops in the middle of the file until :meth:`finish`."""

    def __init__(self, api: Api, data: dict[str, str] | None = None) -> None:
        request = api.client.build_request(
            "POST", HANDLE, files={"file": ("slow.pdf", CONTENT)}, data=data or {}
        )
        body = request.read()
        cut = body.index(CONTENT) + 100_000
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        self._go_on = threading.Event()
        self.rest_sent = False

        def chunks() -> Iterator[bytes]:
            yield body[:cut]
            if self._go_on.wait(WAIT * 2):
                self.rest_sent = True
                yield body[cut:]
            # else: the test failed before finish(); the body ends short, the server refuses it

        self._pool = ThreadPoolExecutor(1)
        self._response: Future[httpx.Response] = self._pool.submit(
            api.client.post, HANDLE, content=chunks(), headers=headers, timeout=WAIT * 3
        )

    def finish(self) -> httpx.Response:
        """Send the rest of the body; the answer."""
        self._go_on.set()
        try:
            return self._response.result(timeout=WAIT * 3)
        finally:
            self._pool.shutdown()

    def abandon(self) -> None:
        """End the upload whatever happened (a failed test must not leave a thread waiting)."""
        self._go_on.set()
        self._pool.shutdown()


def _rows(server: ServerProcess, account_id: str) -> list[StoredFile]:
    async def work(session: AsyncSession) -> list[StoredFile]:
        found = await session.scalars(select(StoredFile).where(StoredFile.account_id == account_id))
        return list(found)

    return in_database(server, work)


def _set(server: ServerProcess, file_id: str, **values: Any) -> None:
    async def work(session: AsyncSession) -> int:
        result = await session.execute(
            update(StoredFile).where(StoredFile.id == file_id).values(**values)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    assert in_database(server, work) == 1


def _the_pending_row(server: ServerProcess, account_id: str) -> StoredFile:
    """Wait (bounded) until the upload has recorded its pending row; the row."""
    wait_until(lambda: len(_rows(server, account_id)) == 1, WAIT)
    (row,) = _rows(server, account_id)
    assert row.status == "pending" and row.origin == "v1"
    return row


def _row(server: ServerProcess, file_id: str) -> StoredFile | None:
    async def work(session: AsyncSession) -> StoredFile | None:
        return await session.get(StoredFile, file_id)

    return in_database(server, work)


@pytest.fixture
def api(swept_server: ServerProcess) -> Iterator[Api]:
    """A fresh account on the quickly sweeping server (its rows are the test's alone)."""
    client = make_api(swept_server, swept_server.new_account("slow"))
    yield client
    client.client.close()


def _nothing_new(server: ServerProcess, before: set[Any], file_id: str) -> None:
    after = set(stored_objects(server))
    assert after <= before, f"left in storage: {after - before}"
    assert not any(file_id in str(path) for path in after)
    assert _row(server, file_id) is None


def test_a_slow_upload_keeps_its_row_through_sweeps_and_is_stored(api: Api) -> None:
    server = api.server
    upload = SlowUpload(api)
    try:
        row = _the_pending_row(server, api.account_id)
        # Its upload window closed long ago, as for an upload slower than window plus grace.
        _set(server, row.id, upload_expires_at=LONG_AGO)
        # A witness: a v3 upload whose window closed as long ago and that nobody holds. Once the
        # sweep has dropped it, a sweep has looked at both rows.
        witness = api.created()["id"]
        _set(server, witness, upload_expires_at=LONG_AGO)
        wait_until(lambda: _row(server, witness) is None, WAIT)
        current = _row(server, row.id)
        assert current is not None and current.status == "pending"
        response = upload.finish()
    finally:
        upload.abandon()
    assert response.status_code == 201, response.text
    assert response.json()["id"] == row.id and response.json()["sha256"] == sha256(CONTENT)
    stored = _row(server, row.id)
    assert stored is not None and stored.status == "available"
    assert stored.sweep_claimed_until is None  # the lease went with the commit
    assert httpx.get(api.download_url(row.id).json()["url"]).content == CONTENT


def test_an_upload_whose_row_was_dropped_answers_503_and_leaves_nothing(api: Api) -> None:
    server = api.server
    before = set(stored_objects(server))
    upload = SlowUpload(api)
    try:
        row = _the_pending_row(server, api.account_id)
        # The client stalled past its lease, and past the upload window and its grace.
        _set(server, row.id, upload_expires_at=LONG_AGO, sweep_claimed_until=LONG_AGO)
        wait_until(lambda: _row(server, row.id) is None, WAIT)
        response = upload.finish()
    finally:
        upload.abandon()
    assert upload.rest_sent
    assert_api_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response.headers["retry-after"] == "1"
    _nothing_new(server, before, row.id)


@pytest.mark.parametrize("lease", ["held", "lapsed"])
def test_an_upload_that_outlived_its_expiration_answers_410_and_leaves_nothing(
    api: Api, lease: str
) -> None:
    server = api.server
    before = set(stored_objects(server))
    upload = SlowUpload(api, {"expiration": "1m"})
    try:
        row = _the_pending_row(server, api.account_id)
        assert row.expires_at is not None
        # The minute passes. With the lease held the sweep marks the file expired but leaves
        # it to the upload; with the lease lapsed (a stalled client) it also purges it: the
        # state in which the bytes written after the purge used to stay.
        lapsed = {"sweep_claimed_until": LONG_AGO} if lease == "lapsed" else {}
        _set(server, row.id, expires_at=LONG_AGO, **lapsed)

        def swept() -> bool:
            current = _row(server, row.id)
            assert current is not None
            return current.status == "expired" and (
                lease == "held" or current.purged_at is not None
            )

        wait_until(swept, WAIT)
        if lease == "held":
            current = _row(server, row.id)
            assert current is not None and current.purged_at is None
        response = upload.finish()
    finally:
        upload.abandon()
    assert upload.rest_sent
    assert_api_error(response, 410, "FILE_EXPIRED")
    _nothing_new(server, before, row.id)
