"""Object storage: the backends (filesystem, S3); they sign with ``s3_protocol.sigv4``."""
