"""Rows 9 and 10: the upload-link page as a person uses it, in Debian's Chromium.

Row 9 times one large PDF through the page (choose the file, wait until the page says
"Available") against the same bytes sent by curl through the same link (the link's create
call, then the form to the same ``uploadUrl``, then the status read), interleaved round by
round on one server. Row 10 weighs what the page loads (HTML, script, style) and counts every
request the browser made to another origin while it loaded the page and uploaded.

Chromium is the Debian package at ``/usr/bin/chromium`` driven by Playwright; no browser is
downloaded. Without it the rows are skipped with a note.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import MIB, BenchServer, curl_form, median, write_pdf

CHROMIUM = "/usr/bin/chromium"
SIZE = 100 * MIB
"""The file of row 9 (the issue's figure)."""
LINK_SCOPES = "files:read files:write links:read links:write"
TIMEOUT_MS = 600_000
_ASSET = re.compile(r'(?:src|href)="(/[^"]+\.(?:js|css))"')


@dataclass
class LinkPageResult:
    """Seconds per round of each contender, and what the page weighed and requested."""

    browser: list[float] = field(default_factory=list)
    curl: list[float] = field(default_factory=list)
    page_bytes: dict[str, int] = field(default_factory=dict)
    third_party: list[str] = field(default_factory=list)

    def mb_per_s(self, name: str) -> float:
        """Median MB/s of ``browser`` or ``curl``."""
        return SIZE / median(getattr(self, name)) / 1e6


def chromium_note() -> str | None:
    """Why the rows cannot run here, or ``None``."""
    if not Path(CHROMIUM).exists():
        return f"link-page rows skipped: Debian's chromium is not installed ({CHROMIUM})"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "link-page rows skipped: Playwright for Python is not installed"
    return None


def _new_link(server: BenchServer, files: int) -> tuple[str, str]:
    """``(page URL, token)`` of a new link taking ``files`` PDFs, on an account of its own."""
    creds = server.proc.new_account("link-bench", scopes=LINK_SCOPES)
    token = server.proc.token(creds)
    response = httpx.post(
        f"{server.base_url}/v3/accounts/{creds.account_id}/upload-links",
        json={"label": "Benchmark", "maxFiles": files, "contentTypes": ["application/pdf"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    url: str = response.json()["url"]
    return url, url.rstrip("/").rsplit("/", 1)[1]


def _weigh(server: BenchServer, page_url: str) -> dict[str, int]:
    """Bytes of the page's HTML and of each script and style it references (uncompressed)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        html = client.get(page_url, headers={"Accept-Encoding": "identity"})
        html.raise_for_status()
        sizes = {"html": len(html.content)}
        for path in sorted(set(_ASSET.findall(html.text))):
            asset = client.get(path, headers={"Accept-Encoding": "identity"})
            asset.raise_for_status()
            sizes[path] = len(asset.content)
    return sizes


def _curl_once(server: BenchServer, token: str, source: Path, work: Path) -> float:
    """Create through the link, POST the form with curl, read the outcome: wall seconds."""
    started = time.perf_counter()
    with httpx.Client(base_url=server.base_url, timeout=600) as client:
        ticket = client.post(
            f"/u/{token}/files", json={"fileName": "big.pdf", "contentType": "application/pdf"}
        )
        ticket.raise_for_status()
        body = ticket.json()
        result = curl_form(
            body["uploadUrl"], work, fields=list(body["fields"].items()), file=source
        )
        if result.status not in (201, 204):
            raise RuntimeError(f"link upload by curl failed: {result.status}")
        state = client.get(f"/u/{token}/files/{body['id']}").json()["status"]
    if state != "available":
        raise RuntimeError(f"link upload by curl ended {state}")
    return time.perf_counter() - started


def _browser_once(page: Any, page_url: str, source: Path) -> float:
    """Open the page, choose ``source``, wait for "Available": wall seconds from the choice."""
    page.goto(page_url)
    started = time.perf_counter()
    page.locator("input.au-input").set_input_files(str(source))
    line = page.locator(".au-file").first
    line.locator(".au-state", has_text="Available").wait_for(timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def run(server: BenchServer, work: Path, *, rounds: int) -> LinkPageResult:
    """A warm-up of each, then ``rounds`` interleaved rounds (the order alternates)."""
    from playwright.sync_api import sync_playwright

    if shutil.which("curl") is None:
        raise RuntimeError("curl is needed for the link-page row")
    page_url, token = _new_link(server, 2 * rounds + 2)
    result = LinkPageResult(page_bytes=_weigh(server, page_url))
    origin = server.base_url + "/"
    source = write_pdf(work / "link-big.pdf", SIZE)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                context = browser.new_context()
                page = context.new_page()
                page.on(
                    "request",
                    lambda request: (
                        None
                        if request.url.startswith(origin)
                        else result.third_party.append(request.url)
                    ),
                )
                _browser_once(page, page_url, source)
                _curl_once(server, token, source, work)
                for round_no in range(rounds):
                    order = ("browser", "curl") if round_no % 2 == 0 else ("curl", "browser")
                    for name in order:
                        if name == "browser":
                            result.browser.append(_browser_once(page, page_url, source))
                        else:
                            result.curl.append(_curl_once(server, token, source, work))
                context.close()
            finally:
                browser.close()
    finally:
        source.unlink(missing_ok=True)
    return result
