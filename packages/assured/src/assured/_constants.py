"""Defaults of the SDK: one place, so the client, the CLI and the docs agree."""

from __future__ import annotations

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
"""The server the SDK talks to when neither an argument nor ``ASSURED_BASE_URL`` names one."""

ENV_BASE_URL = "ASSURED_BASE_URL"
ENV_API_KEY = "ASSURED_API_KEY"
ENV_TOKEN = "ASSURED_TOKEN"  # noqa: S105 - the variable's name, not a secret
API_KEY_PREFIX = "asd_"
"""How every API key of the server starts (``asd_<key id>_<secret>``); no JWT starts so."""

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RETRIES = 2

# Backoff: 0.5 s doubling up to 8 s, each delay shortened by up to a quarter at random so that
# clients that failed together do not retry together.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
JITTER_FRACTION = 0.25
# A Retry-After longer than this is clamped: a caller waiting minutes on a hidden sleep is worse
# than an error it can handle.
MAX_RETRY_AFTER = 60.0

# Refresh the access token this long before it expires (at most half its lifetime), so that a
# request never leaves with a token that dies in flight.
TOKEN_REFRESH_MARGIN = 60.0

# Upload bodies are read and sent in chunks of this size: memory stays flat for any file size.
CHUNK_SIZE = 256 * 1024

# Files larger than this go up with the resumable (tus) protocol, in PATCHes of
# RESUMABLE_CHUNK_SIZE, so that a broken connection costs one chunk, not the whole file.
DEFAULT_RESUMABLE_THRESHOLD = 32 * 1024 * 1024
RESUMABLE_CHUNK_SIZE = 8 * 1024 * 1024
# Failed chunks in a row (each followed by backoff and a HEAD for the offset) before giving up:
# about 30 s of backoff, as long as a server waits for the body of a request whose client
# vanished without closing (then its hold on the upload is given back).
RESUMABLE_ATTEMPTS = 8

# Waiting for a v3 file to leave ``pending``.
DEFAULT_PROCESSING_TIMEOUT = 120.0
POLL_INITIAL_DELAY = 0.25
POLL_MAX_DELAY = 4.0

V1_EXTENSIONS = frozenset({".pdf", ".png", ".jpg", ".jpeg"})

# The content-type table of the contract, by extension (the v3 API accepts all of them).
CONTENT_TYPES_BY_EXTENSION = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".tiff": "image/tiff",
    ".tif": "image/tiff",
}
