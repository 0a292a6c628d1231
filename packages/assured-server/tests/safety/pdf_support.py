"""PDFs built by hand for the tests: objects, optional compressed object streams, a trailer."""

from __future__ import annotations

import zlib


def pdf(*objects: bytes, trailer: bytes = b"", compressed: tuple[bytes, ...] = ()) -> bytes:
    """A PDF with ``objects`` as numbered objects, and ``compressed`` inside one object stream."""
    body = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
    number = 0
    for number, obj in enumerate(objects, start=1):
        body.append(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    if compressed:
        header = b" ".join(b"%d %d" % (100 + i, 0) for i in range(len(compressed)))
        data = zlib.compress(header + b"\n" + b"\n".join(compressed))
        number += 1
        body.append(
            b"%d 0 obj\n<</Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d>>\n"
            % (number, len(compressed), len(header) + 1, len(data))
            + b"stream\n"
            + data
            + b"\nendstream\nendobj\n"
        )
    body.append(
        b"trailer\n<</Size %d /Root 1 0 R %s>>\nstartxref\n0\n%%%%EOF\n" % (number + 1, trailer)
    )
    return b"".join(body)


def stream_object(dictionary: bytes, data: bytes) -> bytes:
    """A stream object's text: dictionary, ``stream``, data, ``endstream``."""
    return b"<<" + dictionary + b" /Length %d>>\nstream\r\n" % len(data) + data + b"\r\nendstream"


CATALOG = b"<</Type /Catalog /Pages 2 0 R>>"
PAGES = b"<</Type /Pages /Kids [3 0 R] /Count 1>>"
PAGE = b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources <</Font <</F1 4 0 R>>>>>>"
PLAIN = (CATALOG, PAGES, PAGE)
