"""Fixtures shared by the server tests: a real server process and accounts on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import TEST_MAX_UPLOAD, Api, make_api

from assured_server.testing import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server process for the whole session (embedded default: SQLite + files)."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("server"),
        env_overrides={"ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD)},
    ).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def api(server: ServerProcess) -> Iterator[Api]:
    """The main test account on the session server."""
    client = make_api(server, server.new_account("main"))
    yield client
    client.client.close()


@pytest.fixture(scope="session")
def other_api(server: ServerProcess) -> Iterator[Api]:
    """A second account, to prove isolation."""
    client = make_api(server, server.new_account("other"))
    yield client
    client.client.close()
