"""Blocking work in threads, awaited so that a cancellation never abandons it halfway."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

T = TypeVar("T")


async def run_to_completion(work: Callable[[], T], *, executor: Executor | None = None) -> T:
    """Run ``work`` in a thread; if cancelled meanwhile, still wait for it, then pass it on.

    The thread keeps using what it was given (a database connection, a file descriptor)
    until it returns: nothing may touch those before then. anyio re-delivers a cancellation
    on every turn of the loop, so the wait goes on through every one of them.
    """
    future = asyncio.get_running_loop().run_in_executor(executor, work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            try:
                await asyncio.wait([future])
            except asyncio.CancelledError:
                continue
        if not future.cancelled():
            future.exception()  # read, so that asyncio does not log it as never retrieved
        raise
