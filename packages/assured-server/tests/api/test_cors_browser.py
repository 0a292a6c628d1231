"""Browser uploads in a real browser (Debian's chromium, driven by Playwright).

A page served from another loopback origin creates an upload with ``fetch()`` and posts the
form to ``uploadUrl``, as a web app would; an allowed origin reads every answer, another
origin reads none. On the S3 deployment the form goes to SeaweedFS, whose bucket CORS rules
(set with ``put_bucket_cors``) govern it.
"""

from __future__ import annotations

import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from server_helpers import (
    TEST_MAX_UPLOAD,
    Api,
    is_s3,
    make_api,
    own_server,
    pdf_bytes,
)

from assured_testing import SeaweedFS, ServerProcess

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 60_000  # generous: two cores shared with other suites

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="chromium is not installed (Debian: apt-get install -y chromium)",
)

# The web app's script: the two calls a page makes, each reporting what it could read.
PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>uploader</title></head><body>
<script>
async function createUpload(api, token, account) {
  const response = await fetch(`${api}/v3/accounts/${account}/files`, {
    method: "POST",
    headers: {"Authorization": `Bearer ${token}`, "Content-Type": "application/json"},
    body: JSON.stringify({fileName: "scan.pdf", contentType: "application/pdf"}),
  });
  return {status: response.status, body: await response.json(),
          requestId: response.headers.get("X-Request-ID")};
}
async function postForm(ticket, bytes) {
  const form = new FormData();
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
  form.append("success_action_status", "201");
  const type = ticket.fields["Content-Type"];
  form.append("file", new Blob([new Uint8Array(bytes)], {type}), "scan.pdf");
  const response = await fetch(ticket.uploadUrl, {method: "POST", body: form});
  return {status: response.status, body: await response.text(),
          etag: response.headers.get("ETag")};
}
async function attempt(name, ...args) {
  try {
    return {ok: true, value: await window[name](...args)};
  } catch (error) {
    return {ok: false, error: String(error)};
  }
}
</script></body></html>
"""


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture(scope="module")
def page_origins() -> Iterator[tuple[str, str]]:
    """Two web apps on loopback ports of their own: (allowed origin, another origin)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield tuple(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()
    for thread in threads:
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: dict[str, str],
    page_origins: tuple[str, str],
) -> Iterator[ServerProcess]:
    """A server that lets the first web app in; on S3 its bucket lets that app POST too."""
    allowed, _ = page_origins
    env = {"ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD), "ASSURED_CORS_ORIGINS": allowed}
    with own_server(request, tmp_path_factory.mktemp("browser"), backend, env) as proc:
        if is_s3(proc):
            store: SeaweedFS = request.getfixturevalue("seaweedfs")
            _allow_bucket_uploads(store, proc.env_overrides["ASSURED_BUCKET"], allowed)
        yield proc


def _allow_bucket_uploads(store: SeaweedFS, bucket: str, origin: str) -> None:
    """The bucket CORS rule docs/deploy.md gives for browser uploads."""
    client = store.client()
    try:
        client.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": [origin],
                        "AllowedMethods": ["POST", "GET"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag", "Location"],
                        "MaxAgeSeconds": 600,
                    }
                ]
            },
        )
        rules = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
        assert rules[0]["AllowedOrigins"] == [origin], rules
    finally:
        client.close()


@pytest.fixture(scope="module")
def browser_api(browser_server: ServerProcess) -> Iterator[Api]:
    """An account on the browser test's server."""
    client = make_api(browser_server, browser_server.new_account("browser"))
    yield client
    client.client.close()


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright (never a downloaded browser build).

    One per test: Playwright's sync API keeps an event loop running in this thread while it
    is open, and the fixtures that make PostgreSQL databases run their own loop.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], timeout=TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Any]:
    """A function that opens a fresh page at an origin (a context of its own each time)."""
    contexts: list[Any] = []

    def open_at(origin: str) -> Any:
        context = chromium.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(origin + "/")
        return page

    yield open_at
    for context in contexts:
        context.close()


def _token(api: Api) -> str:
    return str(api.client.headers["Authorization"]).removeprefix("Bearer ")


def _create_in_page(page: Any, api: Api) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        "([api, token, account]) => attempt('createUpload', api, token, account)",
        [api.server.base_url, _token(api), api.account_id],
    )
    return result


def _post_in_page(page: Any, ticket: dict[str, Any], content: bytes) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        "([ticket, bytes]) => attempt('postForm', ticket, bytes)", [ticket, list(content)]
    )
    return result


def test_an_allowed_origin_creates_uploads_and_reads_every_answer(
    browser_api: Api, page_origins: tuple[str, str], open_page: Any
) -> None:
    allowed, _ = page_origins
    page = open_page(allowed)
    created = _create_in_page(page, browser_api)
    assert created["ok"], created
    assert created["value"]["status"] == 201
    assert created["value"]["requestId"]  # an exposed header
    ticket = created["value"]["body"]
    content = pdf_bytes(5000)
    posted = _post_in_page(page, ticket, content)
    assert posted["ok"], (posted, ticket["uploadUrl"])
    answer = posted["value"]
    assert answer["status"] == 201, answer
    root = ET.fromstring(answer["body"])  # noqa: S314 - our server's or the test store's
    found = {child.tag.rpartition("}")[2]: child.text or "" for child in root}
    assert found["Key"] == ticket["fields"]["key"], answer
    assert answer["etag"] and answer["etag"] == found["ETag"], answer
    if is_s3(browser_api.server):
        browser_api.client.post(f"{browser_api.files_path}/{ticket['id']}/complete")
    file = browser_api.get_file(ticket["id"]).json()
    assert file["status"] == "available" and file["size"] == len(content), file


def test_another_origin_reads_nothing(
    browser_api: Api, page_origins: tuple[str, str], open_page: Any
) -> None:
    _, denied = page_origins
    page = open_page(denied)
    created = _create_in_page(page, browser_api)
    assert not created["ok"] and "Failed to fetch" in created["error"], created
    # A form the back end made: the browser sends it (a simple request), but the page may not
    # read the answer, whichever store it went to.
    ticket = browser_api.created()
    posted = _post_in_page(page, ticket, pdf_bytes())
    assert not posted["ok"] and "Failed to fetch" in posted["error"], posted


def test_docs_render_with_every_other_host_unreachable(
    server: ServerProcess, open_page: Any, chromium: Any
) -> None:
    if is_s3(server):
        pytest.skip("the same page on both deployments: checked once")
    context = chromium.new_context()
    try:
        elsewhere: list[str] = []

        def only_loopback(route: Any) -> None:
            if route.request.url.startswith(server.base_url + "/"):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{server.base_url}/docs")
        title = page.locator(".swagger-ui .info .title")
        title.wait_for()
        assert "Assured" in title.inner_text()
        page.locator(".opblock").first.wait_for()  # the operations rendered from the spec
        assert elsewhere == []
    finally:
        context.close()
