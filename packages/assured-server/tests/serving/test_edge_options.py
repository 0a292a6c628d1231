"""The edge's settings: defaults, validation, and the options a worker receives."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from assured_server.config import Settings
from assured_server.serving.options import EdgeOptions


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults_and_the_options_a_worker_receives() -> None:
    options = EdgeOptions.from_settings(settings())
    assert options == EdgeOptions(
        header_timeout=10.0, body_timeout=30.0, keep_alive_timeout=5.0, max_connections=1000
    )
    assert options.tick == 5.0
    assert pickle.loads(pickle.dumps(options)) == options  # sent to spawned workers


@pytest.mark.parametrize(
    "values",
    [
        {"header_timeout": 0},
        {"body_timeout": -1},
        {"keep_alive_timeout": 3601},
        {"max_connections": 0},
        {"header_timeout": "soon"},
    ],
)
def test_invalid_values_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        settings(**values)
