"""Settings: ``ASSURED_CORS_ORIGINS`` is read as the browser writes origins, or refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assured_server.config import ConfigError, Settings, load_settings, parse_origins
from assured_testing import clean_env


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("", []),
        (" , ", []),
        ("*", ["*"]),
        ("https://app.example.com", ["https://app.example.com"]),
        ("HTTPS://App.Example.COM:443", ["https://app.example.com"]),
        ("http://localhost:3000, http://localhost:3000", ["http://localhost:3000"]),
        ("http://127.0.0.1:80,https://[::1]:8443", ["http://127.0.0.1", "https://[::1]:8443"]),
    ],
)
def test_origins_are_kept_the_way_browsers_send_them(value: str, origins: list[str]) -> None:
    assert parse_origins(value) == origins
    assert list(Settings(cors_origins=value).cors_origin_list) == origins


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com/",
        "https://app.example.com/app",
        "app.example.com",
        "ftp://app.example.com",
        "https://user@app.example.com",
        "https://app.example.com:99999",
        "https://app.example.com?x=1",
        "null",
        "https://app example.com",
        "*, https://app.example.com",
    ],
)
def test_anything_but_origins_is_refused_naming_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ASSURED_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASSURED_CORS_ORIGINS", value)
    with pytest.raises(ConfigError, match="ASSURED_CORS_ORIGINS"):
        load_settings()


def test_serve_refuses_to_start_with_a_bad_origin(tmp_path: Path) -> None:
    server = Path(sys.executable).with_name("assured-server")
    result = subprocess.run(  # noqa: S603 - our own entry point
        [str(server), "serve", "--port", "0"],
        env=clean_env(
            {"ASSURED_DATA_DIR": str(tmp_path), "ASSURED_CORS_ORIGINS": "https://a.example/x"}
        ),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert b"ASSURED_CORS_ORIGINS" in result.stderr
