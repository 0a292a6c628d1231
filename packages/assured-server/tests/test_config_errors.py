"""A refused setting names its ASSURED_ variable, the value given and what is allowed.

Run as an operator would: ``assured-server serve`` with a bad environment; it must exit non-zero
with one readable line per problem, no traceback, no pydantic wording or link, no secret.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from assured_testing import clean_env
from assured_testing.server import _server_bin

CASES = [
    # variable, value, what the message must contain besides the variable
    ("ASSURED_UPLOAD_URL_TTL", "5", ["'5'", ">= 60", "<= 604800"]),
    ("ASSURED_PORT", "abc", ["'abc'", "whole number", "<= 65535"]),
    ("ASSURED_STORAGE_BACKEND", "s4", ["'s4'", "'filesystem'", "'s3'"]),
    ("ASSURED_SWEEP_INTERVAL", "0", ["'0'", "> 0"]),
    ("ASSURED_LOG_LEVEL", "loud", ["'loud'", "'debug'", "'error'"]),
    ("ASSURED_MAX_EXPIRATION", "5x", ["'5x'", "m, h or d"]),
    ("ASSURED_BUCKET", "A", ["'A'", "lower-case letters"]),
    ("ASSURED_DATABASE_URL", "mysql://root:hunter2@db/x", ["postgresql+asyncpg://", "***"]),
]


def serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_server_bin(), "serve", *args],
        env=clean_env({"ASSURED_DATA_DIR": str(tmp_path / "var"), **env}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_plain(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    err = result.stderr
    assert err.startswith("configuration error: "), err
    for forbidden in ("Traceback", "pydantic", "errors.pydantic.dev", "input_type", "type="):
        assert forbidden not in err, err
    return err


@pytest.mark.parametrize(("variable", "value", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_refused_setting_names_variable_value_and_what_is_allowed(
    tmp_path: Path, variable: str, value: str, expected: list[str]
) -> None:
    err = assert_plain(serve(tmp_path, {variable: value}))
    assert f"{variable}=" in err, err
    assert "allowed:" in err, err
    for part in expected:
        assert part in err, (part, err)


def test_a_password_in_the_database_url_is_never_shown(tmp_path: Path) -> None:
    err = assert_plain(serve(tmp_path, {"ASSURED_DATABASE_URL": "mysql://root:hunter2@db/x"}))
    assert "hunter2" not in err, err


def test_a_secret_is_named_but_never_shown(tmp_path: Path) -> None:
    err = assert_plain(serve(tmp_path, {"ASSURED_JWT_SECRET": "tooshort-Zq9"}))
    assert "ASSURED_JWT_SECRET" in err and "32 bytes" in err, err
    assert "tooshort-Zq9" not in err, err


def test_a_command_line_option_is_named_as_such(tmp_path: Path) -> None:
    err = assert_plain(serve(tmp_path, {}, "--port", "99999"))
    assert "--port='99999'" in err and "<= 65535" in err, err


def test_settings_that_need_each_other_name_the_missing_variables(tmp_path: Path) -> None:
    err = assert_plain(serve(tmp_path, {"ASSURED_STORAGE_BACKEND": "s3"}))
    assert "ASSURED_S3_ENDPOINT_URL" in err and "ASSURED_S3_SECRET_ACCESS_KEY" in err, err


def test_every_problem_is_listed_one_per_line(tmp_path: Path) -> None:
    err = assert_plain(serve(tmp_path, {"ASSURED_PORT": "-1", "ASSURED_WORKERS": "0"}))
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert any("ASSURED_PORT='-1'" in line for line in lines), err
    assert any("ASSURED_WORKERS='0'" in line and ">= 1" in line for line in lines), err


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"ASSURED_JWT_ALGORITHM": "ES256", "ASSURED_JWT_PRIVATE_KEY_FILE": "/nonexistent.pem"},
            "ASSURED_JWT_PRIVATE_KEY_FILE='/nonexistent.pem': no such file",
        ),
        ({"ASSURED_JWT_PUBLIC_KEYS_DIR": "/nonexistent"}, "ASSURED_JWT_PUBLIC_KEYS_DIR="),
        ({"ASSURED_DATA_DIR": "/proc/no-such-dir"}, "ASSURED_DATA_DIR='/proc/no-such-dir'"),
    ],
    ids=["private-key-file", "public-keys-dir", "data-dir"],
)
def test_a_path_that_cannot_be_used_is_named(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    err = assert_plain(serve(tmp_path, env))
    assert expected in err and "allowed:" in err, err
