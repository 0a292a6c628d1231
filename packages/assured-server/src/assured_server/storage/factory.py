"""Choose the storage backend from settings."""

from __future__ import annotations

from assured_server.config import ConfigError, Settings
from assured_server.s3_protocol.sigv4 import Credentials
from assured_server.storage.base import StorageBackend


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
    # Imported here, not at the top: only an s3 server pays for botocore (about 30 MiB).
    try:
        from assured_server.storage.s3 import S3Storage
    except ImportError as exc:
        raise ConfigError(
            "ASSURED_STORAGE_BACKEND=s3 needs the S3 client: pip install 'assured-server[s3]'"
        ) from exc
    return S3Storage(
        settings.s3_endpoint_url,
        bucket=settings.bucket,
        credentials=storage_credentials(settings),
    )
