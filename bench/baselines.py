"""What a large upload is compared with: the bare-ASGI ceiling, the disk (dd), SeaweedFS."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from bench.ceiling_app import CeilingProcess
from bench.common import MIB, RssSampler, Transfer, curl_form
from bench.seaweed import BUCKET


def ceiling_once(
    ceiling: CeilingProcess, source: Path, work: Path, headers: dict[str, str]
) -> Transfer:
    """The same multipart request to the ceiling app, watching its memory and CPU."""
    with RssSampler(ceiling.pid) as rss:
        result = curl_form(ceiling.url, work, file=source, headers=headers)
    if result.status != 201:
        raise RuntimeError(f"ceiling upload failed: {result.status}")
    return Transfer(result.seconds, rss.peak, rss.cpu_seconds, result.cpu_seconds)


def dd_once(directory: Path, size: int) -> float:
    """``dd if=/dev/zero of=… bs=1M count=… conv=fsync``: seconds (the disk's own speed)."""
    target = directory / "dd.out"
    started = time.perf_counter()
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={size // MIB}", "conv=fsync"],
        capture_output=True,
        timeout=900,
        check=True,
    )
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def seaweed_once(s3: Any, weed_pid: int, source: Path, key: str) -> Transfer:
    """One boto3 ``put_object`` of ``source`` to SeaweedFS (deleted afterwards)."""
    with source.open("rb") as body, RssSampler(weed_pid) as rss:
        started = time.perf_counter()
        s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="application/pdf")
        seconds = time.perf_counter() - started
    head = s3.head_object(Bucket=BUCKET, Key=key)
    if head["ContentLength"] != source.stat().st_size:
        raise RuntimeError(f"SeaweedFS stored {head['ContentLength']} bytes")
    s3.delete_object(Bucket=BUCKET, Key=key)
    return Transfer(seconds, rss.peak, rss.cpu_seconds)
