"""Which stored keys the embedded storage serves, and when it takes a form upload's bytes.

The S3 endpoints (``s3_protocol.routes``) check the protocol: signatures, policies, forms,
ranges. Whether a verified form may upload *now* is a rule of files: the key must be a
landing key the Files API issued, its file still pending within its upload window, the
declared type the one the file was created with, and no other upload of it in flight.
"""

from __future__ import annotations

from datetime import datetime

from assured_server.clock import is_uuid
from assured_server.db.models import StoredFile
from assured_server.files.content_types import InvalidContentType, parse_content_type
from assured_server.files.records import AVAILABLE, PENDING, effective_status
from assured_server.files.upload_lease import UploadLease
from assured_server.stores.files import Files


class UploadRefused(Exception):
    """The form may not upload: ``str(exc)`` says why, in S3's words where it has them."""


async def open_upload(
    files: Files, key: str, declared_type: str | None, now: datetime
) -> tuple[StoredFile, UploadLease]:
    """The pending file behind landing ``key`` and the lease of its one upload, or refused."""
    prefix, _, file_id = key.partition("/")
    if prefix != "uploads" or not is_uuid(file_id):
        raise UploadRefused("Uploads are accepted only for keys issued by the Files API.")
    row = await files.by_id(file_id)
    if row is None or effective_status(row, now) != PENDING:
        raise UploadRefused("This upload is no longer open.")
    if row.upload_expires_at is not None and row.upload_expires_at <= now:
        raise UploadRefused("Invalid according to Policy: Policy expired.")
    if declared_type is not None:
        try:
            declared = parse_content_type(declared_type).name
        except InvalidContentType:
            declared = None
        if declared != row.content_type:
            raise UploadRefused("The Content-Type does not match the declared file type.")
    # One upload per file at a time, across workers and replicas: the lease is claimed before
    # a byte of the file is read, and a second POST of the same form is refused.
    lease = await UploadLease.claim(files, file_id, now)
    if lease is None:
        raise UploadRefused("Another upload of this file is in progress, or it has ended.")
    return row, lease


async def servable(files: Files, key: str, now: datetime) -> tuple[StoredFile, int] | None:
    """The available file stored at ``key`` (``files/<id>``) and its size, or ``None``: nothing
    else is served."""
    prefix, _, file_id = key.partition("/")
    if prefix != "files" or not is_uuid(file_id):
        return None
    row = await files.by_id(file_id)
    if row is None or effective_status(row, now) != AVAILABLE or row.size is None:
        return None
    return row, row.size
