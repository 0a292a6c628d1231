"""A clamd client: ``INSTREAM`` fed chunk by chunk over a unix or TCP socket, and ``PING``.

Why our own: the Python clamd clients we know (``clamd``, ``pyclamd``, ``aioclamd``) read a
whole buffer or file object themselves, and report clamd's "INSTREAM size limit exceeded" as a
generic error or exception. The upload paths need an asyncio stream fed while the bytes arrive
(the v1 handle scans with no second read), a timeout on every wait, and a reply model in which
a stream clamd stopped reading can never come out clean. The protocol is small (clamd(8)):
``zINSTREAM\\0``, then chunks each prefixed by its length as 4 bytes big-endian, then a zero
length; clamd answers one NUL-terminated line.

Plain non-blocking sockets with the loop's ``sock_*`` calls, not asyncio streams: when clamd
refuses a stream it answers and hangs up, our next write fails, and an asyncio transport then
closes itself without reading the answer that is already waiting; a socket keeps it readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass
from typing import Any

from assured_server.safety.clamd_address import ClamdAddress
from assured_server.safety.scan_result import ScanResult, ScanVerdict

_LENGTH = struct.Struct(">I")
_END = _LENGTH.pack(0)
_MAX_CHUNK = 0xFFFF_FFFF
_LIMIT_REPLY = "INSTREAM size limit exceeded"
_JOIN_BELOW = 256 * 1024


@dataclass(frozen=True, slots=True)
class ClamdTimeouts:
    """Bounds on every wait: connecting, each write or short reply, the verdict after the end."""

    connect: float = 5.0
    io: float = 30.0
    # clamd scans only once the stream has ended; its own MaxScanTime defaults to 120 s.
    verdict: float = 150.0


def parse_reply(reply: str) -> ScanResult:
    """Map clamd's answer to an INSTREAM to a verdict; anything unexpected is never clean."""
    if reply == "stream: OK":
        return ScanResult(ScanVerdict.CLEAN)
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        return ScanResult(ScanVerdict.INFECTED, signature=reply[len("stream: ") : -len(" FOUND")])
    if reply.startswith(_LIMIT_REPLY):
        return ScanResult(ScanVerdict.TOO_LARGE, detail=reply)
    if not reply:
        return ScanResult(ScanVerdict.UNAVAILABLE, detail="clamd closed the connection")
    return ScanResult(ScanVerdict.UNAVAILABLE, detail=f"clamd answered {reply!r}")


class ClamdClient:
    """Opens connections to one clamd; cheap to keep, holds no connection between calls."""

    def __init__(self, address: ClamdAddress, timeouts: ClamdTimeouts | None = None) -> None:
        self.address = address
        self.timeouts = timeouts or ClamdTimeouts()

    async def connect(self) -> socket.socket:
        """A non-blocking socket connected to clamd within the connect timeout."""
        loop = asyncio.get_running_loop()
        target: str | tuple[Any, ...]
        if self.address.path is not None:
            family, target = socket.AF_UNIX, self.address.path
        else:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(self.address.host, self.address.port, type=socket.SOCK_STREAM),
                self.timeouts.connect,
            )
            family, _, _, _, target = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            # asyncio.timeout rather than wait_for, here and below: wait_for makes a task per
            # call in Python 3.11, a cost paid on every chunk of every upload.
            async with asyncio.timeout(self.timeouts.connect):
                await loop.sock_connect(sock, target)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _command(self, command: bytes) -> str:
        loop = asyncio.get_running_loop()
        with await self.connect() as sock:
            await asyncio.wait_for(
                loop.sock_sendall(sock, b"z" + command + b"\0"), self.timeouts.io
            )
            return await asyncio.wait_for(_read_reply(sock), self.timeouts.io)

    async def ping(self) -> bool:
        """True when clamd answers PONG in time (the readiness check); never raises."""
        try:
            return await self._command(b"PING") == "PONG"
        except (OSError, TimeoutError, UnicodeDecodeError):
            return False

    async def version(self) -> str:
        """clamd's version line (``ClamAV 1.4.6/…``); raises OSError or TimeoutError."""
        return await self._command(b"VERSION")

    async def accepts_stream_of(self, nbytes: int, *, wait: float = 1.0) -> bool:
        """False when clamd's stream limit is below ``nbytes``, as far as it tells within ``wait``.

        clamd checks each chunk's announced length against StreamMaxLength before reading it,
        so announcing one chunk of ``nbytes`` and sending nothing is refused at once when the
        limit is lower; a larger limit leaves clamd waiting, and we hang up.
        """
        loop = asyncio.get_running_loop()
        with await self.connect() as sock:
            announce = b"zINSTREAM\0" + _LENGTH.pack(min(nbytes, _MAX_CHUNK))
            await asyncio.wait_for(loop.sock_sendall(sock, announce), self.timeouts.io)
            try:
                reply = await asyncio.wait_for(_read_reply(sock), wait)
            except TimeoutError:
                return True
            return not reply.startswith(_LIMIT_REPLY)

    async def instream(self) -> ClamdStream:
        """Start an INSTREAM scan; a connection failure shows in the stream's verdict."""
        stream = ClamdStream(self.timeouts)
        await stream.start(self)
        return stream

    async def scan_bytes(self, data: bytes) -> ScanResult:
        """Scan one buffer (tests, small files)."""
        stream = await self.instream()
        await stream.feed(data)
        return await stream.finish()


class ClamdStream:
    """One INSTREAM scan, fed chunk by chunk; ``finish`` gives the verdict, never raising."""

    def __init__(self, timeouts: ClamdTimeouts) -> None:
        self._timeouts = timeouts
        self._sock: socket.socket | None = None
        self._reply: asyncio.Task[str] | None = None
        self._failure: str | None = None
        self._hung_up = False
        self._sent = 0
        self._finished: ScanResult | None = None
        # Sent in front of the first bytes: one system call less for a small file.
        self._command = b"zINSTREAM\0"

    async def start(self, client: ClamdClient) -> None:
        """Connect; errors are kept for ``finish``. The command goes with the first chunk."""
        try:
            self._sock = await client.connect()
        except (OSError, TimeoutError) as exc:
            self._failure = f"cannot reach clamd: {exc!r}"
            return
        # clamd answers before the end only to refuse the stream (its size limit): read the
        # reply from the start, so the sender learns at once and stops sending.
        self._reply = asyncio.create_task(_read_reply(self._sock))

    @property
    def bytes_sent(self) -> int:
        """How many bytes of the file were handed to the socket."""
        return self._sent

    @property
    def unreachable(self) -> bool:
        """True when clamd could not be reached or stopped answering in time."""
        return self._failure is not None

    @property
    def stopped(self) -> bool:
        """True once the scan cannot come out clean: unreachable, hung up, or answered early."""
        return (
            self._failure is not None
            or self._hung_up
            or (self._reply is not None and self._reply.done())
        )

    async def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Send the next bytes of the file; once the scan has stopped, bytes are dropped."""
        if not chunk or self.stopped or self._sock is None:
            return
        loop = asyncio.get_running_loop()
        view = memoryview(chunk)
        try:
            for start in range(0, len(view), _MAX_CHUNK):
                piece = view[start : start + _MAX_CHUNK]
                header = self._command + _LENGTH.pack(len(piece))
                self._command = b""
                async with asyncio.timeout(self._timeouts.io):
                    if len(piece) <= _JOIN_BELOW:
                        # One send for a small chunk: a copy costs less than a system call.
                        await loop.sock_sendall(self._sock, header + piece)
                    else:
                        await loop.sock_sendall(self._sock, header)
                        await loop.sock_sendall(self._sock, piece)
                self._sent += len(piece)
        except TimeoutError:
            self._failure = "clamd stopped reading (write timed out)"
        except OSError:
            # clamd hung up mid-stream: it refused the stream (its answer, still readable,
            # says why) or it died (then there is no answer).
            self._hung_up = True

    async def finish(self) -> ScanResult:
        """End the stream and wait for the verdict (bounded); never raises for clamd's faults."""
        if self._finished is None:
            try:
                self._finished = await self._finish()
            finally:
                await self.aclose()
        return self._finished

    async def _finish(self) -> ScanResult:
        if self._failure is not None or self._reply is None or self._sock is None:
            return ScanResult(ScanVerdict.UNAVAILABLE, detail=self._failure or "not started")
        ended = False
        # An answer that came before the end marker went out is about part of the file only.
        if not self.stopped:
            loop = asyncio.get_running_loop()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(self._timeouts.io):
                    await loop.sock_sendall(self._sock, self._command + _END)
                ended = True
        try:
            async with asyncio.timeout(self._timeouts.verdict):
                reply = await asyncio.shield(self._reply)
        except TimeoutError:
            return ScanResult(ScanVerdict.UNAVAILABLE, detail="no verdict from clamd in time")
        except (OSError, UnicodeDecodeError) as exc:
            return ScanResult(ScanVerdict.UNAVAILABLE, detail=f"clamd failed: {exc!r}")
        result = parse_reply(reply)
        if result.is_clean and not ended:
            # clamd never says OK before the end of a stream; if it seems to, some bytes went
            # unscanned, and the file is not clean.
            return ScanResult(ScanVerdict.UNAVAILABLE, detail="clamd answered before the end")
        return result

    async def aclose(self) -> None:
        """Hang up (an abandoned upload); idempotent."""
        if self._reply is not None:
            if not self._reply.done():
                self._reply.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._reply
            elif not self._reply.cancelled():
                self._reply.exception()  # retrieved: a failed reply is not logged as lost
        if self._sock is not None:
            self._sock.close()
            self._sock = None


async def _read_reply(sock: socket.socket) -> str:
    """Read up to clamd's NUL terminator or its hang-up (then the reply may be empty)."""
    loop = asyncio.get_running_loop()
    reply = bytearray()
    while b"\0" not in reply and len(reply) < 4096:
        try:
            data = await loop.sock_recv(sock, 4096)
        except ConnectionResetError:
            break
        if not data:
            break
        reply += data
    return bytes(reply).split(b"\0", 1)[0].decode("utf-8").strip()
