"""Helpers of the server tests (a module with a unique name: several conftest.py files exist)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import assured_testing as testing
from assured_server.db.engine import Database
from assured_testing import Credentials, ServerProcess

T = TypeVar("T")

# Small limits keep the over-limit tests fast; the 1 GiB runs live in bench/.
TEST_MAX_UPLOAD = 1 << 20
BUCKET = "assured-files"


def is_s3(server: ServerProcess) -> bool:
    """Whether the server stores files in an S3 store (else on its own disk)."""
    return server.env_overrides.get("ASSURED_STORAGE_BACKEND") == "s3"


def mismatch_post_status(server: ServerProcess) -> int:
    """The POST status for bytes that do not match the declared type.

    The embedded storage verifies while the bytes arrive and refuses at once (400); a plain S3
    store accepts them (204) and the server rejects the file when it verifies.
    """
    return 204 if is_s3(server) else 400


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``predicate`` until it holds, for at most ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not reached within {timeout}s")


@dataclass
class Api:
    """An httpx client for one account of a running server, with contract helpers."""

    server: ServerProcess
    creds: Credentials
    client: httpx.Client

    @property
    def account_id(self) -> str:
        """The account these calls act for."""
        return self.creds.account_id

    @property
    def files_path(self) -> str:
        """``/v3/accounts/<id>/files``."""
        return f"/v3/accounts/{self.account_id}/files"

    def create_upload(self, **body: Any) -> httpx.Response:
        """``POST /v3/accounts/{id}/files`` with ``body`` as JSON."""
        return self.client.post(self.files_path, json=body)

    def created(
        self, file_name: str = "doc.pdf", content_type: str = "application/pdf", **extra: Any
    ) -> dict[str, Any]:
        """Create an upload that must succeed; returns the 201 body."""
        response = self.create_upload(fileName=file_name, contentType=content_type, **extra)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def post_form(
        self,
        ticket: dict[str, Any],
        content: bytes,
        *,
        file_name: str = "upload.bin",
        fields: dict[str, str] | None = None,
        settle: bool = True,
    ) -> httpx.Response:
        """POST every field of ``ticket`` (or ``fields``) then ``file``, as ``curl -F`` does.

        On an S3 store the POST only lands the bytes; as a client would, this then calls
        ``complete`` so that the file is in its final state when it returns, as with the
        embedded storage (which verifies while the bytes arrive). ``settle=False`` only posts.
        """
        form = fields if fields is not None else ticket["fields"]
        response = httpx.post(
            ticket["uploadUrl"],
            data=form,
            files={"file": (file_name, content, "application/octet-stream")},
            timeout=30,
        )
        if settle and is_s3(self.server) and response.is_success:
            settled = self.client.post(f"{self.files_path}/{ticket['id']}/complete")
            assert settled.status_code == 200, settled.text
        return response

    def get_file(self, file_id: str) -> httpx.Response:
        """``GET`` one file."""
        return self.client.get(f"{self.files_path}/{file_id}")

    def file_count(self) -> int:
        """How many files the account lists (all statuses, every page)."""
        total, cursor = 0, None
        for _ in range(1000):
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = self.client.get(self.files_path, params=params).json()
            total += len(page["items"])
            cursor = page["nextCursor"]
            if not cursor:
                return total
        raise AssertionError("listing did not end within 1000 pages")

    def download_url(self, file_id: str, **params: Any) -> httpx.Response:
        """``GET …/download-url``."""
        return self.client.get(f"{self.files_path}/{file_id}/download-url", params=params)


def stored_objects(server: ServerProcess) -> list[Path]:
    """Every stored object: files under the storage root (temporary ones included), or the keys
    of the S3 bucket (as paths) with unfinished multipart uploads."""
    if is_s3(server):
        return _bucket_objects(server)
    root = server.data_dir / "objects"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _bucket_objects(server: ServerProcess) -> list[Path]:
    import boto3
    from botocore.config import Config

    env = server.env_overrides
    client = boto3.client(
        "s3",
        endpoint_url=env["ASSURED_S3_ENDPOINT_URL"],
        region_name=env["ASSURED_S3_REGION"],
        aws_access_key_id=env["ASSURED_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["ASSURED_S3_SECRET_ACCESS_KEY"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    try:
        bucket = env["ASSURED_BUCKET"]
        keys = [
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])
        ]
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        keys += [f"multipart:{u['Key']}:{u['UploadId']}" for u in uploads]
    finally:
        client.close()
    return sorted(Path(key) for key in keys)


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def pdf_bytes(size: int = 2048) -> bytes:
    """A body that passes the PDF magic check, of exactly ``size`` bytes."""
    head = b"%PDF-1.7\n"
    return head + bytes((i * 7 + 3) % 251 for i in range(size - len(head)))


def png_bytes(size: int = 1024) -> bytes:
    """A body that passes the PNG checks (magic bytes, a 16 x 16 IHDR header), ``size`` bytes."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    return head + bytes((i * 13) % 256 for i in range(size - len(head)))


def jpeg_bytes(size: int = 2048) -> bytes:
    """A body that passes the JPEG checks (start of image, a 16 x 16 frame header)."""
    head = b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 11, 8, 16, 16, 1) + b"\x01\x11\x00"
    return head + bytes((i * 5) % 256 for i in range(size - len(head)))


def make_api(server: ServerProcess, creds: Credentials) -> Api:
    """An :class:`Api` with a fresh token for ``creds``."""
    client = httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {server.token(creds)}"},
        timeout=30,
    )
    return Api(server, creds, client)


ERROR_KEYS = frozenset({"code", "detail", "request_id"})


def assert_api_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """The contract's one JSON error shape: status, code, ``field`` when named, no other key."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) - {"field"} == ERROR_KEYS, body
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert body["request_id"] == response.headers["x-request-id"], body
    if "field" in body:
        assert isinstance(body["field"], str) and body["field"], body
    if field is not None:
        assert body.get("field") == field, body
    return body


def assert_contract_error(response: httpx.Response) -> dict[str, Any]:
    """Any 4xx of the contract: the one JSON error shape, with the code's own status."""
    from assured_server.errors import ErrorCode

    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    codes = {code.value: code.status for code in ErrorCode}
    code = response.json().get("code") if response.content.startswith(b"{") else None
    assert codes.get(code) == response.status_code, (response.status_code, response.text[:500])
    return assert_api_error(response, response.status_code, str(code))


def s3_error_code(response: httpx.Response) -> str:
    """The ``<Code>`` of an S3 XML error (never JSON, never HTML)."""
    import xml.etree.ElementTree as ET  # noqa: N817 - the usual alias

    assert response.headers["content-type"].startswith("application/xml"), response.headers
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's answer
    assert root.tag == "Error", response.text
    if "x-request-id" in response.headers:  # ours; an S3 store has its own request ids
        assert root.findtext("RequestId") == response.headers["x-request-id"], response.text
    return root.findtext("Code") or ""


def assert_s3_error(response: httpx.Response, status: int, code: str) -> None:
    """An S3-style XML error with this status and ``<Code>``."""
    assert response.status_code == status, response.text
    assert s3_error_code(response) == code, response.text


def storage_credentials(server: ServerProcess) -> Any:
    """The embedded storage's SigV4 credentials, as the server generated them."""
    from assured_server.s3_protocol.sigv4 import Credentials as SigV4Credentials

    return SigV4Credentials(
        access_key_id=(server.data_dir / "s3_access_key_id").read_text().strip(),
        secret_access_key=(server.data_dir / "s3_secret_access_key").read_text().strip(),
        region="us-east-1",
    )


def database_url(server: ServerProcess) -> str:
    """The SQLAlchemy URL of the server's database (SQLite in its data dir unless set)."""
    return server.env_overrides.get(
        "ASSURED_DATABASE_URL", f"sqlite+aiosqlite:///{server.data_dir / 'assured.db'}"
    )


def in_database(server: ServerProcess, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on the server's own database (any backend).

    For arranging states a client cannot reach without waiting (an expiry in the past) and
    for looking at rows the API does not show.
    """

    async def go() -> T:
        db = Database(database_url(server))
        try:
            async with db.write() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def create_postgres_database() -> str:
    """A fresh PostgreSQL database for this test run: its ``postgresql+asyncpg://`` URL.

    Skips (or fails, with ``REQUIRE_POSTGRES=1``) when PostgreSQL cannot be reached.
    """
    try:
        return testing.create_postgres_database(PG_ADMIN_DSN, "assured_test")
    except Exception as exc:  # any failure to create a database means "not reachable"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but not reachable: {exc!r}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {type(exc).__name__}")


def drop_postgres_database(url: str) -> None:
    """Drop a database made by :func:`create_postgres_database`."""
    testing.drop_postgres_database(PG_ADMIN_DSN, url)


@contextlib.contextmanager
def own_server(
    request: pytest.FixtureRequest,
    directory: Path,
    backend: dict[str, str],
    env: dict[str, str],
    *,
    bucket_prefix: str = "own",
) -> Iterator[ServerProcess]:
    """A started server of the caller's own, with ``env``, on ``backend``'s deployment.

    On the S3 deployment it gets a database and a bucket of its own: a sweep takes objects no
    row of its database accounts for as orphans, so two servers with different databases must
    not share a bucket.
    """
    url = None
    if backend:
        url = create_postgres_database()
        store: testing.SeaweedFS = request.getfixturevalue("seaweedfs")
        bucket = f"{bucket_prefix}-{secrets.token_hex(4)}"
        store.create_bucket(bucket)
        env = env | {"ASSURED_DATABASE_URL": url, **store.server_env(bucket)}
    proc = ServerProcess(directory, env_overrides=env)
    try:
        yield proc.start()
    finally:
        proc.stop()
        if url is not None:
            drop_postgres_database(url)


async def numbers_database(directory: Path) -> Database:
    """A SQLite :class:`Database` in ``directory`` (``q.db``) with one table ``n (v INTEGER)``."""
    db = Database(f"sqlite+aiosqlite:///{directory / 'q.db'}")
    async with db.write() as session:
        await session.execute(text("CREATE TABLE n (v INTEGER NOT NULL)"))
    return db
