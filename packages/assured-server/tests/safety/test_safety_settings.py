"""The content-safety settings: defaults as documented, bad values refused naming the variable."""

from __future__ import annotations

import pytest

from assured_server.config import ConfigError, Settings, check_unknown_variables, load_settings


def test_defaults_scan_nothing_and_only_flag() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.scanner == "none"
    assert settings.clamd_address == "unix:///var/run/clamav/clamd.ctl"
    assert settings.pdf_active_content == "flag"
    assert settings.max_image_pixels == 100_000_000


def test_variables_are_known_names() -> None:
    check_unknown_variables(
        {
            "ASSURED_SCANNER": "clamav",
            "ASSURED_CLAMD_ADDRESS": "tcp://127.0.0.1:3310",
            "ASSURED_PDF_ACTIVE_CONTENT": "reject",
            "ASSURED_MAX_IMAGE_PIXELS": "1000",
        }
    )


def test_values_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSURED_SCANNER", "clamav")
    monkeypatch.setenv("ASSURED_CLAMD_ADDRESS", "tcp://[::1]:3310")
    monkeypatch.setenv("ASSURED_PDF_ACTIVE_CONTENT", "reject")
    monkeypatch.setenv("ASSURED_MAX_IMAGE_PIXELS", "25000000")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.scanner, settings.clamd_address) == ("clamav", "tcp://[::1]:3310")
    assert (settings.pdf_active_content, settings.max_image_pixels) == ("reject", 25_000_000)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ASSURED_CLAMD_ADDRESS", "/run/clamd.ctl", "must start with unix:// or tcp://"),
        ("ASSURED_CLAMD_ADDRESS", "tcp://clamd", "must look like tcp://host:port"),
        ("ASSURED_SCANNER", "clamd", "Input should be 'none' or 'clamav'"),
        ("ASSURED_PDF_ACTIVE_CONTENT", "strip", "allowed: one of 'flag', 'reject'"),
        ("ASSURED_MAX_IMAGE_PIXELS", "0", "allowed: a whole number >= 1"),
    ],
)
def test_bad_values_stop_the_start_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("ASSURED_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    message = str(raised.value)
    assert message.startswith(f"{variable}={value!r}: "), message
    assert named in message
