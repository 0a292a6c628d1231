"""Pre-signed URLs and POST policies, the same for every backend: only the endpoint differs.

Both the embedded storage (``{public url}/storage``) and an S3 store (its endpoint) are
addressed path-style, ``{endpoint}/{bucket}/{key}``, and signed by our SigV4 module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from assured_server.s3_protocol.sigv4 import Credentials, presign_post, presign_url
from assured_server.s3_protocol.sigv4_policy import PolicyCondition
from assured_server.storage.base import PresignedPost, check_key


class SigV4Presigning:
    """Mixin implementing ``presign_get`` and ``presign_post`` of a storage backend."""

    endpoint: str
    bucket: str
    credentials: Credentials
    covers_success_action_status: bool = True
    """Whether policies allow a ``success_action_status`` field (``starts-with`` "")."""

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
        """A SigV4 POST policy pinning bucket, key, type and a size range of 1..``max_size``.

        It also lets the form carry any ``success_action_status`` (201 answers S3's XML
        ``<PostResponse>``, which a browser page can read): a policy must cover that field like
        any other, where the store allows it (see :class:`S3Storage`).
        """
        conditions: list[PolicyCondition] = [{"Content-Type": content_type}]
        if self.covers_success_action_status:
            conditions.append(["starts-with", "$success_action_status", ""])
        conditions.append(["content-length-range", 1, max_size])
        fields = presign_post(
            self.credentials,
            bucket=self.bucket,
            key=check_key(key),
            fields={"bucket": self.bucket, "Content-Type": content_type},
            conditions=conditions,
            expires_in=expires_in,
            now=now,
        )
        return PresignedPost(
            url=f"{self.endpoint}/{self.bucket}",
            fields=fields,
            expires_at=datetime.fromtimestamp(now.timestamp() + expires_in, UTC),
        )
