"""The clamd client against a real clamd loaded with the signatures shipped in data/."""

from __future__ import annotations

import os

import pytest
from clamd_support import CUSTOM_MARKER, EICAR

from assured_server.safety.clamd import ClamdClient, ClamdTimeouts, parse_reply
from assured_server.safety.clamd_address import ClamdAddress, parse_clamd_address
from assured_server.safety.scan_result import ScanVerdict
from assured_testing import Clamd

MiB = 1024 * 1024


@pytest.fixture(params=["unix", "tcp"])
def client(request: pytest.FixtureRequest, clamd: Clamd) -> ClamdClient:
    address = clamd.unix_address if request.param == "unix" else clamd.tcp_address
    return ClamdClient(address)


async def test_eicar_is_infected_and_named(client: ClamdClient) -> None:
    result = await client.scan_bytes(EICAR)
    assert result.verdict is ScanVerdict.INFECTED
    assert result.signature is not None and result.signature.startswith("Assured.Test.EICAR")
    assert not result.is_clean


async def test_custom_signature_is_found_inside_a_document(client: ClamdClient) -> None:
    result = await client.scan_bytes(b"%PDF-1.7\n" + os.urandom(5000) + CUSTOM_MARKER + b"\n%%EOF")
    assert result.verdict is ScanVerdict.INFECTED
    assert result.signature is not None and result.signature.startswith("Assured.Test.Custom")


async def test_clean_file_is_clean(client: ClamdClient) -> None:
    result = await client.scan_bytes(b"plain text that is nobody's malware\n" * 1000)
    assert result.verdict is ScanVerdict.CLEAN
    assert result.is_clean and result.signature is None


async def test_empty_file_is_clean(client: ClamdClient) -> None:
    stream = await client.instream()
    assert (await stream.finish()).verdict is ScanVerdict.CLEAN


async def test_eicar_split_across_chunks_is_found(client: ClamdClient) -> None:
    data = b"x" * 1000 + EICAR + b"y" * 1000
    stream = await client.instream()
    for start in range(0, len(data), 7):
        await stream.feed(data[start : start + 7])
    assert stream.bytes_sent == len(data)
    result = await stream.finish()
    assert result.verdict is ScanVerdict.INFECTED


async def test_eicar_at_the_very_end_of_a_large_file_is_found(client: ClamdClient) -> None:
    stream = await client.instream()
    block = os.urandom(256 * 1024)
    for _ in range(12):  # 3 MiB, under the fixture's 4 MiB stream limit
        await stream.feed(block)
    await stream.feed(EICAR)
    assert (await stream.finish()).verdict is ScanVerdict.INFECTED


async def test_stream_over_clamds_limit_is_too_large_never_clean(client: ClamdClient) -> None:
    stream = await client.instream()
    block = b"\0" * MiB
    # Four times the 4 MiB limit: clamd answers and hangs up part way, and the stream notices
    # (what socket buffers took before the hang-up counts as sent, so no exact count).
    for _ in range(16):
        await stream.feed(block)
    assert stream.stopped
    result = await stream.finish()
    assert result.verdict is ScanVerdict.TOO_LARGE
    assert not result.is_clean


async def test_one_chunk_over_the_limit_is_too_large(client: ClamdClient) -> None:
    result = await client.scan_bytes(b"\0" * (5 * MiB))
    assert result.verdict is ScanVerdict.TOO_LARGE


async def test_stream_limit_probe_tells_the_limit_without_sending_data(
    client: ClamdClient,
) -> None:
    assert await client.accepts_stream_of(4 * MiB)
    assert not await client.accepts_stream_of(4 * MiB + 1)
    assert not await client.accepts_stream_of(100 * MiB)


async def test_ping_and_version(client: ClamdClient) -> None:
    assert await client.ping()
    assert (await client.version()).startswith("ClamAV ")


async def test_clamd_down_is_unavailable_and_recovers(private_clamd: Clamd) -> None:
    client = ClamdClient(private_clamd.unix_address, ClamdTimeouts(connect=2, io=5, verdict=10))
    assert await client.ping()
    private_clamd.stop()
    assert not await client.ping()
    stream = await client.instream()
    assert stream.stopped
    await stream.feed(EICAR)
    result = await stream.finish()
    assert result.verdict is ScanVerdict.UNAVAILABLE and not result.is_clean
    private_clamd.start()
    assert await client.ping()
    assert (await client.scan_bytes(EICAR)).verdict is ScanVerdict.INFECTED


async def test_clamd_stopped_mid_stream_is_unavailable(private_clamd: Clamd) -> None:
    client = ClamdClient(private_clamd.tcp_address, ClamdTimeouts(connect=2, io=5, verdict=10))
    stream = await client.instream()
    await stream.feed(b"first half of a clean file")
    private_clamd.stop()
    await stream.feed(b"second half")
    result = await stream.finish()
    assert result.verdict is ScanVerdict.UNAVAILABLE


async def test_nothing_listening_on_tcp_is_unavailable(tmp_path: object) -> None:
    from assured_testing import free_port

    client = ClamdClient(ClamdAddress(host="127.0.0.1", port=free_port()))
    assert not await client.ping()
    assert (await client.scan_bytes(b"abc")).verdict is ScanVerdict.UNAVAILABLE


@pytest.mark.parametrize(
    ("reply", "verdict", "signature"),
    [
        ("stream: OK", ScanVerdict.CLEAN, None),
        ("stream: Win.Test.EICAR_HDB-1 FOUND", ScanVerdict.INFECTED, "Win.Test.EICAR_HDB-1"),
        ("INSTREAM size limit exceeded. ERROR", ScanVerdict.TOO_LARGE, None),
        ("Can't allocate memory ERROR", ScanVerdict.UNAVAILABLE, None),
        ("", ScanVerdict.UNAVAILABLE, None),
        ("stream: OK FOUND?", ScanVerdict.UNAVAILABLE, None),
    ],
)
def test_replies_map_to_verdicts_and_only_ok_is_clean(
    reply: str, verdict: ScanVerdict, signature: str | None
) -> None:
    result = parse_reply(reply)
    assert result.verdict is verdict
    assert result.signature == signature


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("unix:///var/run/clamav/clamd.ctl", ClamdAddress(path="/var/run/clamav/clamd.ctl")),
        ("tcp://127.0.0.1:3310", ClamdAddress(host="127.0.0.1", port=3310)),
        ("tcp://clamd.internal:3310", ClamdAddress(host="clamd.internal", port=3310)),
        ("tcp://[::1]:3310", ClamdAddress(host="::1", port=3310)),
    ],
)
def test_addresses_parse_and_print_back(value: str, expected: ClamdAddress) -> None:
    assert parse_clamd_address(value) == expected
    assert str(expected) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "/run/clamd.sock",
        "unix://run/clamd.sock",
        "unix:relative",
        "tcp://host",
        "tcp://:3310",
        "tcp://host:0",
        "tcp://host:99999",
        "http://host:3310",
        "tcp://host:3310/path",
    ],
)
def test_bad_addresses_are_refused_saying_what_is_expected(value: str) -> None:
    with pytest.raises(ValueError, match="unix://|tcp://"):
        parse_clamd_address(value)


async def test_an_ok_before_the_end_of_the_stream_is_never_clean() -> None:
    """A fake clamd that answers OK as soon as it reads anything: the file was not scanned."""
    import asyncio

    answered = asyncio.Event()

    async def answer_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(b"stream: OK\0")
        await writer.drain()
        writer.close()
        answered.set()

    server = await asyncio.start_server(answer_at_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = ClamdClient(ClamdAddress(host="127.0.0.1", port=port))
        stream = await client.instream()
        await stream.feed(b"first chunk")
        async with asyncio.timeout(10):
            await answered.wait()
            while not stream.stopped:  # the client's reader takes the answer in
                await asyncio.sleep(0.001)
        await stream.feed(b"second chunk")
        result = await stream.finish()
        assert result.verdict is ScanVerdict.UNAVAILABLE and not result.is_clean
    finally:
        server.close()
        await server.wait_closed()
