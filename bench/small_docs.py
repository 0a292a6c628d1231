"""Row 4: many small documents at once — wrk on ``files/handle``, boto3 on SeaweedFS, the SDK.

wrk runs against the SQLite + filesystem server and, when there is one, the PostgreSQL +
SeaweedFS server; the SDK against the first.

Every loop is bounded twice: by a deadline and by a maximum count.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import wrk
from bench.common import BenchServer, median
from bench.seaweed import BUCKET, Seaweed

DOC_BYTES = 100 * 1024
CONCURRENCY = 16
MAX_OPS = 200_000


def document() -> bytes:
    """A 100 KiB PDF-looking document."""
    head = b"%PDF-1.7\n"
    return head + b"0123456789abcdef" * ((DOC_BYTES - len(head)) // 16) + b"x" * 7


def wrk_uploads(binary: str, server: BenchServer, seconds: float) -> wrk.WrkResult:
    """One wrk run of 100 KiB ``files/handle`` uploads at concurrency 16."""
    return wrk.run(
        binary,
        f"{server.base_url}/api/v1/files/handle/",
        wrk.multipart_script(server.token, DOC_BYTES),
        connections=CONCURRENCY,
        seconds=seconds,
    )


def seaweed_puts(seaweed: Seaweed, seconds: float, prefix: str) -> float:
    """boto3 PUTs of 100 KiB objects from 16 threads for ``seconds``: objects per second."""
    s3: Any = seaweed.client(max_pool_connections=CONCURRENCY)
    body = document()
    lock = threading.Lock()
    count = 0
    stop = time.perf_counter() + seconds

    def worker(worker_no: int) -> None:
        nonlocal count
        n = 0
        while time.perf_counter() < stop:
            with lock:
                if count >= MAX_OPS:
                    return
                count += 1
            s3.put_object(
                Bucket=BUCKET,
                Key=f"{prefix}/{worker_no}/{n}",
                Body=body,
                ContentType="application/pdf",
            )
            n += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for future in [pool.submit(worker, i) for i in range(CONCURRENCY)]:
            future.result()
    return count / (time.perf_counter() - started)


def sdk_documents(server: BenchServer, seconds: float) -> float:
    """``upload_and_associate_document`` from 16 asyncio tasks for ``seconds``: documents/s."""
    return asyncio.run(_sdk_documents(server, seconds))


async def _sdk_documents(server: BenchServer, seconds: float) -> float:
    from assured import AssuredClient

    body = document()
    async with AssuredClient(
        base_url=server.base_url, api_key=server.creds.api_key, timeout=60, max_retries=0
    ) as client:
        provider = await client.provider_profile.create(first_name="Bench", last_name="Mark")
        count = 0
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < stop and count < MAX_OPS:
                count += 1
                await client.provider_profile.upload_and_associate_document(
                    provider.id, body, "licence.pdf", "Licence", "license"
                )

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return count / (time.perf_counter() - started)


def run(
    server: BenchServer,
    seaweed: Seaweed | None,
    wrk_binary: str | None,
    *,
    seconds: float,
    runs: int,
    cloud: BenchServer | None = None,
) -> dict[str, Any]:
    """Interleaved runs of them all; medians (wrk: medians of its figures).

    ``cloud`` is the PostgreSQL + SeaweedFS server, if there is one.
    """
    wrk_runs: list[wrk.WrkResult] = []
    cloud_runs: list[wrk.WrkResult] = []
    puts: list[float] = []
    docs: list[float] = []
    # Warm-ups, not counted: connections, caches, the SDK's token.
    if wrk_binary is not None:
        wrk_uploads(wrk_binary, server, 1)
        if cloud is not None:
            wrk_uploads(wrk_binary, cloud, 1)
    if seaweed is not None:
        seaweed_puts(seaweed, 1, "warm")
    sdk_documents(server, 1)
    for run_no in range(runs):
        if wrk_binary is not None:
            wrk_runs.append(wrk_uploads(wrk_binary, server, seconds))
            if cloud is not None:
                cloud_runs.append(wrk_uploads(wrk_binary, cloud, seconds))
        if seaweed is not None:
            puts.append(seaweed_puts(seaweed, seconds, f"run{run_no}"))
        docs.append(sdk_documents(server, seconds))
    return {
        "wrk": wrk.summarize(wrk_runs) if wrk_runs else None,
        "wrk_cloud": wrk.summarize(cloud_runs) if cloud_runs else None,
        "seaweed": median(puts) if puts else None,
        "sdk": median(docs),
    }
