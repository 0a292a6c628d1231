"""Choose the storage backend from settings."""

from __future__ import annotations

from assured_server.config import Settings
from assured_server.storage.base import StorageBackend
from assured_server.storage.sigv4 import Credentials


def storage_credentials(settings: Settings) -> Credentials:
    """The access key, secret and region the store signs with."""
    return Credentials(
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        region=settings.s3_region,
    )


def make_storage(settings: Settings) -> StorageBackend:
    """The backend ``ASSURED_STORAGE_BACKEND`` names."""
    if settings.storage_backend == "filesystem":
        from assured_server.storage.filesystem import FilesystemStorage

        return FilesystemStorage(
            settings.data_dir / "objects" / settings.bucket,
            bucket=settings.bucket,
            credentials=storage_credentials(settings),
            public_url=settings.effective_public_url,
        )
    raise NotImplementedError("the s3 storage backend is not available in this build yet")
