"""What the content-safety checks cost, apart from any server: ``python -m bench.inspection_cost``.

Prints one markdown table: the PDF check's throughput on the kinds of bytes a PDF is made of
(image data it skips, compressed content it inflates, dense object text), the image header
reader's, and, with ``--clamd unix:///path`` or ``tcp://host:port``, 100 KiB documents per
second through our clamd client against a plain blocking client at the same concurrency (the
upload paths must add almost nothing to clamd's own rate). Every loop is bounded by a count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable

from assured_server.safety.clamd import ClamdClient
from assured_server.safety.clamd_address import ClamdAddress, parse_clamd_address
from assured_server.safety.image_size import ImageSizeReader
from assured_server.safety.pdf_active import PdfActiveContentScanner

MIB = 1 << 20
CHUNK = 256 * 1024
DOC_BYTES = 100 * 1024


def _pdf_of(stream_dictionary: bytes, data: bytes, total: int) -> bytes:
    obj = b"<<" + stream_dictionary + b" /Length %d>>\nstream\n" % len(data) + data
    obj += b"\nendstream\nendobj\n"
    count = max(total // len(obj), 1)
    return b"%PDF-1.7\n" + b"".join(b"%d 0 obj\n" % (i + 1) + obj for i in range(count))


def _pdf_bodies(total: int) -> dict[str, bytes]:
    page = os.urandom(64 * 1024)  # stands in for JPEG data: incompressible
    # A page's text operators, with positions and words varying as they do: about 3:1 deflate.
    rng = random.Random(7)
    words = [os.urandom(rng.randrange(2, 8)).hex().encode() for _ in range(500)]
    content = b"".join(
        b"BT /F%d 12 Tf %d %d Td (%s) Tj ET\n"
        % (rng.randrange(1, 4), rng.randrange(600), rng.randrange(800), rng.choice(words))
        for _ in range(2000)
    )
    dense = b"1 0 obj <</Type /Annot /Subtype /Link /Rect [0 0 10 10] /Border [0 0 0]>> endobj\n"
    return {
        "PDF, JPEG images (skipped)": _pdf_of(b"/Subtype /Image /Filter /DCTDecode", page, total),
        "PDF, compressed content (inflated)": _pdf_of(
            b"/Filter /FlateDecode", zlib.compress(content), total
        ),
        "PDF, dense small objects": dense * (total // len(dense)),
    }


def _throughput(body: bytes, run: Callable[[bytes], None], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run(body)
        best = min(best, time.perf_counter() - started)
    return len(body) / MIB / best


def _pdf_check(body: bytes) -> None:
    scanner = PdfActiveContentScanner()
    view = memoryview(body)
    for start in range(0, len(body), CHUNK):
        scanner.feed(view[start : start + CHUNK])
    scanner.finish()


def _image_check(body: bytes) -> None:
    reader = ImageSizeReader.for_content_type("image/tiff")
    assert reader is not None
    view = memoryview(body)
    for start in range(0, len(body), CHUNK):
        reader.feed(view[start : start + CHUNK])
    reader.finish()


def _plain_scan(address: ClamdAddress, data: bytes) -> bytes:
    family = socket.AF_UNIX if address.path is not None else socket.AF_INET
    target = address.path if address.path is not None else (address.host, address.port)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(target)
        sock.sendall(b"zINSTREAM\0" + struct.pack(">I", len(data)) + data + b"\0\0\0\0")
        reply = b""
        while not reply.endswith(b"\0"):
            part = sock.recv(4096)
            if not part:
                break
            reply += part
    return reply


def _plain_rate(address: ClamdAddress, docs: int, concurrency: int) -> float:
    data = os.urandom(DOC_BYTES)
    left = [docs]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            assert _plain_scan(address, data).endswith(b"OK\0")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return docs / (time.perf_counter() - started)


async def _client_rate(address: ClamdAddress, docs: int, concurrency: int) -> float:
    client = ClamdClient(address)
    data = os.urandom(DOC_BYTES)
    queue = iter(range(docs))

    async def worker() -> None:
        for _ in queue:
            stream = await client.instream()
            for start in range(0, len(data), 64 * 1024):  # as an upload arrives
                await stream.feed(data[start : start + 64 * 1024])
            assert (await stream.finish()).is_clean

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return docs / (time.perf_counter() - started)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="MiB per PDF body")
    parser.add_argument("--clamd", default="", help="unix:///path or tcp://host:port")
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    rows = [("check", "throughput")]
    for name, body in _pdf_bodies(args.size * MIB).items():
        rows.append((name, f"{_throughput(body, _pdf_check):.0f} MiB/s"))
    tiff = b"II*\x00" + struct.pack("<I", 8 + args.size * MIB) + bytes(args.size * MIB)
    tiff += struct.pack("<H", 2) + struct.pack("<HHII", 256, 4, 1, 10)
    tiff += struct.pack("<HHII", 257, 4, 1, 10) + struct.pack("<I", 0)
    rows.append(
        ("TIFF header after the pixel data", f"{_throughput(tiff, _image_check):.0f} MiB/s")
    )
    if args.clamd:
        address = parse_clamd_address(args.clamd)
        plain = _plain_rate(address, args.docs, args.concurrency)
        ours = asyncio.run(_client_rate(address, args.docs, args.concurrency))
        rows.append((f"clamd, plain client, 100 KiB x{args.concurrency}", f"{plain:.0f} docs/s"))
        rows.append(
            (
                f"clamd, our client, 100 KiB x{args.concurrency}",
                f"{ours:.0f} docs/s ({ours / plain:.2f}x)",
            )
        )
    width = max(len(row[0]) for row in rows)
    print(f"| {'check'.ljust(width)} | throughput |")
    print(f"|{'-' * (width + 2)}|------------|")
    for name, value in rows[1:]:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
