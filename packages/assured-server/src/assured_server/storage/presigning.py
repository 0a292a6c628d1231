"""Pre-signed URLs and POST policies, the same for every backend: only the endpoint differs.

Both the embedded storage (``{public url}/storage``) and an S3 store (its endpoint) are
addressed path-style, ``{endpoint}/{bucket}/{key}``, and signed by our SigV4 module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from assured_server.s3_protocol.sigv4 import Credentials, presign_post, presign_url
from assured_server.storage.base import PresignedPost, check_key


class SigV4Presigning:
    """Mixin implementing ``presign_get`` and ``presign_post`` of a storage backend."""

    endpoint: str
    bucket: str
    credentials: Credentials

    def presign_get(
        self, key: str, *, expires_in: int, response_params: Mapping[str, str], now: datetime
    ) -> str:
        """A SigV4 query-string URL that serves ``key`` until it expires (the same as boto3's)."""
        return presign_url(
            self.credentials,
            method="GET",
            url=f"{self.endpoint}/{self.bucket}/{check_key(key)}",
            params=response_params,
            expires_in=expires_in,
            now=now,
        )

    def presign_post(
        self, key: str, *, content_type: str, max_size: int, expires_in: int, now: datetime
    ) -> PresignedPost:
        """A SigV4 POST policy pinning bucket, key, type and a size range of 1..``max_size``."""
        fields = presign_post(
            self.credentials,
            bucket=self.bucket,
            key=check_key(key),
            fields={"bucket": self.bucket, "Content-Type": content_type},
            conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_size]],
            expires_in=expires_in,
            now=now,
        )
        return PresignedPost(
            url=f"{self.endpoint}/{self.bucket}",
            fields=fields,
            expires_at=datetime.fromtimestamp(now.timestamp() + expires_in, UTC),
        )
