"""Password checks leave the server responsive, and failed logins are throttled (real server).

Requests come from loopback addresses other than 127.0.0.1 (Linux routes all of 127/8 to
``lo``): each test its own, so that the counters of one never throttle another, nor the rest
of the suite. The servers are the default deployment (SQLite + filesystem, one process).
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from server_helpers import assert_api_error, wait_until

from assured_server.api.login_gate import HOLD_SECONDS
from assured_server.auth.throttle import (
    ADDRESS_ALLOWANCE,
    PAIR_ALLOWANCE,
    USERNAME_ALLOWANCE,
)
from assured_testing import Credentials, ServerProcess

TOKEN = "/api/v1/auth/token/"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a test fixture
WRONG = "Tr0ub4dor&3"


@pytest.fixture(scope="module")
def login_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own, with the default settings."""
    proc = ServerProcess(tmp_path_factory.mktemp("login-server")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def account(login_server: ServerProcess) -> Credentials:
    """An account (and an API key) on the module's server."""
    return login_server.new_account("login")


@pytest.fixture
def new_user(login_server: ServerProcess, account: Credentials) -> Callable[[], str]:
    """Make users with ``PASSWORD``; returns their usernames."""

    def make() -> str:
        name = f"user-{uuid.uuid4().hex[:8]}"
        login_server.admin(
            "create-user",
            "--account",
            account.account_id,
            "--username",
            name,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        return name

    return make


def client_from(server: ServerProcess, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (a loopback address)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.base_url, transport=transport, timeout=60)


def login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """``POST /api/v1/auth/token/`` with a username and password."""
    return client.post(TOKEN, json={"username": username, "password": password})


def retry_after(response: httpx.Response) -> int:
    """A 429's ``Retry-After``: an integer number of seconds, at least 1."""
    assert_api_error(response, 429, "RATE_LIMITED")
    value = response.headers["retry-after"]
    assert value.isdigit() and int(value) >= 1, value
    return int(value)


def until_admitted(send: Callable[[], httpx.Response], timeout: float = 30.0) -> httpx.Response:
    """Send until the answer is not 429 (a bounded poll; a throttled attempt costs nothing)."""
    deadline = time.monotonic() + timeout
    while True:
        response = send()
        if response.status_code != 429:
            return response
        retry_after(response)
        assert time.monotonic() < deadline, "still throttled"
        time.sleep(0.1)


def post_from(port: int, address: str, body: dict[str, Any]) -> int:
    """One ``POST`` of the token endpoint on a fresh connection from ``address``; its status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(address, 0))
    try:
        conn.request("POST", TOKEN, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_healthz_answers_quickly_while_clients_flood_the_token_endpoint(
    login_server: ServerProcess, new_user: Callable[[], str]
) -> None:
    known = new_user()
    stop = threading.Event()
    counters: list[Counter[int]] = [Counter() for _ in range(6)]

    def flood(index: int) -> None:
        # Each attempt from a fresh address: the throttle never answers, the checks run.
        for n in range(1, 60_000):
            if stop.is_set():
                return
            username = known if n % 2 else f"nobody-{uuid.uuid4().hex[:8]}"
            address = f"127.{100 + index}.{n >> 8}.{(n & 255) or 1}"
            body = {"username": username, "password": WRONG}
            counters[index][post_from(login_server.port, address, body)] += 1

    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(6)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: all(counters))  # every client has had an answer: under way
        # One probe due every 20 ms, each timed from when it was due: a stall counts for
        # every probe it held up, not just the one that was waiting.
        latencies = []
        with httpx.Client(base_url=login_server.base_url, timeout=60) as probe:
            due = time.perf_counter()
            end = due + 4
            while due < end:
                assert probe.get("/healthz").status_code == 200
                latencies.append(time.perf_counter() - due)
                due += 0.02
                time.sleep(max(0.0, due - time.perf_counter()))
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    answers = sum(counters, Counter[int]())
    p90 = statistics.quantiles(latencies, n=10)[-1]
    assert p90 < 0.25, f"/healthz p90 {p90 * 1000:.0f} ms during the flood; answers {answers}"
    assert answers[401] >= 10, answers  # the flood's passwords were really checked
    assert set(answers) <= {401, 429, 503}, answers


def test_failed_passwords_back_off_growing_until_the_right_one_resets_them(
    login_server: ServerProcess, new_user: Callable[[], str]
) -> None:
    user = new_user()
    with client_from(login_server, "127.0.1.1") as client:
        for _ in range(PAIR_ALLOWANCE):
            assert_api_error(login(client, user, WRONG), 401, "UNAUTHORIZED")
        # The next attempt waits, even with the right password.
        assert retry_after(login(client, user, PASSWORD)) == 1
        assert_api_error(until_admitted(lambda: login(client, user, WRONG)), 401, "UNAUTHORIZED")
        failed_at = time.monotonic()
        # One more failure: the wait has doubled.
        assert retry_after(login(client, user, PASSWORD)) >= 2
        right = until_admitted(lambda: login(client, user, PASSWORD))
        assert time.monotonic() - failed_at > 1.0
        assert right.status_code == 200, right.text
        assert right.json()["token_type"] == "Bearer"
        # The success reset the counter: a whole allowance of failures again, then a wait.
        for _ in range(PAIR_ALLOWANCE):
            assert_api_error(login(client, user, WRONG), 401, "UNAUTHORIZED")
        assert retry_after(login(client, user, PASSWORD)) == 1


def test_another_address_is_not_locked_out_by_one_address_failures(
    login_server: ServerProcess, new_user: Callable[[], str]
) -> None:
    user = new_user()
    with client_from(login_server, "127.0.2.1") as attacker:
        for _ in range(PAIR_ALLOWANCE):
            assert_api_error(login(attacker, user, WRONG), 401, "UNAUTHORIZED")
        retry_after(login(attacker, user, PASSWORD))
    with client_from(login_server, "127.0.2.2") as owner:
        assert_api_error(login(owner, user, WRONG), 401, "UNAUTHORIZED")
        response = login(owner, user, PASSWORD)
        assert response.status_code == 200, response.text


@pytest.mark.slow
def test_many_addresses_throttle_a_username_but_not_an_address_it_logged_in_from(
    login_server: ServerProcess, new_user: Callable[[], str]
) -> None:
    user = new_user()
    with client_from(login_server, "127.0.3.1") as owner:
        assert login(owner, user, PASSWORD).status_code == 200
    per_address = PAIR_ALLOWANCE - 1  # every address stays within its own allowances
    addresses = [f"127.0.4.{i + 1}" for i in range(-(-USERNAME_ALLOWANCE // per_address))]
    # Four at a time: fewer than the password checks admitted at once, so none is refused.
    counters: list[Counter[int]] = [Counter() for _ in range(4)]

    def guess(index: int) -> None:
        for address in addresses[index::4]:
            for _ in range(per_address):
                body = {"username": user, "password": WRONG}
                counters[index][post_from(login_server.port, address, body)] += 1

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    statuses = sum(counters, Counter[int]())
    assert statuses[401] >= USERNAME_ALLOWANCE, statuses
    with client_from(login_server, "127.0.5.1") as stranger:
        retry_after(login(stranger, user, PASSWORD))  # the account waits for new addresses
    with client_from(login_server, "127.0.3.1") as owner:
        response = login(owner, user, PASSWORD)  # but not for the address it logged in from
        assert response.status_code == 200, response.text


def test_throttled_attempts_cost_no_password_check(login_server: ServerProcess) -> None:
    assert login_server.proc is not None
    server = psutil.Process(login_server.proc.pid)

    def cpu() -> float:
        times = server.cpu_times()
        return times.user + times.system

    ghost = f"ghost-{uuid.uuid4().hex[:8]}"  # unknown: checked against the dummy hash
    with client_from(login_server, "127.0.6.1") as client:
        before = cpu()
        for _ in range(PAIR_ALLOWANCE):
            assert_api_error(login(client, ghost, WRONG), 401, "UNAUTHORIZED")
        checked = (cpu() - before) / PAIR_ALLOWANCE
        before = cpu()
        for _ in range(40):
            retry_after(login(client, ghost, WRONG))
        throttled = (cpu() - before) / 40
    assert checked > 0.01, f"a checked attempt took {checked * 1000:.1f} ms of server CPU"
    assert throttled < checked / 10, (throttled, checked)


def test_an_address_past_its_allowance_is_refused_before_its_body_is_read(
    login_server: ServerProcess,
) -> None:
    with client_from(login_server, "127.0.9.1") as client:
        for i in range(ADDRESS_ALLOWANCE):
            response = until_admitted(lambda i=i: login(client, f"nobody-{i}", WRONG))
            assert_api_error(response, 401, "UNAUTHORIZED")
        # Not even JSON: refused for the address before the body would be parsed (a 400),
        # and held for a second first (a client ignoring Retry-After gets one answer a second).
        started = time.monotonic()
        refused = client.post(
            TOKEN, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        retry_after(refused)
        assert time.monotonic() - started >= HOLD_SECONDS * 0.9
        assert refused.headers["x-request-id"]
        assert refused.json()["request_id"] == refused.headers["x-request-id"]
        # The connection stays usable: the unread body was dealt with.
        assert client.get("/healthz").status_code == 200
    with client_from(login_server, "127.0.9.2") as other:
        bad = other.post(TOKEN, content=b"{not json", headers={"Content-Type": "application/json"})
        assert_api_error(bad, 400, "INVALID_REQUEST")


def test_failed_api_key_exchanges_are_throttled_per_address(
    login_server: ServerProcess, account: Credentials
) -> None:
    with client_from(login_server, "127.0.7.1") as client:
        for i in range(ADDRESS_ALLOWANCE):
            wrong = f"asd_{uuid.uuid4()}_not-the-secret-{i}"
            assert_api_error(client.post(TOKEN, json={"api_key": wrong}), 401, "UNAUTHORIZED")
        retry_after(client.post(TOKEN, json={"api_key": account.api_key}))
    with client_from(login_server, "127.0.7.2") as other:
        response = other.post(TOKEN, json={"api_key": account.api_key})
        assert response.status_code == 200, response.text


def test_the_address_is_the_forwarded_one_only_from_a_loopback_proxy(
    login_server: ServerProcess, new_user: Callable[[], str]
) -> None:
    user = new_user()

    def via(peer: str, forwarded_for: str, password: str) -> httpx.Response:
        with client_from(login_server, peer) as client:
            headers = {"X-Forwarded-For": forwarded_for}
            body = {"username": user, "password": password}
            return client.post(TOKEN, json=body, headers=headers)

    for _ in range(PAIR_ALLOWANCE):
        assert via("127.0.0.1", "203.0.113.5", WRONG).status_code == 401
    retry_after(via("127.0.0.1", "203.0.113.5", PASSWORD))  # uvicorn trusts 127.0.0.1
    assert via("127.0.0.1", "203.0.113.6", PASSWORD).status_code == 200
    # Any other peer's header is ignored: it is counted as itself.
    assert via("127.0.8.1", "203.0.113.5", PASSWORD).status_code == 200


def test_a_full_password_queue_answers_503_at_once(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env_overrides={"ASSURED_PASSWORD_CHECK_QUEUE": "0"}).start()
    try:
        gate = threading.Barrier(8)
        responses: list[httpx.Response] = []

        def attempt(index: int) -> None:
            with client_from(server, f"127.0.9.{index + 1}") as client:
                gate.wait(30)
                responses.append(login(client, f"nobody-{index}", WRONG))

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        server.stop()
    statuses = Counter(r.status_code for r in responses)
    assert statuses[401] >= 1 and statuses[503] >= 1, statuses
    refused = next(r for r in responses if r.status_code == 503)
    assert_api_error(refused, 503, "SERVICE_UNAVAILABLE")
    assert refused.headers["retry-after"].isdigit()
