"""The login throttle's counters, back-offs and memory bound, on a clock the test moves."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from assured_server.auth.password_pool import PasswordPool, PasswordPoolFull
from assured_server.auth.throttle import (
    ADDRESS_ALLOWANCE,
    FORGET_AFTER,
    MAX_DELAY,
    PAIR_ALLOWANCE,
    USERNAME_ALLOWANCE,
    LoginThrottle,
    Throttled,
    client_address,
)


class Clock:
    """A monotonic clock that only moves when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(throttle: LoginThrottle, address: str, username: str | None, times: int = 1) -> None:
    for _ in range(times):
        throttle.begin(address, username).failed()


def _fail_waiting(throttle: LoginThrottle, clock: Clock, address: str, times: int) -> None:
    """``times`` failures of (address, alice), each after waiting out any back-off."""
    for _ in range(times):
        wait = _retry_after(throttle, address, "alice")
        clock.now += wait or 0
        _fail(throttle, address, "alice")


def _retry_after(throttle: LoginThrottle, address: str, username: str | None) -> int | None:
    try:
        attempt = throttle.begin(address, username)
    except Throttled as exc:
        return exc.retry_after
    attempt.void()
    return None


def test_past_the_allowance_each_failure_doubles_the_wait_up_to_the_cap() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    _fail(throttle, "10.0.0.1", "alice", PAIR_ALLOWANCE)
    waits = []
    for _ in range(14):
        wait = _retry_after(throttle, "10.0.0.1", "alice")
        assert wait is not None
        waits.append(wait)
        clock.now += wait
        assert _retry_after(throttle, "10.0.0.1", "alice") is None
        _fail(throttle, "10.0.0.1", "alice")
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert waits[-1] == MAX_DELAY


def test_a_success_resets_the_pairs_failures() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    _fail_waiting(throttle, clock, "10.0.0.1", PAIR_ALLOWANCE + 2)
    clock.now += 10
    throttle.begin("10.0.0.1", "alice").succeeded()
    _fail(throttle, "10.0.0.1", "alice", PAIR_ALLOWANCE)  # a whole allowance again
    assert _retry_after(throttle, "10.0.0.1", "alice") == 1


def test_failures_are_forgotten_an_hour_after_the_last_one() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    _fail_waiting(throttle, clock, "10.0.0.1", PAIR_ALLOWANCE + 3)
    clock.now += FORGET_AFTER
    _fail(throttle, "10.0.0.1", "alice", PAIR_ALLOWANCE - 1)
    assert _retry_after(throttle, "10.0.0.1", "alice") is None


def test_another_address_is_not_locked_out_by_one_address_failures() -> None:
    throttle = LoginThrottle(clock=Clock())
    _fail(throttle, "10.0.0.1", "alice", PAIR_ALLOWANCE)
    assert _retry_after(throttle, "10.0.0.1", "alice") is not None
    assert _retry_after(throttle, "10.0.0.2", "alice") is None


def test_one_address_spraying_usernames_is_throttled_on_every_username() -> None:
    throttle = LoginThrottle(clock=Clock())
    for i in range(ADDRESS_ALLOWANCE):
        _fail(throttle, "10.0.0.1", f"user{i}")
    assert _retry_after(throttle, "10.0.0.1", "someone-else") == 1
    assert _retry_after(throttle, "10.0.0.1", None) == 1  # API keys too
    assert _retry_after(throttle, "10.0.0.2", "someone-else") is None


def test_api_key_failures_count_per_address() -> None:
    throttle = LoginThrottle(clock=Clock())
    _fail(throttle, "10.0.0.1", None, ADDRESS_ALLOWANCE)
    assert _retry_after(throttle, "10.0.0.1", None) == 1
    assert _retry_after(throttle, "10.0.0.2", None) is None


def test_many_addresses_on_one_username_throttle_it_but_not_the_users_known_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    throttle.begin("192.0.2.7", "alice").succeeded()  # the user's own address, known
    per_address = PAIR_ALLOWANCE - 1  # each address stays within its own allowances
    for i in range(-(-USERNAME_ALLOWANCE // per_address)):
        _fail(throttle, f"10.1.0.{i}", "alice", per_address)
    assert _retry_after(throttle, "10.2.0.1", "alice") is not None  # a fresh address waits
    assert _retry_after(throttle, "10.2.0.1", "bob") is None  # other users do not
    assert _retry_after(throttle, "192.0.2.7", "alice") is None  # the known pair does not


def test_an_address_past_its_allowance_is_refused_before_its_username_is_known() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for i in range(ADDRESS_ALLOWANCE - 1):
        _fail(throttle, "10.0.0.1", f"user{i}")
    assert throttle.refuse_address("10.0.0.1") is None  # within the allowance
    _fail(throttle, "10.0.0.1", "one-more")
    assert throttle.refuse_address("10.0.0.1") == 1
    assert throttle.refuse_address("10.0.0.2") is None
    clock.now += 1.0
    assert throttle.refuse_address("10.0.0.1") is None  # its back-off is over


def test_an_address_with_a_known_pair_is_never_refused_early() -> None:
    throttle = LoginThrottle(clock=Clock())
    throttle.begin("10.0.0.1", "alice").succeeded()
    for i in range(ADDRESS_ALLOWANCE):
        _fail(throttle, "10.0.0.1", f"user{i}")
    assert throttle.refuse_address("10.0.0.1") is None  # alice's pair is exempt: ask the route
    assert _retry_after(throttle, "10.0.0.1", "alice") is None
    assert _retry_after(throttle, "10.0.0.1", "mallory") == 1


def test_an_api_key_success_does_not_exempt_its_address() -> None:
    throttle = LoginThrottle(clock=Clock())
    throttle.begin("10.0.0.1", None).succeeded()
    _fail(throttle, "10.0.0.1", None, ADDRESS_ALLOWANCE)
    assert throttle.refuse_address("10.0.0.1") == 1


def test_attempts_in_flight_count_against_the_allowance() -> None:
    throttle = LoginThrottle(clock=Clock())
    admitted = []
    for _ in range(PAIR_ALLOWANCE + 10):
        try:
            admitted.append(throttle.begin("10.0.0.1", "alice"))
        except Throttled:
            pass
    assert len(admitted) == PAIR_ALLOWANCE  # concurrent guesses cannot outrun the count
    for attempt in admitted:
        attempt.failed()


def test_a_void_attempt_counts_nothing_and_a_verdict_counts_once() -> None:
    throttle = LoginThrottle(clock=Clock())
    for _ in range(PAIR_ALLOWANCE * 3):
        throttle.begin("10.0.0.1", "alice").void()
    attempt = throttle.begin("10.0.0.1", "alice")
    attempt.failed()
    attempt.failed()
    attempt.succeeded()
    _fail(throttle, "10.0.0.1", "alice", PAIR_ALLOWANCE - 2)
    assert _retry_after(throttle, "10.0.0.1", "alice") is None
    assert len(throttle) == 3  # pair, address and username: the failures are remembered


def test_ipv6_addresses_count_by_their_64_prefix() -> None:
    assert client_address("2001:db8:1:2::1") == client_address("2001:db8:1:2:ffff::9")
    assert client_address("2001:db8:1:2::1") != client_address("2001:db8:1:3::1")
    assert client_address("::ffff:10.0.0.1") == client_address("10.0.0.1") == "10.0.0.1"
    assert client_address(None) == "-"
    throttle = LoginThrottle(clock=Clock())
    for i in range(PAIR_ALLOWANCE):
        _fail(throttle, client_address(f"2001:db8:1:2::{i + 1:x}"), "alice")
    assert _retry_after(throttle, client_address("2001:db8:1:2::beef"), "alice") == 1


def test_the_table_never_grows_past_its_cap() -> None:
    throttle = LoginThrottle(max_entries=1000, clock=Clock())
    for i in range(5000):
        _fail(throttle, f"10.0.{i >> 8}.{i & 255}", f"nobody-{i}-" + "x" * 140)
        assert len(throttle) <= 1000
    assert len(throttle) == 1000
    # The newest failures are the ones kept: the last address is still counted.
    _fail(throttle, "10.0.19.135", "nobody-4999-" + "x" * 140, PAIR_ALLOWANCE - 1)
    assert _retry_after(throttle, "10.0.19.135", "nobody-4999-" + "x" * 140) == 1


def test_a_full_table_stays_within_a_few_mib() -> None:
    throttle = LoginThrottle(max_entries=5000, clock=Clock())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):
            _fail(throttle, f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", "u" * 150 + str(i))
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert used / 5000 < 400  # bytes per record, whatever the username's length


async def test_the_password_pool_refuses_at_once_when_its_queue_is_full() -> None:
    pool = PasswordPool(threads=1, queue=1)
    try:
        running = [asyncio.create_task(pool.verify(None, "guess")) for _ in range(2)]
        for _ in range(1000):  # bounded: the tasks are admitted on their first step
            if pool.admitted == 2:
                break
            await asyncio.sleep(0)
        assert pool.admitted == 2
        with pytest.raises(PasswordPoolFull):
            await pool.verify(None, "one too many")
        assert await asyncio.gather(*running) == [False, False]
        assert pool.admitted == 0
    finally:
        pool.close()
