"""Fixtures for the content-safety tests: private clamd processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clamd_support import SIGNATURES

from assured_testing import Clamd, clamd_binary


def _binary() -> str:
    binary = clamd_binary()
    if binary is None:
        pytest.skip("clamd is not installed (Debian package clamav-daemon; CI installs it)")
    return binary


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    """A clamd with a 4 MiB stream limit, shared by the tests that leave it running."""
    daemon = Clamd(tmp_path_factory.mktemp("clamd"), SIGNATURES, _binary()).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def private_clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    """A clamd of one test's own, which that test may stop and start again."""
    daemon = Clamd(tmp_path_factory.mktemp("clamd-own"), SIGNATURES, _binary()).start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def roomy_clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    """A clamd whose stream limit (64 MiB) takes a 50 MiB file."""
    base = tmp_path_factory.mktemp("clamd-roomy")
    daemon = Clamd(base, SIGNATURES, _binary(), stream_max_length="64M").start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def module_clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    """A clamd of one module's own (16 MiB stream limit), which its tests may stop and start."""
    base = tmp_path_factory.mktemp("clamd-mod")
    daemon = Clamd(base, SIGNATURES, _binary(), stream_max_length="16M").start()
    yield daemon
    daemon.stop()
