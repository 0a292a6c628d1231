"""The HTML of ``/u/{token}``: the upload page, and the pages of links that no longer work.

Everything the person sees is built here with :func:`html.escape`; the uploader's script and
style are files of this package (``assets/``), served by the server itself at ``/static``, so
the page loads nothing from anywhere else and its CSP can be ``default-src 'self'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.resources import files
from urllib.parse import urlsplit

SCRIPT_URL = "/static/assured-upload.js"
STYLE_URL = "/static/assured-upload.css"

_TYPE_WORDS = {
    "application/pdf": "PDF",
    "text/plain": "text (.txt)",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WebP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}


@cache
def asset(name: str) -> bytes:
    """One of the uploader's files (``assured-upload.js``, ``assured-upload.css``)."""
    return (files("assured_server.links") / "assets" / name).read_bytes()


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(upload_origin: str) -> dict[str, str]:
    """The headers every ``/u/{token}`` page is sent with.

    The page may reach only its own server and, for the form POST, the storage origin.
    """
    policy = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {upload_origin}",
            "form-action 'none'",
            "base-uri 'none'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def human_size(size: int) -> str:
    """``104857600`` → ``100 MB`` (binary units, written as people say them)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return (
                f"{value:.0f} {unit}" if unit == "bytes" or value >= 10 else f"{value:.1f} {unit}"
            )
        value /= 1024
    return f"{size} bytes"  # pragma: no cover - the loop always returns


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{STYLE_URL}"></head>'
        f'<body><main class="au-page">{body}</main></body></html>\n'
    )


@dataclass(frozen=True, slots=True)
class PageLink:
    """What the upload page shows of a link."""

    path: str  # ``/u/{token}``: the page's own API is under it
    label: str | None
    content_types: list[str]
    max_size: int
    remaining: int


def upload_page(link: PageLink) -> str:
    """The page a person uploads with."""
    # A label of only white space would leave the page without a heading.
    title = link.label if link.label and link.label.strip() else "Upload documents"
    kinds = ", ".join(_TYPE_WORDS.get(t, t) for t in link.content_types)
    files_word = "file" if link.remaining == 1 else "files"
    body = (
        f'<h1 class="au-label">{escape(title)}</h1>'
        '<p class="au-intro">Send your documents here. They go only to the organisation '
        "that gave you this link.</p>"
        '<ul class="au-facts">'
        f'<li>Accepted: <span class="au-types">{escape(kinds)}</span></li>'
        f'<li>Largest file: <span class="au-max">{escape(human_size(link.max_size))}</span></li>'
        f'<li>Up to <span class="au-remaining">{link.remaining}</span> more {files_word}</li>'
        "</ul>"
        f'<div class="au-mount" data-assured-link="{escape(link.path)}"'
        f' data-types="{escape(" ".join(link.content_types))}"'
        f' data-max-size="{link.max_size}" data-remaining="{link.remaining}"></div>'
        f'<script src="{SCRIPT_URL}"></script>'
    )
    return _document(title, body)


# What each state of a link says, in words: (status, title, explanation).
STATE_PAGES = {
    "unknown": (
        404,
        "This link does not exist",
        "Check that you copied the whole address. If it still does not work, ask whoever "
        "sent you the link for a new one.",
    ),
    "expired": (
        410,
        "This link has expired",
        "It can no longer be used to send documents. Ask whoever sent you the link for a new one.",
    ),
    "revoked": (
        410,
        "This link has been withdrawn",
        "Whoever sent it has cancelled it, so it can no longer be used to send documents. "
        "Ask them for a new one if you still need to send something.",
    ),
    "used": (
        409,
        "This link has already been used",
        "It has received all the files it accepts, so nothing more can be sent with it. "
        "Ask whoever sent you the link for a new one if you need to send more.",
    ),
    "busy": (
        429,
        "Too many requests",
        "This link was opened too often in a short time. Wait a minute, then reload the page.",
    ),
}


def state_page(state: str) -> tuple[int, str]:
    """The status and page for a link in ``state`` (a key of :data:`STATE_PAGES`)."""
    status, title, text = STATE_PAGES[state]
    body = f'<h1 class="au-state">{escape(title)}</h1><p class="au-explain">{escape(text)}</p>'
    return status, _document(title, body)
