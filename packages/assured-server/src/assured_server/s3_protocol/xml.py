"""The S3 XML documents the embedded storage answers with on success."""

from __future__ import annotations

from xml.sax.saxutils import escape


def post_response_xml(*, location: str, bucket: str, key: str, etag: str) -> bytes:
    """``<PostResponse>`` of a POST Object with ``success_action_status=201``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
        f"<Location>{escape(location)}</Location><Bucket>{escape(bucket)}</Bucket>"
        f"<Key>{escape(key)}</Key><ETag>{escape(etag)}</ETag></PostResponse>"
    ).encode()
