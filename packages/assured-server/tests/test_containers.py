"""The Dockerfile and compose.yaml, tested without images (none can be pulled here).

- The server runs with exactly the compose file's environment for the server service (and the
  Dockerfile's ``ENV``), hosts replaced by the local PostgreSQL (a private database) and a
  private SeaweedFS, from a virtual environment made by the Dockerfile's own ``uv sync``; its
  ``HEALTHCHECK`` passes, ``/readyz`` is 200 and an upload goes through.
- The Dockerfile's ENTRYPOINT, CMD and HEALTHCHECK are what the README and docs/deploy.md say,
  its COPY sources exist, it runs as a non-root user with the data dir as a volume.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from demo_support import DemoServer, start
from server_helpers import create_postgres_database, drop_postgres_database
from sqlalchemy import make_url

from assured_testing import SeaweedFS, free_port

ROOT = Path(__file__).resolve().parents[3]


def dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), " ".join(rest.split())))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    pairs = dockerfile()
    last_from = max(i for i, (word, _) in enumerate(pairs) if word == "FROM")
    return pairs[last_from:]


def exec_form(instruction: str) -> list[str]:
    (args,) = [rest for word, rest in final_stage() if word == instruction]
    parsed: list[str] = json.loads(args)
    return parsed


def healthcheck() -> list[str]:
    (args,) = [rest for word, rest in final_stage() if word == "HEALTHCHECK"]
    command = args.split(" CMD ", 1)[1]
    parsed: list[str] = json.loads(command)
    return parsed


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in final_stage():
        if word == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?message}``."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return arg or ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


# What a .env next to compose.yaml would hold (the test's own values).
DOT_ENV = {"POSTGRES_PASSWORD": "pw-test", "S3_ACCESS_KEY": "AKX", "S3_SECRET_KEY": "sk-test"}


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build stage replayed: its COPY lines into an empty folder, then its ``uv sync`` lines
    there in order (from uv's cache, offline), into a virtual environment of the test's own.

    So the build needs no file the Dockerfile does not copy (a workspace member, a README).
    """
    pairs = dockerfile()
    froms = [i for i, (word, _) in enumerate(pairs) if word == "FROM"]
    build = pairs[froms[0] : froms[1]]
    base = tmp_path_factory.mktemp("image")
    workdir, venv = base / "src", base / "venv"
    workdir.mkdir()
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_OFFLINE": "1"}
    env.pop("VIRTUAL_ENV", None)
    ran = 0
    for word, rest in build:
        if word == "COPY" and not rest.startswith("--from"):
            *sources, dest = rest.split()
            for source in sources:
                origin = ROOT / source
                if origin.is_dir():  # its contents, merged into dest, as Docker does
                    shutil.copytree(
                        origin,
                        workdir / dest,
                        ignore=shutil.ignore_patterns("__pycache__"),
                        dirs_exist_ok=True,
                    )
                else:
                    target = workdir / dest / origin.name if dest.endswith("/") else workdir / dest
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target)
        elif word == "RUN" and rest.startswith("uv sync"):
            result = subprocess.run(
                [uv, *shlex.split(rest)[1:]],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert result.returncode == 0, (rest, result.stderr)
            ran += 1
    assert ran >= 1
    return venv


@pytest.fixture
def compose_server(
    image_venv: Path, seaweedfs: SeaweedFS, tmp_path: Path
) -> Iterator[tuple[DemoServer, dict[str, str]]]:
    service = compose()["services"]["server"]
    env = {
        **image_env(),
        **{k: interpolate(str(v), DOT_ENV) for k, v in service["environment"].items()},
    }
    assert all(
        name.startswith("ASSURED_") for name in env if name not in ("PATH", "PYTHONUNBUFFERED")
    )

    # The hosts: a private database on the local PostgreSQL, the private SeaweedFS, loopback.
    database = create_postgres_database()
    url = make_url(env["ASSURED_DATABASE_URL"])
    assert url.drivername == "postgresql+asyncpg" and url.host == "postgres"
    local = make_url(database)
    env["ASSURED_DATABASE_URL"] = url.set(
        username=local.username,
        password=local.password,
        host=local.host,
        port=local.port,
        database=local.database,
    ).render_as_string(hide_password=False)
    bucket = env["ASSURED_BUCKET"]
    weed = compose()["services"]["seaweedfs"]
    assert f"-bucket={bucket}" in weed["command"]  # the store makes the server's bucket
    seaweedfs.create_bucket(bucket)
    assert env["ASSURED_S3_ENDPOINT_URL"] == "http://seaweedfs:8333"
    env["ASSURED_S3_ENDPOINT_URL"] = seaweedfs.endpoint
    assert env["ASSURED_S3_ACCESS_KEY_ID"] == DOT_ENV["S3_ACCESS_KEY"]
    env["ASSURED_S3_ACCESS_KEY_ID"] = seaweedfs.access_key
    env["ASSURED_S3_SECRET_ACCESS_KEY"] = seaweedfs.secret_key
    port = free_port()
    assert env["ASSURED_HOST"] == "0.0.0.0" and env["ASSURED_PORT"] == "8000"
    env["ASSURED_HOST"], env["ASSURED_PORT"] = "127.0.0.1", str(port)
    env["ASSURED_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    assert env["ASSURED_DATA_DIR"] == "/data"
    env["ASSURED_DATA_DIR"] = str(tmp_path / "data")
    env["PATH"] = env["PATH"].replace("/app/.venv", str(image_venv))

    command = [*exec_form("ENTRYPOINT"), *exec_form("CMD")]
    server = start(command, env, tmp_path / "logs", port)
    try:
        yield server, env
    finally:
        server.stop()
        drop_postgres_database(database)


def test_the_server_runs_with_the_compose_environment(
    compose_server: tuple[DemoServer, dict[str, str]], image_venv: Path, tmp_path: Path
) -> None:
    server, env = compose_server
    # The image's HEALTHCHECK, as Docker would run it (python of the image's PATH).
    probe = subprocess.run(healthcheck(), env=env, capture_output=True, timeout=30, check=False)
    assert probe.returncode == 0, probe.stderr
    assert httpx.get(f"{server.base_url}/readyz", timeout=10).status_code == 200

    def admin(*args: str) -> dict[str, Any]:
        result = subprocess.run(
            ["assured-server", "admin", *args, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    account = admin("create-account", "--name", "compose")["id"]
    key = admin("create-api-key", "--account", account)["api_key"]
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        token = client.post("/api/v1/auth/token/", json={"api_key": key}).json()["access"]
        client.headers["Authorization"] = f"Bearer {token}"
        ticket = client.post(
            f"/v3/accounts/{account}/files", json={"fileName": "a.txt", "contentType": "text/plain"}
        ).json()
        assert ticket["uploadUrl"].startswith(env["ASSURED_S3_ENDPOINT_URL"]), ticket
        posted = httpx.post(
            ticket["uploadUrl"],
            data=ticket["fields"],
            files={"file": ("a.txt", b"hi\n")},
            timeout=30,
        )
        assert posted.is_success, posted.text
        done = client.post(f"/v3/accounts/{account}/files/{ticket['id']}/complete")
        assert done.json()["status"] == "available", done.text
        url = client.get(f"/v3/accounts/{account}/files/{ticket['id']}/download-url").json()["url"]
        assert httpx.get(url, timeout=30).content == b"hi\n"


def test_the_dockerfile_is_what_the_docs_say() -> None:
    pairs = dockerfile()
    assert sum(word == "FROM" for word, _ in pairs) >= 2, "multi-stage"
    runs = [rest for word, rest in pairs if word == "RUN" and rest.startswith("uv sync")]
    assert runs and all("--frozen" in run and "--no-dev" in run for run in runs), runs
    # Every COPY from the build context names a path of the repository.
    for word, rest in pairs:
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    users = [rest for word, rest in final_stage() if word == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    env = image_env()
    volumes = json.loads(next(rest for word, rest in final_stage() if word == "VOLUME"))
    assert env["ASSURED_DATA_DIR"] in volumes
    # No curl in a slim image: the health check is Python, on /healthz.
    check = healthcheck()
    assert check[0] == "python" and "/healthz" in check[-1], check
    command = " ".join([*exec_form("ENTRYPOINT"), *exec_form("CMD")])
    assert command == "assured-server serve"
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    containers = deploy.split("## Containers", 1)[1].split("\n## ", 1)[0]
    assert f"```sh\n{command}\n```" in containers
    # The HEALTHCHECK command, verbatim, as a shell line.
    assert f'{check[0]} {check[1]} "{check[2]}"' in containers, check
    documented_sync = "uv sync --frozen --no-dev --package assured-server --extra s3"
    assert documented_sync in containers
    assert all(run.startswith(documented_sync) for run in runs), runs
    readme = (ROOT / "README.md").read_text()
    assert "assured-server serve" in readme
    assert "Dockerfile" in readme and "compose.yaml" in readme
    assert "docker compose up" in containers


def test_compose_sets_only_known_settings() -> None:
    from assured_server.config import check_unknown_variables

    service = compose()["services"]["server"]
    env = {k: interpolate(str(v), DOT_ENV) for k, v in service["environment"].items()}
    check_unknown_variables(env)
    documented = (ROOT / "docs" / "deploy.md").read_text()
    for name in env:
        assert f"`{name}`" in documented or name in documented, name


def test_the_build_context_leaves_out_secrets_and_local_environments() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for private in (".env", "var", ".venv", ".git"):
        assert private in ignored, private
    for word, rest in dockerfile():
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _ = rest.split()
            for source in sources:
                assert source.split("/")[0] not in ignored, source
