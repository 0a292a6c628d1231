"""The upload link's page in a real browser (Debian's chromium, driven by Playwright).

One server and one browser for the module: a person picks a PDF with the keyboard alone and sees
it become available (and the file is in the account with its link's id); a PNG named ``.pdf``
dropped on the page is rejected in words; used-up and revoked links show their pages; a label
of markup shows as text; a phone-sized viewport never scrolls sideways. Every request the
page makes stays on the server's own origin.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import TEST_MAX_UPLOAD, Api, make_api, pdf_bytes, png_bytes

from assured_testing import ServerProcess

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 60_000  # generous: two cores shared with other suites
LINK_SCOPES = "files:read files:write links:read links:write"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="chromium is not installed (Debian: apt-get install -y chromium)",
)


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The embedded deployment: the page is the same on both, its storage here is the server."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("link-pages"),
        env_overrides={"ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD)},
    ).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def owner(page_server: ServerProcess) -> Iterator[Api]:
    """An account that makes links."""
    client = make_api(page_server, page_server.new_account("pages", scopes=LINK_SCOPES))
    yield client
    client.client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright (never a downloaded browser build), for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], timeout=TIMEOUT_MS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """A fresh browser context that records every request leaving the server's origin."""

    def __init__(self, browser: Any, server: ServerProcess, **options: Any) -> None:
        self.context = browser.new_context(**options)
        self.elsewhere: list[str] = []
        self.dialogs: list[str] = []
        origin = server.base_url + "/"

        def only_the_server(route: Any) -> None:
            if route.request.url.startswith(origin):
                route.continue_()
            else:
                self.elsewhere.append(route.request.url)
                route.abort()

        self.context.route("**/*", only_the_server)

    def open(self, url: str) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(TIMEOUT_MS)

        def dismiss(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", dismiss)
        page.goto(url)
        return page


@pytest.fixture
def visit(browser: Any, page_server: ServerProcess) -> Iterator[Any]:
    """``visit(**context_options)`` → a :class:`Visit`; closed after the test."""
    made: list[Visit] = []

    def start(**options: Any) -> Visit:
        made.append(Visit(browser, page_server, **options))
        return made[-1]

    yield start
    for one in made:
        one.context.close()


def _link(owner: Api, **body: Any) -> dict[str, Any]:
    response = owner.client.post(f"/v3/accounts/{owner.account_id}/upload-links", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _record_states(page: Any) -> None:
    """Keep every text the file lines show, to see the progress pass."""
    page.evaluate(
        """() => {
            window.seenStates = [];
            new MutationObserver(() => {
                for (const s of document.querySelectorAll('.au-state')) {
                    window.seenStates.push(s.textContent);
                }
            }).observe(document.body, {subtree: true, childList: true, characterData: true});
        }"""
    )


def test_a_pdf_picked_with_the_keyboard_becomes_available(
    owner: Api, visit: Any, tmp_path: Path
) -> None:
    link = _link(owner, label="Licence renewal", contentTypes=["application/pdf"], maxFiles=2)
    content = pdf_bytes(600_000)  # large enough that the upload reports progress on the way
    chosen = tmp_path / "licence.pdf"
    chosen.write_bytes(content)
    session = visit()
    page = session.open(link["url"])
    assert page.locator("h1").inner_text() == "Licence renewal"
    assert "PDF" in page.locator(".au-types").inner_text()
    _record_states(page)

    # Keyboard only: Tab reaches the file picker, Space opens it.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('au-input')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('au-input')")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(chosen))

    line = page.locator(".au-file").first
    line.locator(".au-state", has_text="Available").wait_for()
    assert "au-ok" in (line.get_attribute("class") or "")
    assert line.locator(".au-name").inner_text() == "licence.pdf"
    assert line.locator("progress").evaluate("p => p.value") == 100
    assert page.locator(".au-remaining").inner_text() == "1"  # of the link's two files
    seen = page.evaluate("window.seenStates")
    assert any(text.startswith("Uploading") for text in seen), seen
    assert session.elsewhere == []

    listed = owner.client.get(owner.files_path, params={"uploadLinkId": link["id"]}).json()
    (file,) = listed["items"]
    assert file["status"] == "available" and file["size"] == len(content)
    assert file["uploadLinkId"] == link["id"] and file["fileName"] == "licence.pdf"


def test_a_png_named_pdf_dropped_on_the_page_is_rejected_in_words(
    owner: Api, visit: Any, tmp_path: Path
) -> None:
    link = _link(owner, contentTypes=["application/pdf", "image/png"], maxFiles=3)
    page = visit().open(link["url"])
    page.evaluate(
        """([name, bytes]) => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], name, {type: "application/pdf"}));
            const zone = document.querySelector(".au-drop");
            for (const type of ["dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
            }
        }""",
        ["scan.pdf", list(png_bytes(2000))],
    )
    state = page.locator(".au-file.au-bad .au-state")
    state.wait_for()
    words = state.inner_text()
    assert words.startswith("Rejected:") and "not what its name says" in words, words
    # A type the link does not take: refused, with the accepted ones named.
    other = tmp_path / "notes.docx"
    other.write_bytes(b"PK\x03\x04 not a document we take")
    page.locator("input.au-input").set_input_files(str(other))
    second = page.locator(".au-file").nth(1).locator(".au-state", has_text="Rejected")
    second.wait_for()
    assert "not accepted here; accepted: PDF, PNG" in second.inner_text()
    # The account has the rejected file, with its reason, from the link.
    listed = owner.client.get(owner.files_path, params={"uploadLinkId": link["id"]}).json()
    (file,) = listed["items"]
    assert (file["status"], file["rejectionReason"]) == ("rejected", "CONTENT_MISMATCH")


def test_used_up_and_revoked_links_show_their_pages(
    owner: Api, visit: Any, page_server: ServerProcess
) -> None:
    used = _link(owner, maxFiles=1)
    token = used["url"].rsplit("/", 1)[1]
    made = httpx.post(
        f"{page_server.base_url}/u/{token}/files",
        json={"fileName": "a.pdf", "contentType": "application/pdf"},
        timeout=30,
    )
    assert made.status_code == 201
    revoked = _link(owner)
    path = f"/v3/accounts/{owner.account_id}/upload-links/{revoked['id']}"
    assert owner.client.delete(path).status_code == 204
    session = visit()
    for link, status, heading in (
        (used, 409, "This link has already been used"),
        (revoked, 410, "This link has been withdrawn"),
    ):
        page = session.context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        response = page.goto(link["url"])
        assert response.status == status
        assert page.locator("h1").inner_text() == heading
        assert page.locator("input").count() == 0
    assert session.elsewhere == []


def test_markup_in_the_label_is_text_and_a_phone_never_scrolls_sideways(
    owner: Api, visit: Any, tmp_path: Path
) -> None:
    label = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    link = _link(owner, label=label, maxFiles=2)
    session = visit(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = session.open(link["url"])
    assert page.locator("h1").inner_text() == label
    assert page.locator("h1 script, h1 img").count() == 0
    # A file with a very long name, uploaded, must not widen the page either.
    long_name = tmp_path / ("a-very-long-file-name-without-any-spaces-" * 4 + ".pdf")
    long_name.write_bytes(pdf_bytes(3000))
    page.locator("input.au-input").set_input_files(str(long_name))
    page.locator(".au-state", has_text="Available").wait_for()
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == 390, widths
    shot = tmp_path / "phone.png"
    page.screenshot(path=str(shot), full_page=True)
    width = struct.unpack(">I", shot.read_bytes()[16:20])[0]  # the PNG's IHDR width
    assert width == 390, width
    assert session.dialogs == [] and session.elsewhere == []


def test_the_uploader_sends_a_v3_create_response_given_by_a_back_end(
    owner: Api, visit: Any, tmp_path: Path
) -> None:
    # The uploader on a page of the server's origin (the link page is one), fed by a create
    # response the back end made with its token, not by a link.
    page = visit().open(_link(owner)["url"])
    ticket = owner.created("scan.pdf", "application/pdf")
    page.evaluate(
        """(ticket) => {
            const box = document.createElement("div");
            box.id = "v3";
            document.body.appendChild(box);
            window.outcomes = [];
            AssuredUpload.mount(box, {upload: ticket, onResult: (o) => window.outcomes.push(o)});
        }""",
        ticket,
    )
    chosen = tmp_path / "scan.pdf"
    chosen.write_bytes(pdf_bytes(5000))
    page.locator("#v3 input.au-input").set_input_files(str(chosen))
    page.locator("#v3 .au-state", has_text="Sent").wait_for()
    outcome = page.evaluate("window.outcomes[0]")
    assert outcome["status"] == "uploaded" and outcome["file"]["id"] == ticket["id"], outcome
    file = owner.get_file(ticket["id"]).json()
    assert file["status"] == "available" and file["uploadLinkId"] is None
