"""Throttled logs: accept errors at most once a second, with the count; other errors untouched."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from assured_server.serving.process import ACCEPT_FAILED, AcceptErrorLog, ThrottledLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_throttled_log_says_how_many_lines_it_left_out(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    throttled = ThrottledLog(logging.ERROR, interval=1.0, clock=clock)
    with caplog.at_level(logging.ERROR, logger="assured_server.edge"):
        for _ in range(500):
            throttled("accept failed: %s", "EMFILE")
            clock.now += 0.01  # 100 a second, for 5 seconds
    messages = [r.getMessage() for r in caplog.records]
    assert 5 <= len(messages) <= 6, messages
    assert messages[0] == "accept failed: EMFILE"
    assert all(m.startswith("accept failed: EMFILE (and ") for m in messages[1:])
    assert (
        throttled.suppressed
        + len(messages)
        + sum(int(m.split("(and ")[1].split()[0]) for m in messages[1:])
        == 500
    )


def test_accept_errors_are_throttled_and_other_errors_passed_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[dict[str, Any]] = []
    handler = AcceptErrorLog(lambda _loop, context: seen.append(context))
    loop = asyncio.new_event_loop()
    try:
        error = OSError(24, "Too many open files")
        with caplog.at_level(logging.ERROR, logger="assured_server.edge"):
            for _ in range(1000):
                handler(loop, {"message": ACCEPT_FAILED, "exception": error})
            handler(loop, {"message": "Task exception was never retrieved"})
    finally:
        loop.close()
    assert [r.getMessage() for r in caplog.records] == [
        "cannot accept connections: [Errno 24] Too many open files"
    ]
    assert seen == [{"message": "Task exception was never retrieved"}]


def test_install_keeps_the_loops_own_handler_for_other_errors() -> None:
    loop = asyncio.new_event_loop()
    try:
        seen: list[str] = []
        loop.set_exception_handler(lambda _loop, context: seen.append(context["message"]))
        AcceptErrorLog.install(loop)
        loop.call_exception_handler({"message": "boom"})
        loop.call_exception_handler({"message": ACCEPT_FAILED, "exception": OSError(24, "x")})
        assert seen == ["boom"]
    finally:
        loop.close()
