"""Every JSON entry point, fuzzed: hostile bodies never make a 500, and the server stays healthy.

Each route gets bodies that vary nesting (past 100,000 levels), size (around the 256 KiB cap),
numbers, types, unicode, duplicate keys and shape, sent with and without a ``Content-Length``
and, where the route takes one, with no, a fresh or a reused ``Idempotency-Key``.
(``POST …/files/{id}/complete`` reads no body, and ``/api/v1/files/handle/`` takes multipart.)
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fuzz_support import assert_answer, assert_healthy, bodies, chunks
from hypothesis import given, settings
from hypothesis import strategies as st
from server_helpers import Api, assert_api_error, make_api
from v1_support import DOCUMENTS, PROFILES, available_file, file_url, new_profile

from assured_testing import ServerProcess

EXAMPLES = 120
TOKEN = "/api/v1/auth/token/"


@dataclass
class Target:
    """An account of its own with one of everything a body can refer to."""

    api: Api
    profile_id: str
    file_url: str
    username: str
    password: str
    refresh_tokens: dict[str, str]


@pytest.fixture(scope="module")
def target(server: ServerProcess) -> Iterator[Target]:
    creds = server.new_account("fuzz-json")
    api = make_api(server, creds)
    username, password = f"fuzz-{uuid.uuid4().hex[:12]}", secrets.token_urlsafe(12)
    server.admin(
        "create-user",
        "--account",
        creds.account_id,
        "--username",
        username,
        "--password-stdin",
        stdin=password,
    )
    refresh = {
        use: api.client.post(TOKEN, json={"api_key": creds.api_key}).json()["refresh"]
        for use in ("refresh", "revoke")
    }
    yield Target(
        api=api,
        profile_id=new_profile(api)["id"],
        file_url=file_url(available_file(api)["id"]),
        username=username,
        password=password,
        refresh_tokens=refresh,
    )
    api.client.close()


@dataclass(frozen=True)
class Route:
    """A JSON entry point: where it is, a valid body, what it answers when it succeeds."""

    name: str
    method: str
    path: Callable[[Target], str]
    base: Callable[[Target], dict[str, Any]]
    successes: frozenset[int]
    keyed: bool = False  # takes an Idempotency-Key


ROUTES = [
    Route(
        "token-api-key",
        "POST",
        lambda t: TOKEN,
        lambda t: {"api_key": t.api.creds.api_key},
        frozenset({200}),
    ),
    Route(
        "token-password",
        "POST",
        lambda t: TOKEN,
        lambda t: {"username": t.username, "password": t.password},
        frozenset({200}),
    ),
    Route(
        "token-refresh",
        "POST",
        lambda t: "/api/v1/auth/token/refresh/",
        lambda t: {"refresh": t.refresh_tokens["refresh"]},
        frozenset({200}),
    ),
    Route(
        "token-revoke",
        "POST",
        lambda t: "/api/v1/auth/token/revoke/",
        lambda t: {"refresh": t.refresh_tokens["revoke"]},
        frozenset({204}),
    ),
    Route(
        "v3-create",
        "POST",
        lambda t: t.api.files_path,
        lambda t: {
            "fileName": "a.pdf",
            "contentType": "application/pdf",
            "description": "d",
            "businessProcess": "onboarding",
            "businessProcessAction": "license",
            "expiration": "1d",
        },
        frozenset({201}),
        keyed=True,
    ),
    Route(
        "v1-presign",
        "POST",
        lambda t: "/api/v1/files/presign/",
        lambda t: {"file_url": t.file_url, "expires_in": 300},
        frozenset({200}),
    ),
    Route(
        "profile-create",
        "POST",
        lambda t: PROFILES,
        lambda t: {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "npi": "1234567893",
            "specialty": "Mathematics",
        },
        frozenset({201}),
        keyed=True,
    ),
    Route(
        "profile-patch",
        "PATCH",
        lambda t: f"{PROFILES}{t.profile_id}/",
        lambda t: {"first_name": "Ada", "email": "ada@example.com", "specialty": "Mathematics"},
        frozenset({200}),
    ),
    Route(
        "document-create",
        "POST",
        lambda t: DOCUMENTS,
        lambda t: {
            "provider": t.profile_id,
            "document_name": "State Medical License",
            "document_type": "License",
            "document_url": t.file_url,
        },
        frozenset({201}),
        keyed=True,
    ),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_no_hostile_body_makes_a_500_and_the_server_stays_healthy(
    target: Target, route: Route
) -> None:
    sticky_key = f"fuzz-sticky-{uuid.uuid4()}"  # reused: replays, and conflicts

    @settings(max_examples=EXAMPLES)
    @given(
        body=bodies(route.base(target)),
        key=st.sampled_from(["none", "fresh", "sticky"] if route.keyed else ["none"]),
        chunked=st.booleans(),
    )
    def fuzz(body: bytes, key: str, chunked: bool) -> None:
        headers = {"Content-Type": "application/json"}
        if key != "none":
            headers["Idempotency-Key"] = sticky_key if key == "sticky" else str(uuid.uuid4())
        response = target.api.client.request(
            route.method,
            route.path(target),
            content=chunks(body) if chunked else body,
            headers=headers,
        )
        assert_answer(response, set(route.successes))

    fuzz()
    assert_healthy(target.api)


def _deep(depth: int = 100_000) -> bytes:
    return b"[" * depth


@pytest.mark.parametrize("path", ["files", PROFILES, DOCUMENTS])
def test_a_body_nested_100000_deep_with_an_idempotency_key_is_400_and_the_key_stays_usable(
    target: Target, path: str
) -> None:
    # The fingerprint of a keyed body recursed into it and raised RecursionError: a 500.
    path = target.api.files_path if path == "files" else path
    key = f"deep-{uuid.uuid4()}"
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    for body in (_deep(), b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 40_000 + b"1" + b"}" * 40_000):
        response = target.api.client.post(path, content=body, headers=headers)
        assert_api_error(response, 400, "INVALID_REQUEST")
    # Nothing was kept for the key: a good body with it now creates.
    good = {
        target.api.files_path: {"fileName": "a.pdf", "contentType": "application/pdf"},
        PROFILES: {"first_name": "Ada", "last_name": "Lovelace"},
        DOCUMENTS: {
            "provider": target.profile_id,
            "document_name": "License",
            "document_type": "License",
            "document_url": target.file_url,
        },
    }[path]
    assert target.api.client.post(path, json=good, headers=headers).status_code == 201


@pytest.mark.parametrize("field", ["description", "businessProcess", "businessProcessAction"])
def test_a_nul_character_in_free_text_is_invalid_request_naming_the_field(
    target: Target, field: str
) -> None:
    # PostgreSQL cannot store NUL in text: the insert failed, a 500.
    body = {"fileName": "a.pdf", "contentType": "application/pdf", field: "a\u0000b"}
    response = target.api.create_upload(**body)
    assert_api_error(response, 400, "INVALID_REQUEST", field=field)
