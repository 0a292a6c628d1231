"""Real S3 clients interoperate with the embedded storage: boto3 policies and URLs, both ways."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.auth
import botocore.signers
import httpx
import pytest
from botocore.config import Config
from server_helpers import TEST_MAX_UPLOAD, Api, pdf_bytes, sha256

from assured_testing import ServerProcess

# These tests are about the server's own S3-protocol endpoints (the filesystem backend).
pytestmark = pytest.mark.usefixtures("embedded_storage")


def _s3(server: ServerProcess) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=f"{server.base_url}/storage",
        region_name="us-east-1",
        aws_access_key_id=(server.data_dir / "s3_access_key_id").read_text().strip(),
        aws_secret_access_key=(server.data_dir / "s3_secret_access_key").read_text().strip(),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def test_a_boto3_post_policy_is_accepted_by_the_storage_endpoint(api: Api) -> None:
    ticket = api.created("report.pdf", "application/pdf")
    post = _s3(api.server).generate_presigned_post(
        Bucket="assured-files",
        Key=ticket["fields"]["key"],
        Fields={"Content-Type": "application/pdf"},
        Conditions=[
            {"Content-Type": "application/pdf"},
            ["content-length-range", 1, TEST_MAX_UPLOAD],
        ],
        ExpiresIn=600,
    )
    assert post["url"] == f"{api.server.base_url}/storage/assured-files"
    content = pdf_bytes(20_000)
    response = httpx.post(
        post["url"], data=post["fields"], files={"file": ("report.pdf", content)}, timeout=30
    )
    assert response.status_code == 204, response.text
    file = api.get_file(ticket["id"]).json()
    assert file["status"] == "available"
    assert file["sha256"] == sha256(content)


def test_a_boto3_policy_for_the_wrong_content_type_is_refused(api: Api) -> None:
    ticket = api.created("report.pdf", "application/pdf")
    post = _s3(api.server).generate_presigned_post(
        Bucket="assured-files",
        Key=ticket["fields"]["key"],
        Fields={"Content-Type": "image/png"},
        Conditions=[{"Content-Type": "image/png"}],
        ExpiresIn=600,
    )
    response = httpx.post(post["url"], data=post["fields"], files={"file": ("r.pdf", pdf_bytes())})
    assert response.status_code == 403
    assert api.get_file(ticket["id"]).json()["status"] == "pending"


def test_our_download_url_equals_boto3s_for_the_same_clock(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "Résumé scan (final) ~v2+.pdf"
    ticket = api.created(name, "application/pdf")
    assert api.post_form(ticket, pdf_bytes()).status_code == 204
    ours = api.download_url(ticket["id"], expiresIn=900).json()["url"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(ours).query).items()}
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: signed_at)
    monkeypatch.setattr(botocore.signers, "get_current_datetime", lambda *a, **k: signed_at)
    theirs = _s3(api.server).generate_presigned_url(
        "get_object",
        Params={
            "Bucket": "assured-files",
            "Key": f"files/{ticket['id']}",
            "ResponseCacheControl": query["response-cache-control"],
            "ResponseContentDisposition": query["response-content-disposition"],
            "ResponseContentType": query["response-content-type"],
        },
        ExpiresIn=int(query["X-Amz-Expires"]),
    )
    assert ours == theirs
    assert query["response-content-disposition"].startswith(
        "attachment; filename*=UTF-8''R%C3%A9sum"
    )


def test_a_boto3_presigned_get_downloads_the_file(api: Api) -> None:
    content = pdf_bytes(50_000)
    ticket = api.created()
    assert api.post_form(ticket, content).status_code == 204
    url = _s3(api.server).generate_presigned_url(
        "get_object",
        Params={"Bucket": "assured-files", "Key": f"files/{ticket['id']}"},
        ExpiresIn=60,
    )
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-disposition"].startswith("attachment")
