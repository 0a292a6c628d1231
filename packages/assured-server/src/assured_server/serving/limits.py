"""Size limits of a request's head: the one definition the streaming guard and the middleware share.

The middleware applies the contract's exact rules to the parsed request (a header's name plus
value, the sum over all headers, the request target). The streaming guard (``head_guard``)
counts raw bytes while they arrive, so it allows the separators on top: ``LINE_SLACK`` per
line (the method, ``HTTP/1.1``, ``": "``, CRLF, spaces) and ``HEADERS_SLACK`` for the whole
head (4 bytes of separators for each of about a thousand header lines). Whatever the guard
lets through is then judged exactly by the middleware.
"""

from __future__ import annotations

MAX_URL_BYTES = 8 << 10
"""The request target (path and query string)."""
MAX_HEADER_BYTES = 8 << 10
"""One header: its name plus its value."""
MAX_HEADERS_TOTAL = 32 << 10
"""All headers: the sum of their names and values."""

LINE_SLACK = 64
HEADERS_SLACK = 4 << 10

REQUEST_LINE_BUDGET = MAX_URL_BYTES + LINE_SLACK
"""Raw bytes of the request line, CRLF included (and any empty lines before it)."""
HEADER_LINE_BUDGET = MAX_HEADER_BYTES + LINE_SLACK
"""Raw bytes of one header line, CRLF included."""
HEADERS_BUDGET = MAX_HEADERS_TOTAL + HEADERS_SLACK
"""Raw bytes of every header line and the empty line that ends the head."""
