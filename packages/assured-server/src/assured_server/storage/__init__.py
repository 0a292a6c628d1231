"""Object storage: the backends, and the S3 signing both of them share."""
