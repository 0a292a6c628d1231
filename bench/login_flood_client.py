"""The flood of row 7, in a process of its own: ``python -m bench.login_flood_client``.

Standard library only, so that it starts in a few milliseconds.
"""

from __future__ import annotations

import http.client
import json
import secrets
import sys
import threading
import time
from collections import Counter

CLIENTS = 8


def _attempt(port: int, source: str, username: str, conn: http.client.HTTPConnection | None) -> int:
    body = json.dumps({"username": username, "password": secrets.token_urlsafe(12)})
    own = conn or http.client.HTTPConnection(
        "127.0.0.1", port, timeout=60, source_address=(source, 0)
    )
    try:
        own.request("POST", "/api/v1/auth/token/", body, {"Content-Type": "application/json"})
        response = own.getresponse()
        response.read()
        return response.status
    finally:
        if conn is None:
            own.close()


def _client(index: int, port: int, known: str, flood: str, end: float, out: Counter[int]) -> None:
    """Wrong passwords in a loop, alternately for the known user and an unknown one."""
    fixed = f"127.0.{10 + index}.1"
    conn = (
        http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(fixed, 0))
        if flood == "fixed"
        else None
    )
    n = 0
    while time.perf_counter() < end:
        n += 1
        username = known if n % 2 else f"nobody-{secrets.token_hex(6)}"
        # 127.<64+index>.x.y: 65,536 addresses per client, never one twice in a run.
        source = fixed if conn else f"127.{64 + index}.{(n >> 8) & 255}.{n & 255 or 1}"
        try:
            out[_attempt(port, source, username, conn)] += 1
        except (OSError, http.client.HTTPException):
            out[0] += 1
            if conn is not None:
                conn.close()
    if conn is not None:
        conn.close()


def flood_main(argv: list[str]) -> int:
    """``python -m bench.login_flood PORT USERNAME fixed|rotating SECONDS``: prints the answers."""
    port, known, flood, seconds = int(argv[0]), argv[1], argv[2], float(argv[3])
    end = time.perf_counter() + seconds
    counters = [Counter[int]() for _ in range(CLIENTS)]
    threads = [
        threading.Thread(target=_client, args=(i, port, known, flood, end, counters[i]))
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    print("started", flush=True)  # noqa: T201 - the parent's signal
    for thread in threads:
        thread.join()
    total: Counter[int] = Counter()
    for counter in counters:
        total += counter
    print(json.dumps({"statuses": {str(k): v for k, v in total.items()}}))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(flood_main(sys.argv[1:]))
