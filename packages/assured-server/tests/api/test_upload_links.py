"""Upload links over HTTP on both deployments: the account's API, the link's API under ``/u``,
every refusal with its code, one slot per file, the rate limit, CORS and the page's headers.

One server per deployment for the module (its rate limit per link is low, so that the limit
test is quick, and each test uses links of its own).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from server_helpers import (
    TEST_MAX_UPLOAD,
    Api,
    assert_api_error,
    in_database,
    is_s3,
    make_api,
    mismatch_post_status,
    own_server,
    pdf_bytes,
    png_bytes,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from assured_testing import ServerProcess

LINK_SCOPES = "files:read files:write links:read links:write"
APP_ORIGIN = "http://app.example.test"
RATE = 20
LINK_KEYS = {
    "id",
    "label",
    "contentTypes",
    "maxFiles",
    "filesUploaded",
    "status",
    "expiresAt",
    "createdAt",
}


@pytest.fixture(scope="module")
def links_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: dict[str, str],
) -> Iterator[ServerProcess]:
    """A server of the module's own, with a low per-link rate limit and one CORS origin."""
    env = {
        "ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD),
        "ASSURED_UPLOAD_LINK_RATE_LIMIT_PER_MINUTE": str(RATE),
        "ASSURED_CORS_ORIGINS": APP_ORIGIN,
    }
    with own_server(request, tmp_path_factory.mktemp("links"), backend, env) as proc:
        yield proc


@pytest.fixture(scope="module")
def owner(links_server: ServerProcess) -> Iterator[Api]:
    """An account whose key may manage links."""
    client = make_api(links_server, links_server.new_account("links", scopes=LINK_SCOPES))
    yield client
    client.client.close()


@pytest.fixture(scope="module")
def stranger(links_server: ServerProcess) -> Iterator[Api]:
    """Another account, also allowed to manage links."""
    client = make_api(links_server, links_server.new_account("stranger", scopes=LINK_SCOPES))
    yield client
    client.client.close()


def _links_path(api: Api) -> str:
    return f"/v3/accounts/{api.account_id}/upload-links"


def _new_link(api: Api, **body: Any) -> dict[str, Any]:
    response = api.client.post(_links_path(api), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _token(link: dict[str, Any]) -> str:
    return str(link["url"]).rsplit("/u/", 1)[1]


def _link_create(server: ServerProcess, token: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}/u/{token}/files", json=body, timeout=30)


def _link_file(server: ServerProcess, token: str, file_id: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/u/{token}/files/{file_id}", timeout=30)


def _upload(api: Api, ticket: dict[str, Any], content: bytes, name: str) -> httpx.Response:
    # Posted as the page does; on an S3 store the link's status read settles the file.
    return api.post_form(ticket, content, file_name=name, settle=False)


def test_a_link_is_created_with_its_url_once_and_read_without_it(
    owner: Api, links_server: ServerProcess
) -> None:
    response = owner.client.post(
        _links_path(owner),
        json={
            "label": "Nursing licence for Jane Doe",
            "contentTypes": ["application/pdf", "IMAGE/PNG", "application/pdf"],
            "maxFiles": 3,
            "expiration": "2d",
            "fileExpiration": "30d",
            "description": "Licence renewal",
            "businessProcess": "onboarding",
            "businessProcessAction": "licence",
        },
        headers={"Idempotency-Key": "link-create-1"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    link = response.json()
    assert set(link) == LINK_KEYS | {"url"}, link
    assert link["contentTypes"] == ["application/pdf", "image/png"]
    assert (link["maxFiles"], link["filesUploaded"], link["status"]) == (3, 0, "active")
    assert link["url"].startswith(f"{links_server.base_url}/u/")
    token = _token(link)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token  # 256 random bits
    created = datetime.fromisoformat(link["createdAt"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(link["expiresAt"].replace("Z", "+00:00"))
    assert abs((expires - created) - timedelta(days=2)) < timedelta(seconds=2)

    replay = owner.client.post(
        _links_path(owner),
        json={
            "label": "Nursing licence for Jane Doe",
            "contentTypes": ["application/pdf", "IMAGE/PNG", "application/pdf"],
            "maxFiles": 3,
            "expiration": "2d",
            "fileExpiration": "30d",
            "description": "Licence renewal",
            "businessProcess": "onboarding",
            "businessProcessAction": "licence",
        },
        headers={"Idempotency-Key": "link-create-1"},
    )
    assert replay.status_code == 201 and replay.json() == link

    one = owner.client.get(f"{_links_path(owner)}/{link['id']}")
    assert one.status_code == 200
    assert one.json() == {k: v for k, v in link.items() if k != "url"}

    # Only the token's hash is kept, in the links table.
    async def stored(session: AsyncSession) -> list[Any]:
        rows = await session.execute(text("SELECT * FROM upload_links WHERE id = :id"), link)
        return [tuple(row) for row in rows]

    (row,) = in_database(links_server, stored)
    assert hashlib.sha256(token.encode()).hexdigest() in row
    assert not any(isinstance(value, str) and token in value for value in row)


def test_links_list_newest_first_with_a_cursor(owner: Api) -> None:
    made = [_new_link(owner, label=f"list {i}")["id"] for i in range(3)]
    first = owner.client.get(_links_path(owner), params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"items", "nextCursor"}
    assert [item["id"] for item in page["items"]] == made[::-1][:2]
    assert all(set(item) == LINK_KEYS for item in page["items"])
    rest = owner.client.get(_links_path(owner), params={"limit": 2, "cursor": page["nextCursor"]})
    assert rest.json()["items"][0]["id"] == made[0]
    for params in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "nope"}):
        assert_api_error(
            owner.client.get(_links_path(owner), params=params), 400, "INVALID_REQUEST"
        )


def test_an_empty_body_makes_a_link_with_the_defaults(owner: Api) -> None:
    response = owner.client.post(_links_path(owner))
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["label"] is None and link["maxFiles"] == 1
    assert link["contentTypes"] == [
        "application/pdf",
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/bmp",
        "image/tiff",
    ]
    created = datetime.fromisoformat(link["createdAt"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(link["expiresAt"].replace("Z", "+00:00"))
    assert abs((expires - created) - timedelta(days=7)) < timedelta(seconds=2)
    blank = _new_link(owner, label="   ")
    for made in (link, blank):
        page = httpx.get(made["url"], timeout=30)
        assert '<h1 class="au-label">Upload documents</h1>' in page.text
        assert 'Up to <span class="au-remaining">1</span> more file<' in page.text


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"label": "x" * 201}, 400, "INVALID_REQUEST", "label"),
        ({"label": 5}, 400, "INVALID_REQUEST", "label"),
        ({"contentTypes": ["application/zip"]}, 400, "INVALID_CONTENT_TYPE", "contentTypes"),
        ({"contentTypes": ["application/pdf; x=y"]}, 400, "INVALID_CONTENT_TYPE", "contentTypes"),
        ({"contentTypes": "application/pdf"}, 400, "INVALID_REQUEST", "contentTypes"),
        ({"contentTypes": []}, 400, "INVALID_REQUEST", "contentTypes"),
        ({"maxFiles": 0}, 400, "INVALID_REQUEST", "maxFiles"),
        ({"maxFiles": 101}, 400, "INVALID_REQUEST", "maxFiles"),
        ({"maxFiles": 2.0}, 400, "INVALID_REQUEST", "maxFiles"),
        ({"maxFiles": "2"}, 400, "INVALID_REQUEST", "maxFiles"),
        ({"expiration": "31d"}, 400, "INVALID_EXPIRATION", "expiration"),
        ({"expiration": "0d"}, 400, "INVALID_EXPIRATION", "expiration"),
        ({"expiration": ""}, 400, "INVALID_EXPIRATION", "expiration"),
        ({"fileExpiration": "5x"}, 400, "INVALID_EXPIRATION", "fileExpiration"),
        ({"description": "d" * 1001}, 400, "INVALID_REQUEST", "description"),
        ({"businessProcess": "a\x00b"}, 400, "INVALID_REQUEST", "businessProcess"),
        ({"maxFile": 2}, 400, "INVALID_REQUEST", "maxFile"),
    ],
)
def test_a_bad_link_request_is_refused_with_its_code(
    owner: Api, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    before = len(owner.client.get(_links_path(owner), params={"limit": 200}).json()["items"])
    assert_api_error(owner.client.post(_links_path(owner), json=body), status, code, field)
    after = len(owner.client.get(_links_path(owner), params={"limit": 200}).json()["items"])
    assert after == before


def test_scopes_accounts_and_ids(owner: Api, stranger: Api, links_server: ServerProcess) -> None:
    link = _new_link(owner)
    plain = make_api(links_server, links_server.new_account("plain"))  # default scopes
    try:
        assert_api_error(plain.client.post(_links_path(plain), json={}), 403, "FORBIDDEN")
        assert_api_error(plain.client.get(_links_path(plain)), 403, "FORBIDDEN")
    finally:
        plain.client.close()
    reader = make_api(links_server, links_server.new_account("reader", scopes="links:read"))
    try:
        assert reader.client.get(_links_path(reader)).status_code == 200
        assert_api_error(reader.client.post(_links_path(reader), json={}), 403, "FORBIDDEN")
        assert_api_error(
            reader.client.delete(f"{_links_path(reader)}/{link['id']}"), 403, "FORBIDDEN"
        )
    finally:
        reader.client.close()
    # Another account's link does not exist for this one; another account's path is 403.
    theirs = f"{_links_path(stranger)}/{link['id']}"
    assert_api_error(stranger.client.get(theirs), 404, "NOT_FOUND")
    assert_api_error(stranger.client.delete(theirs), 404, "NOT_FOUND")
    assert_api_error(stranger.client.get(f"{_links_path(owner)}/{link['id']}"), 403, "FORBIDDEN")
    assert_api_error(owner.client.get(f"{_links_path(owner)}/not-an-id"), 404, "NOT_FOUND")
    assert owner.client.get(f"{_links_path(owner)}/{link['id']}").json()["status"] == "active"
    assert link["id"] not in [
        i["id"] for i in stranger.client.get(_links_path(stranger)).json()["items"]
    ]


def test_files_go_through_a_link_until_it_is_used_up(
    owner: Api, links_server: ServerProcess
) -> None:
    link = _new_link(
        owner,
        label="Two documents",
        contentTypes=["application/pdf"],
        maxFiles=2,
        fileExpiration="3d",
        businessProcess="intake",
    )
    token = _token(link)
    # A type outside the link's list, a bad name, a bad body: refused before taking a slot.
    assert_api_error(
        _link_create(links_server, token, fileName="a.png", contentType="image/png"),
        400,
        "INVALID_CONTENT_TYPE",
        "contentType",
    )
    assert_api_error(
        _link_create(links_server, token, fileName="a.png", contentType="application/pdf"),
        400,
        "INVALID_CONTENT_TYPE",
        "contentType",
    )
    assert_api_error(
        _link_create(links_server, token, fileName="../x.pdf", contentType="application/pdf"),
        400,
        "INVALID_FILENAME",
        "fileName",
    )
    assert_api_error(
        _link_create(links_server, token, contentType="application/pdf"),
        400,
        "MISSING_FIELDS",
        "fileName",
    )
    assert_api_error(
        _link_create(
            links_server, token, fileName="a.pdf", contentType="application/pdf", expiration="1d"
        ),
        400,
        "INVALID_REQUEST",
        "expiration",
    )
    assert owner.client.get(f"{_links_path(owner)}/{link['id']}").json()["filesUploaded"] == 0

    # The first file: a real PDF, available, in the account with its link's id.
    created = _link_create(
        links_server, token, fileName="licence.pdf", contentType="application/pdf"
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    ticket = created.json()
    assert set(ticket) == {"id", "uploadUrl", "fields", "uploadExpiresAt", "maxSize", "file"}
    assert ticket["file"]["uploadLinkId"] == link["id"]
    assert ticket["file"]["businessProcess"] == "intake"
    content = pdf_bytes(4000)
    assert _upload(owner, ticket, content, "licence.pdf").is_success
    seen = _link_file(links_server, token, ticket["id"])
    assert seen.status_code == 200, seen.text
    assert seen.json() == {
        "id": ticket["id"],
        "fileName": "licence.pdf",
        "contentType": "application/pdf",
        "size": len(content),
        "status": "available",
        "rejectionReason": None,
    }
    file = owner.get_file(ticket["id"]).json()
    assert file["status"] == "available" and file["uploadLinkId"] == link["id"]
    created_at = datetime.fromisoformat(file["createdAt"].replace("Z", "+00:00"))
    file_expires = datetime.fromisoformat(file["expiresAt"].replace("Z", "+00:00"))
    assert abs((file_expires - created_at) - timedelta(days=3)) < timedelta(seconds=2)
    state = owner.client.get(f"{_links_path(owner)}/{link['id']}").json()
    assert (state["filesUploaded"], state["status"]) == (1, "active")

    # The second: a PNG named .pdf. It takes the last slot, and is rejected in its file.
    second = _link_create(links_server, token, fileName="fake.pdf", contentType="application/pdf")
    assert second.status_code == 201, second.text
    fake = second.json()
    posted = _upload(owner, fake, png_bytes(), "fake.pdf")
    assert posted.status_code == mismatch_post_status(links_server), posted.text
    outcome = _link_file(links_server, token, fake["id"]).json()
    assert (outcome["status"], outcome["rejectionReason"]) == ("rejected", "CONTENT_MISMATCH")

    # Used up: no third file, the statuses still answer, the page says so.
    state = owner.client.get(f"{_links_path(owner)}/{link['id']}").json()
    assert (state["filesUploaded"], state["status"]) == (2, "used")
    assert_api_error(
        _link_create(links_server, token, fileName="three.pdf", contentType="application/pdf"),
        409,
        "LINK_USED",
    )
    assert _link_file(links_server, token, ticket["id"]).json()["status"] == "available"
    page = httpx.get(f"{links_server.base_url}/u/{token}", timeout=30)
    assert page.status_code == 409 and "already been used" in page.text

    listed = owner.client.get(owner.files_path, params={"uploadLinkId": link["id"]}).json()
    assert {item["id"] for item in listed["items"]} == {ticket["id"], fake["id"]}
    assert_api_error(
        owner.client.get(owner.files_path, params={"uploadLinkId": "x"}), 400, "INVALID_REQUEST"
    )
    # A file the account made itself carries no link.
    own = owner.created()
    assert own["file"]["uploadLinkId"] is None
    # The token is a credential: the log names the route, never the token.
    assert links_server.log_path is not None
    log = links_server.log_path.read_text()
    assert "/u/{token}/files" in log and token not in log


def test_a_link_sees_only_its_own_files(
    owner: Api, stranger: Api, links_server: ServerProcess
) -> None:
    first, second = _token(_new_link(owner, maxFiles=2)), _token(_new_link(owner))
    ticket = _link_create(
        links_server, first, fileName="a.pdf", contentType="application/pdf"
    ).json()
    account_file = owner.created()
    theirs = stranger.created()
    for token, file_id in (
        (second, ticket["id"]),
        (first, account_file["id"]),
        (first, theirs["id"]),
        (first, "not-a-uuid"),
    ):
        assert_api_error(_link_file(links_server, token, file_id), 404, "NOT_FOUND")
    assert _link_file(links_server, first, ticket["id"]).json()["status"] == "pending"


def test_unknown_revoked_and_expired_links(owner: Api, links_server: ServerProcess) -> None:
    base = links_server.base_url
    for token in (secrets.token_urlsafe(32), "short", "x" * 43 + "!"):
        assert_api_error(
            _link_create(links_server, token, fileName="a.pdf", contentType="application/pdf"),
            404,
            "NOT_FOUND",
        )
        page = httpx.get(f"{base}/u/{token}", timeout=30)
        assert page.status_code == 404 and "does not exist" in page.text
        assert page.headers["content-type"].startswith("text/html")

    revoked = _new_link(owner, maxFiles=3)
    token = _token(revoked)
    ticket = _link_create(
        links_server, token, fileName="a.pdf", contentType="application/pdf"
    ).json()
    path = f"{_links_path(owner)}/{revoked['id']}"
    assert owner.client.delete(path).status_code == 204
    assert owner.client.delete(path).status_code == 204  # already revoked: still done
    assert owner.client.get(path).json()["status"] == "revoked"
    assert_api_error(
        _link_create(links_server, token, fileName="b.pdf", contentType="application/pdf"),
        410,
        "LINK_EXPIRED",
    )
    assert_api_error(_link_file(links_server, token, ticket["id"]), 410, "LINK_EXPIRED")
    page = httpx.get(f"{base}/u/{token}", timeout=30)
    assert page.status_code == 410 and "withdrawn" in page.text
    # The file made before the revocation stays the account's.
    assert owner.get_file(ticket["id"]).status_code == 200

    expired = _new_link(owner)

    async def in_the_past(session: AsyncSession) -> None:
        await session.execute(
            text("UPDATE upload_links SET expires_at = :t WHERE id = :id"),
            {"t": datetime.now(UTC) - timedelta(minutes=1), "id": expired["id"]},
        )

    in_database(links_server, in_the_past)
    token = _token(expired)
    assert owner.client.get(f"{_links_path(owner)}/{expired['id']}").json()["status"] == "expired"
    assert_api_error(
        _link_create(links_server, token, fileName="b.pdf", contentType="application/pdf"),
        410,
        "LINK_EXPIRED",
    )
    page = httpx.get(f"{base}/u/{token}", timeout=30)
    assert page.status_code == 410 and "expired" in page.text


def test_concurrent_creates_never_exceed_max_files(owner: Api, links_server: ServerProcess) -> None:
    link = _new_link(owner, maxFiles=2)
    token = _token(link)
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def attempt() -> None:
        barrier.wait(timeout=30)
        response = _link_create(
            links_server, token, fileName="a.pdf", contentType="application/pdf"
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201, 201, 409, 409, 409, 409], statuses
    listed = owner.client.get(owner.files_path, params={"uploadLinkId": link["id"]}).json()
    assert len(listed["items"]) == 2
    assert owner.client.get(f"{_links_path(owner)}/{link['id']}").json()["filesUploaded"] == 2


def test_each_link_is_rate_limited_on_its_own(owner: Api, links_server: ServerProcess) -> None:
    busy, calm = _token(_new_link(owner)), _token(_new_link(owner))
    limited = None
    # Two fixed windows of RATE requests at most can pass, whenever the test starts.
    for _ in range(2 * RATE + 5):
        response = httpx.get(
            f"{links_server.base_url}/u/{busy}/files/{owner.account_id}", timeout=30
        )
        if response.status_code == 429:
            limited = response
            break
        assert response.status_code == 404, response.text
    assert limited is not None
    assert_api_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["retry-after"]) >= 1
    page = httpx.get(f"{links_server.base_url}/u/{busy}", timeout=30)
    assert page.status_code == 429 and page.headers["retry-after"]
    assert httpx.get(f"{links_server.base_url}/u/{calm}", timeout=30).status_code == 200


def test_the_page_escapes_the_label_and_sends_the_security_headers(
    owner: Api, links_server: ServerProcess
) -> None:
    link = _new_link(
        owner, label='<script>alert(1)</script> & "quotes"', contentTypes=["image/png"]
    )
    page = httpx.get(link["url"], timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    if is_s3(links_server):
        store = links_server.env_overrides["ASSURED_S3_ENDPOINT_URL"]
        assert f"connect-src 'self' {store}" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "PNG" in page.text and "1.0 MB" in page.text
    # The page, its script and its style: light, and nothing from another host.
    script = httpx.get(f"{links_server.base_url}/static/assured-upload.js", timeout=30)
    style = httpx.get(f"{links_server.base_url}/static/assured-upload.css", timeout=30)
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    weight = len(page.content) + len(script.content) + len(style.content)
    assert weight <= 60_000, weight
    for body in (page.text, script.text, style.text):
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", body, re.I), body[:200]


def test_cors_on_the_link_api(owner: Api, links_server: ServerProcess) -> None:
    token = _token(_new_link(owner))
    url = f"{links_server.base_url}/u/{token}/files"
    preflight = httpx.options(
        url,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    assert preflight.status_code == 204, preflight.text
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    for origin, method, asked in (
        ("http://evil.example.test", "POST", "content-type"),
        (APP_ORIGIN, "DELETE", "content-type"),
        (APP_ORIGIN, "POST", "x-secret"),
    ):
        refused = httpx.options(
            url,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": asked,
            },
            timeout=30,
        )
        assert refused.status_code == 403
        assert not any(h.startswith("access-control-allow") for h in refused.headers)
    created = httpx.post(
        url,
        json={"fileName": "a.pdf", "contentType": "application/pdf"},
        headers={"Origin": APP_ORIGIN},
        timeout=30,
    )
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == APP_ORIGIN
    refused = httpx.post(url, json={}, headers={"Origin": APP_ORIGIN}, timeout=30)
    assert refused.status_code == 409
    assert refused.headers["access-control-allow-origin"] == APP_ORIGIN
