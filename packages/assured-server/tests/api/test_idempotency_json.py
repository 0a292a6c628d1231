"""``Idempotency-Key`` on the JSON create endpoints of v1: replay, conflicts, races, bad keys."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from server_helpers import Api, assert_api_error, make_api
from v1_support import DOCUMENTS, PROFILES, available_file, count, file_url, new_profile

from assured_testing import ServerProcess

BODY = {"first_name": "Ada", "last_name": "Lovelace", "npi": "1234567893"}
CONCURRENCY = 20


@pytest.fixture(scope="module")
def idem(server: ServerProcess) -> Iterator[Api]:
    """An account of its own, so that counts are exact."""
    client = make_api(server, server.new_account("idempotency"))
    yield client
    client.client.close()


def _key() -> str:
    return f"test-{uuid.uuid4()}"


def _post(api: Api, path: str, content: bytes | str, key: str | bytes) -> httpx.Response:
    # Bytes, so that non-ASCII keys go out as they are (httpx would refuse to encode a str).
    raw_key = key if isinstance(key, bytes) else key.encode("ascii")
    headers = [(b"Content-Type", b"application/json"), (b"Idempotency-Key", raw_key)]
    response: httpx.Response = api.client.post(path, content=content, headers=headers)
    return response


def _profile(api: Api, key: str | bytes, body: dict[str, Any] | None = None) -> httpx.Response:
    return _post(api, PROFILES, json.dumps(body or BODY), key)


def test_the_same_key_and_body_replays_the_first_response_and_creates_nothing(idem: Api) -> None:
    key = _key()
    before = count(idem, PROFILES)
    first = _profile(idem, key)
    assert first.status_code == 201, first.text
    again = _profile(idem, key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert count(idem, PROFILES) == before + 1


def test_key_order_and_white_space_do_not_make_a_different_request(idem: Api) -> None:
    key = _key()
    before = count(idem, PROFILES)
    first = _post(idem, PROFILES, json.dumps(BODY), key)
    assert first.status_code == 201, first.text
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=4) + "\n"
    again = _post(idem, PROFILES, reordered, key)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert count(idem, PROFILES) == before + 1


def test_the_same_key_with_a_different_body_is_idempotency_conflict(idem: Api) -> None:
    key = _key()
    first = _profile(idem, key)
    assert first.status_code == 201, first.text
    before = count(idem, PROFILES)
    for body in ({**BODY, "last_name": "Byron"}, {k: v for k, v in BODY.items() if k != "npi"}):
        assert_api_error(_profile(idem, key, body), 409, "IDEMPOTENCY_CONFLICT")
    assert count(idem, PROFILES) == before
    # The first response stays the one that replays.
    assert _profile(idem, key).json() == first.json()


def test_the_same_key_on_another_path_is_idempotency_conflict(idem: Api) -> None:
    key = _key()
    profile = _profile(idem, key)
    assert profile.status_code == 201, profile.text
    before = count(idem, DOCUMENTS)
    document = {
        "provider": profile.json()["id"],
        "document_name": "License",
        "document_type": "License",
        "document_url": file_url(available_file(idem)["id"]),
    }
    response = _post(idem, DOCUMENTS, json.dumps(document), key)
    assert_api_error(response, 409, "IDEMPOTENCY_CONFLICT")
    assert count(idem, DOCUMENTS) == before


def test_a_document_create_replays_too(idem: Api) -> None:
    key = _key()
    document = json.dumps(
        {
            "provider": new_profile(idem)["id"],
            "document_name": "License",
            "document_type": "License",
            "document_url": file_url(available_file(idem)["id"]),
        }
    )
    before = count(idem, DOCUMENTS)
    first = _post(idem, DOCUMENTS, document, key)
    assert first.status_code == 201, first.text
    again = _post(idem, DOCUMENTS, document, key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert count(idem, DOCUMENTS) == before + 1


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 256, id="256-characters"),
        pytest.param("clé".encode(), id="non-ascii"),
        pytest.param("a\tb", id="tab"),
        pytest.param(b"a\x80b", id="obs-text-byte"),
    ],
)
def test_a_bad_key_is_invalid_request_naming_the_header(idem: Api, key: str | bytes) -> None:
    before = count(idem, PROFILES)
    response = _profile(idem, key)
    assert_api_error(response, 400, "INVALID_REQUEST", "Idempotency-Key")
    assert count(idem, PROFILES) == before


def test_two_keys_in_one_request_are_invalid_request(idem: Api) -> None:
    before = count(idem, PROFILES)
    response = idem.client.post(
        PROFILES,
        content=json.dumps(BODY),
        headers=[
            ("Content-Type", "application/json"),
            ("Idempotency-Key", _key()),
            ("Idempotency-Key", _key()),
        ],
    )
    assert_api_error(response, 400, "INVALID_REQUEST", "Idempotency-Key")
    assert count(idem, PROFILES) == before


@pytest.mark.parametrize("prefix", ["", "a b ~!{}", "k" * 223])
def test_keys_of_1_to_255_printable_ascii_characters_are_accepted(idem: Api, prefix: str) -> None:
    # Unique per run: 32 hex digits, or a single one for the 1-character key.
    key = prefix + uuid.uuid4().hex if prefix else uuid.uuid4().hex[0]
    assert 1 <= len(key) <= 255
    first = _profile(idem, key)
    assert first.status_code == 201, first.text
    again = _profile(idem, key)
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])


def test_keys_are_per_account(idem: Api, other_api: Api) -> None:
    key = _key()
    mine = _profile(idem, key)
    theirs = _profile(other_api, key, {**BODY, "last_name": "Byron"})
    assert mine.status_code == theirs.status_code == 201, (mine.text, theirs.text)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["last_name"] == "Byron"
    other_path = f"{PROFILES}{theirs.json()['id']}/"
    assert_api_error(idem.client.get(other_path), 404, "NOT_FOUND")


def test_concurrent_requests_with_one_key_create_exactly_one_profile(
    idem: Api, server: ServerProcess
) -> None:
    key = _key()
    before = count(idem, PROFILES)
    token = idem.client.headers["Authorization"]
    start = threading.Barrier(CONCURRENCY, timeout=30)

    def one() -> httpx.Response:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": token}, timeout=30
        ) as client:
            start.wait()
            return client.post(
                PROFILES,
                content=json.dumps(BODY),
                headers={"Content-Type": "application/json", "Idempotency-Key": key},
            )

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        futures = [pool.submit(one) for _ in range(CONCURRENCY)]
        responses = [f.result(timeout=60) for f in futures]

    created = [r for r in responses if r.status_code == 201]
    running = [r for r in responses if r.status_code != 201]
    assert created, [r.text for r in responses]
    assert len({r.json()["id"] for r in created}) == 1
    for response in running:
        assert_api_error(response, 409, "IDEMPOTENCY_CONFLICT")
        assert response.headers["retry-after"] == "1"
    assert count(idem, PROFILES) == before + 1
    # Once the first finished, the key replays it.
    assert _profile(idem, key).json() == created[0].json()


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"last_name": "Lovelace"}, id="missing-field"),
        pytest.param({**BODY, "npi": "1234567890"}, id="invalid-npi"),
    ],
)
def test_a_request_that_failed_validation_can_be_retried_with_the_same_key(
    idem: Api, bad: dict[str, Any]
) -> None:
    key = _key()
    before = count(idem, PROFILES)
    assert _profile(idem, key, bad).status_code == 400
    retried = _profile(idem, key)
    assert retried.status_code == 201, retried.text
    assert _profile(idem, key).json()["id"] == retried.json()["id"]
    assert count(idem, PROFILES) == before + 1


def test_a_create_that_failed_on_its_references_can_be_retried_with_the_same_key(
    idem: Api,
) -> None:
    key = _key()
    document = {
        "provider": str(uuid.uuid4()),
        "document_name": "License",
        "document_type": "License",
        "document_url": file_url(available_file(idem)["id"]),
    }
    before = count(idem, DOCUMENTS)
    assert_api_error(_post(idem, DOCUMENTS, json.dumps(document), key), 404, "NOT_FOUND")
    document["provider"] = new_profile(idem)["id"]
    retried = _post(idem, DOCUMENTS, json.dumps(document), key)
    assert retried.status_code == 201, retried.text
    assert count(idem, DOCUMENTS) == before + 1


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 response with a Content-Length (bounded by the timeout)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(v)
        for k, _, v in (line.partition(":") for line in lines[1:])
        if k.lower() == "content-length"
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, body
        body += chunk
    return int(lines[0].split()[1]), body


@pytest.mark.parametrize("path", [PROFILES, "v3"])
def test_a_json_create_counts_as_running_from_its_headers(idem: Api, path: str) -> None:
    if path == "v3":
        path = f"/v3/accounts/{idem.account_id}/files"
        body = json.dumps({"fileName": "scan.pdf", "contentType": "application/pdf"}).encode()
    else:
        body = json.dumps(BODY).encode()
    key = _key()
    url = urlsplit(idem.server.base_url)
    token = idem.client.headers["authorization"]
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        # The headers alone; the server asks for the body once the request is under way.
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: {token}\r\n"
                f"Content-Type: application/json\r\nIdempotency-Key: {key}\r\n"
                f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
        )
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = sock.recv(1)
            assert chunk, interim
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100"), interim
        # Meanwhile the same key, with the whole body: the first request is still running.
        running = _post(idem, path, body, key)
        assert_api_error(running, 409, "IDEMPOTENCY_CONFLICT")
        assert running.headers["retry-after"] == "1"
        sock.sendall(body)
        status, first = _read_response(sock)
    assert status == 201, first
    replay = _post(idem, path, body, key)
    assert replay.status_code == 201 and replay.json() == json.loads(first)
