"""Pre-signing in-process on one thread: our SigV4 module against boto3, in operations/s.

Both sides sign the same thing the server signs: a GET of ``files/<id>`` with the three
``response-*`` overrides of a download URL, and the POST policy of a v3 upload (bucket, key,
``Content-Type``, ``content-length-range``). Each call reads the clock, as boto3 does.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from assured_server.s3_protocol.sigv4 import Credentials, presign_post, presign_url
from bench.common import median

ENDPOINT = "http://127.0.0.1:8000/storage"
BUCKET = "assured-files"
ACCESS_KEY = "AKIABENCHMARK0000001"
SECRET_KEY = "benchmark-secret-key-0123456789abcdefghij"
MAX_SIZE = 104_857_600
RESPONSE = {
    "response-cache-control": "private",
    "response-content-disposition": "attachment; filename*=UTF-8''scan%202026.pdf",
    "response-content-type": "application/pdf",
}


def _boto3_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


def operations() -> dict[str, Callable[[], object]]:
    """The four signers, each a no-argument call that signs one fresh request."""
    creds = Credentials(ACCESS_KEY, SECRET_KEY, "us-east-1")
    s3 = _boto3_client()
    key = f"files/{uuid.uuid4()}"
    url = f"{ENDPOINT}/{BUCKET}/{key}"
    landing = f"uploads/{uuid.uuid4()}"

    def conditions() -> list[Any]:
        # A fresh list per call: boto3 appends its own conditions to the list it is given.
        return [{"Content-Type": "application/pdf"}, ["content-length-range", 1, MAX_SIZE]]

    boto_params = {
        "Bucket": BUCKET,
        "Key": key,
        "ResponseCacheControl": RESPONSE["response-cache-control"],
        "ResponseContentDisposition": RESPONSE["response-content-disposition"],
        "ResponseContentType": RESPONSE["response-content-type"],
    }

    def ours_url() -> object:
        return presign_url(
            creds, method="GET", url=url, params=RESPONSE, expires_in=300, now=datetime.now(UTC)
        )

    def ours_post() -> object:
        return presign_post(
            creds,
            bucket=BUCKET,
            key=landing,
            fields={"bucket": BUCKET, "Content-Type": "application/pdf"},
            conditions=conditions(),
            expires_in=900,
            now=datetime.now(UTC),
        )

    def boto_url() -> object:
        return s3.generate_presigned_url("get_object", Params=boto_params, ExpiresIn=300)

    def boto_post() -> object:
        return s3.generate_presigned_post(
            BUCKET,
            landing,
            Fields={"bucket": BUCKET, "Content-Type": "application/pdf"},
            Conditions=conditions(),
            ExpiresIn=900,
        )

    return {
        "ours_url": ours_url,
        "ours_post": ours_post,
        "boto_url": boto_url,
        "boto_post": boto_post,
    }


def ops_per_second(fn: Callable[[], object], seconds: float, max_ops: int = 2_000_000) -> float:
    """Calls of ``fn`` per second of this thread's CPU time, over about ``seconds`` of wall time.

    CPU time, not wall time: "per second on one core" is what is compared, and on a shared
    machine the wall clock also counts the moments another process had the core.
    """
    for _ in range(200):  # warm caches (signing keys, lazily built boto3 parts)
        fn()
    done = 0
    batch = 100
    cpu_started = time.thread_time()
    deadline = time.perf_counter() + seconds
    while done < max_ops:
        for _ in range(batch):
            fn()
        done += batch
        if time.perf_counter() >= deadline:
            break
    return done / max(time.thread_time() - cpu_started, 1e-9)


def same_url(ops: dict[str, Callable[[], object]]) -> bool:
    """Whether ours and boto3 sign the download URL identically (retried over a clock tick)."""
    return any(ops["ours_url"]() == ops["boto_url"]() for _ in range(5))


def run(runs: int, seconds: float) -> dict[str, float]:
    """Median ops/s of each signer over ``runs`` interleaved rounds of ``seconds`` each.

    Also ``same_url``: 1.0 when both produced the very same URL, else 0.0.
    """
    ops = operations()
    identical = same_url(ops)
    samples: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(runs):
        for name, fn in ops.items():
            samples[name].append(ops_per_second(fn, seconds))
    return {
        **{name: median(values) for name, values in samples.items()},
        "same_url": float(identical),
    }
