"""What the S3 client raises, mapped onto the storage errors the rest of the server knows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from assured_server.storage.base import ObjectNotFound, PreconditionFailed, StorageUnavailable

log = logging.getLogger("assured_server.storage.s3")

# HEAD answers carry no body, so botocore names their errors by the bare status code.
_NOT_FOUND = frozenset({"NoSuchKey", "NotFound", "404"})
_PRECONDITION = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})


def error_code(exc: ClientError) -> tuple[str, int]:
    """The S3 error code and HTTP status of a refused request."""
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    return str(error.get("Code", "")), int(meta.get("HTTPStatusCode", 0))


@contextmanager
def mapped_errors(operation: str, key: str) -> Iterator[None]:
    """Turn client errors into ObjectNotFound, PreconditionFailed or StorageUnavailable.

    Only the operation, the key and the error's class or code are logged: botocore's messages
    can quote request URLs, and a URL must never reach a log line.
    """
    try:
        yield
    except ClientError as exc:
        code, status = error_code(exc)
        if code in _NOT_FOUND:
            raise ObjectNotFound(key) from exc
        if code in _PRECONDITION or status == 412:
            raise PreconditionFailed(key) from exc
        # Anything else (a missing bucket, refused credentials, a 5xx) leaves the store unusable
        # for now: a 503 that clients retry, and an error line that tells the operator why.
        log.error("object store refused %s of %s: %s (HTTP %s)", operation, key, code, status)
        raise StorageUnavailable(
            f"the object store refused {operation} ({code or status})"
        ) from exc
    except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
        # OSError covers refused connections and TimeoutError (asyncio's timeout since 3.11).
        log.warning(
            "object store unreachable during %s of %s: %s", operation, key, type(exc).__name__
        )
        raise StorageUnavailable("the object store cannot be reached") from exc
