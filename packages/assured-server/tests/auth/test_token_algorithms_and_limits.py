"""Key-pair JWTs (ES256 with a kid, rotation) and the per-token rate limit, on real servers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from assured_testing import ServerProcess


def _write_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


@pytest.fixture
def es256_dirs(tmp_path: Path) -> Iterator[tuple[Path, Path, ec.EllipticCurvePrivateKey]]:
    keys = tmp_path / "keys"
    keys.mkdir()
    old = _write_key(tmp_path / "old.pem")
    (keys / "old.pem").write_bytes(
        old.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    _write_key(tmp_path / "new.pem")
    yield tmp_path / "new.pem", keys, old


def test_es256_tokens_carry_a_kid_and_earlier_keys_still_verify(
    tmp_path: Path, es256_dirs: tuple[Path, Path, ec.EllipticCurvePrivateKey]
) -> None:
    private, public_dir, old_key = es256_dirs
    server = ServerProcess(
        tmp_path / "data",
        env_overrides={
            "ASSURED_JWT_ALGORITHM": "ES256",
            "ASSURED_JWT_PRIVATE_KEY_FILE": str(private),
            "ASSURED_JWT_KEY_ID": "new",
            "ASSURED_JWT_PUBLIC_KEYS_DIR": str(public_dir),
        },
    ).start()
    try:
        creds = server.new_account("es")
        token = server.token(creds)
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "new", "typ": "JWT"}
        files = f"{server.base_url}/v3/accounts/{creds.account_id}/files"
        assert httpx.get(files, headers={"Authorization": f"Bearer {token}"}).status_code == 200

        claims = jwt.decode(token, options={"verify_signature": False})
        rotated = jwt.encode(claims, old_key, algorithm="ES256", headers={"kid": "old"})
        assert httpx.get(files, headers={"Authorization": f"Bearer {rotated}"}).status_code == 200
        unknown = jwt.encode(claims, old_key, algorithm="ES256", headers={"kid": "gone"})
        assert httpx.get(files, headers={"Authorization": f"Bearer {unknown}"}).status_code == 401
        hs = jwt.encode(claims, "an-attacker-chosen-secret-of-enough-length", algorithm="HS256")
        assert httpx.get(files, headers={"Authorization": f"Bearer {hs}"}).status_code == 401
    finally:
        server.stop()


def test_requests_over_the_per_minute_limit_get_429_with_retry_after(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data", env_overrides={"ASSURED_RATE_LIMIT_PER_MINUTE": "5"}
    ).start()
    try:
        creds = server.new_account("limited")
        headers = {"Authorization": f"Bearer {server.token(creds)}"}
        files = f"{server.base_url}/v3/accounts/{creds.account_id}/files"
        window = int(time.time() // 60)
        statuses = [httpx.get(files, headers=headers).status_code for _ in range(6)]
        if int(time.time() // 60) != window:
            pytest.skip("the minute turned during the burst; the count restarted")
        assert statuses == [200] * 5 + [429]
        limited = httpx.get(files, headers=headers)
        assert limited.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        other = server.new_account("other")
        other_headers = {"Authorization": f"Bearer {server.token(other)}"}
        other_files = f"{server.base_url}/v3/accounts/{other.account_id}/files"
        assert httpx.get(other_files, headers=other_headers).status_code == 200
    finally:
        server.stop()


def test_an_unknown_assured_variable_stops_the_server_at_start(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env_overrides={"ASSURED_MAX_UPLOAD_BYTE": "5"})
    with pytest.raises(RuntimeError, match="ASSURED_MAX_UPLOAD_BYTE"):
        server.start()


def test_a_short_jwt_secret_is_refused_at_start(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env_overrides={"ASSURED_JWT_SECRET": "short"})
    with pytest.raises(RuntimeError, match="at least 32 bytes"):
        server.start()
