"""Content safety at start and under the default policies, with a real server and clamd.

- clamd's stream limit (4 MiB here) below ASSURED_MAX_UPLOAD_BYTES: the server refuses to start.
- clamd unreachable at start (the limit cannot be known): the server starts, not ready; once
  clamd is there, a file over its stream limit is rejected UNSCANNABLE, never passed as clean.
- Within the limit, and with the default policy, active PDFs are only flagged.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clamd_support import SIGNATURES
from safety_server_support import objects_of, ready_status, upload_v1, upload_v3
from server_helpers import Api, assert_api_error, make_api, pdf_bytes, wait_until
from test_safety_end_to_end import JS_PDF

from assured_testing import Clamd, ServerProcess, clamd_binary
from assured_testing.ports import free_port
from assured_testing.server import clean_env

MIB = 1 << 20
SERVER_BIN = str(Path(sys.executable).with_name("assured-server"))


def _serve_env(data_dir: Path, clamd: Clamd, max_upload: int) -> dict[str, str]:
    return clean_env(
        {
            "ASSURED_DATA_DIR": str(data_dir),
            "ASSURED_SCANNER": "clamav",
            "ASSURED_CLAMD_ADDRESS": f"unix://{clamd.socket_path}",
            "ASSURED_MAX_UPLOAD_BYTES": str(max_upload),
        }
    )


def test_server_refuses_to_start_when_clamds_stream_limit_is_below_the_upload_limit(
    tmp_path: Path, clamd: Clamd
) -> None:
    result = subprocess.run(  # noqa: S603 - our own entry point
        [SERVER_BIN, "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        env=_serve_env(tmp_path / "data", clamd, 8 * MIB),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert b"StreamMaxLength" in result.stderr and b"ASSURED_MAX_UPLOAD_BYTES" in result.stderr


@pytest.fixture(scope="module")
def flagging_api(tmp_path_factory: pytest.TempPathFactory, clamd: Clamd) -> Iterator[Api]:
    """A server (SQLite, its own storage) within clamd's limit, with the default PDF policy."""
    data = tmp_path_factory.mktemp("flagging")
    env = _serve_env(data, clamd, 2 * MIB)
    del env["ASSURED_DATA_DIR"]
    overrides = {k: v for k, v in env.items() if k.startswith("ASSURED_")}
    server = ServerProcess(data, env_overrides=overrides).start()
    api = make_api(server, server.new_account("flagging"))
    yield api
    api.client.close()
    server.stop()


def test_under_the_default_policy_active_pdfs_are_flagged_and_kept(flagging_api: Api) -> None:
    status, file = upload_v3(flagging_api, "form.pdf", "application/pdf", JS_PDF)
    assert status == 204 and file["status"] == "available", file
    assert file["contentFlags"] == ["pdf_auto_action", "pdf_javascript"]
    assert file["scan"]["status"] == "clean"

    response = upload_v1(flagging_api, "form.pdf", "application/pdf", JS_PDF)
    assert response.status_code == 201, response.text
    assert response.json()["content_flags"] == ["pdf_auto_action", "pdf_javascript"]

    # A file within the limit is scanned whole; an upload over ASSURED_MAX_UPLOAD_BYTES is 413.
    response = upload_v1(flagging_api, "big.pdf", "application/pdf", pdf_bytes(3 * MIB))
    assert response.status_code == 413, response.text


def test_a_file_over_the_stream_limit_clamd_did_not_tell_at_start_is_unscannable(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    binary = clamd_binary()
    if binary is None:
        pytest.skip("clamd is not installed (Debian package clamav-daemon; CI installs it)")
    late = Clamd(tmp_path_factory.mktemp("clamd-late"), SIGNATURES, binary)  # 4 MiB limit
    data = tmp_path_factory.mktemp("late")
    env = _serve_env(data, late, 8 * MIB)
    overrides = {k: v for k, v in env.items() if k.startswith("ASSURED_")}
    server = ServerProcess(data, env_overrides=overrides).start()  # clamd not there yet
    try:
        api = make_api(server, server.new_account("late"))
        assert ready_status(api) == 503
        late.start()
        wait_until(lambda: ready_status(api) == 200, 30)
        over = pdf_bytes(5 * MIB)
        status, file = upload_v3(api, "long.pdf", "application/pdf", over)
        assert status == 400, file
        assert file["status"] == "rejected" and file["rejectionReason"] == "UNSCANNABLE", file
        assert file["scan"]["status"] == "skipped" and objects_of(api, file["id"]) == []
        response = upload_v1(api, "long.pdf", "application/pdf", over)
        assert_api_error(response, 400, "UNSCANNABLE", field="file")
        # Under the limit the same server scans and accepts.
        status, file = upload_v3(api, "short.pdf", "application/pdf", pdf_bytes(MIB))
        assert status == 204 and file["status"] == "available" and file["scan"]["status"] == "clean"
        api.client.close()
    finally:
        server.stop()
        late.stop()
