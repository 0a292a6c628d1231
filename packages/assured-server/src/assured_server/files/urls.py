"""``s3://`` URIs that clients send back to name a file (``file_url``, ``document_url``)."""

from __future__ import annotations

from assured_server.clock import is_uuid
from assured_server.files.records import storage_key

SCHEME = "s3://"


class ForeignUrl(ValueError):
    """The value is not an ``s3://`` URI of this server's bucket."""


def file_id_of(url: str, bucket: str) -> str | None:
    """The file id that ``s3://<bucket>/files/<id>`` names, or ``None`` for any other key.

    Raises :class:`ForeignUrl` when ``url`` is not an ``s3://`` URI of ``bucket`` at all. The two
    failures differ for clients: a foreign URI is a malformed request, while a key of our bucket
    that names no file of theirs is a resource that does not exist.
    """
    # Exact and case-sensitive: bucket names are lower case, and the server only ever hands out
    # the canonical form, so anything else was not made by this server.
    if not url.startswith(SCHEME):
        raise ForeignUrl("Not an s3:// URI.")
    url_bucket, _, key = url[len(SCHEME) :].partition("/")
    if url_bucket != bucket:
        raise ForeignUrl(f"Not a URI of the bucket '{bucket}'.")
    prefix = storage_key("")
    file_id = key[len(prefix) :] if key.startswith(prefix) else ""
    return file_id if is_uuid(file_id) else None
