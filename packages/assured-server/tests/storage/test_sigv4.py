"""SigV4 signing and verification, with boto3 and botocore as the oracle of what S3 expects."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.signers
import pytest
from botocore.config import Config

from assured_server.s3_protocol.sigv4 import (
    Credentials,
    PostPolicy,
    PresignedRequest,
    SigV4Error,
    presign_post,
    presign_url,
    verify_post,
    verify_presigned_url,
)

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDS = Credentials(ACCESS_KEY, SECRET, "us-east-1")
NOW = datetime(2026, 1, 15, 10, 30, 0, tzinfo=UTC)
ENDPOINT = "http://127.0.0.1:8080/storage"
BUCKET = "assured-files"
MAX_SIZE = 104_857_600
RESPONSE_PARAMS = {
    "ResponseContentType": "application/pdf",
    "ResponseContentDisposition": "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
    "ResponseCacheControl": "private",
}
# boto3 parameter name -> the query parameter it becomes.
QUERY_NAMES = {
    "ResponseContentType": "response-content-type",
    "ResponseContentDisposition": "response-content-disposition",
    "ResponseCacheControl": "response-cache-control",
}


def creds_for(access_key_id: str) -> Credentials | None:
    return CREDS if access_key_id == ACCESS_KEY else None


@pytest.fixture
def frozen_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make botocore sign at NOW (it reads a naive UTC clock through get_current_datetime)."""

    def clock(remove_tzinfo: bool = True) -> datetime:
        return NOW.replace(tzinfo=None) if remove_tzinfo else NOW

    monkeypatch.setattr(botocore.auth, "get_current_datetime", clock)
    monkeypatch.setattr(botocore.signers, "get_current_datetime", clock)


@pytest.fixture(scope="module")
def s3_client() -> Iterator[Any]:
    client = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET, region_name="us-east-1"
    ).client(
        "s3",
        endpoint_url=ENDPOINT,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    yield client
    client.close()


def botocore_signature(string_to_sign: str, amz_date: str) -> str:
    """The signature botocore's own SigV4 key derivation makes for ``string_to_sign``."""
    auth = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(ACCESS_KEY, SECRET), "s3", "us-east-1"
    )
    request = botocore.awsrequest.AWSRequest()
    request.context["timestamp"] = amz_date
    signature: str = auth.signature(string_to_sign, request)
    return signature


def our_fields(**overrides: Any) -> dict[str, str]:
    """A POST form as the API hands it out: bucket, Content-Type and a size range."""
    args: dict[str, Any] = {
        "bucket": BUCKET,
        "key": "uploads/0192aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee",
        "fields": {"bucket": BUCKET, "Content-Type": "application/pdf"},
        "conditions": [{"Content-Type": "application/pdf"}, ["content-length-range", 1, MAX_SIZE]],
        "expires_in": 900,
        "now": NOW,
    } | overrides
    return presign_post(CREDS, **args)


def signed_form(document: object, *, policy: str | None = None, **fields: str) -> dict[str, str]:
    """A form whose policy is ``document`` (or the raw ``policy``), signed by botocore."""
    if policy is None:
        policy = base64.b64encode(json.dumps(document).encode()).decode()
    return {
        "key": "uploads/x",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": f"{ACCESS_KEY}/20260115/us-east-1/s3/aws4_request",
        "x-amz-date": "20260115T103000Z",
        "policy": policy,
        "x-amz-signature": botocore_signature(policy, "20260115T103000Z"),
    } | fields


def policy_with(*conditions: object, omit: str = "") -> dict[str, object]:
    """A policy pinning the fields of ``signed_form`` (but ``omit``), then ``conditions``."""
    pinned = {
        "bucket": BUCKET,
        "key": "uploads/x",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": f"{ACCESS_KEY}/20260115/us-east-1/s3/aws4_request",
        "x-amz-date": "20260115T103000Z",
    }
    return {
        "expiration": "2026-01-15T10:45:00Z",
        "conditions": [{k: v} for k, v in pinned.items() if k != omit] + list(conditions),
    }


def post_error(form: dict[str, str], *, bucket: str = BUCKET, now: datetime = NOW) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        verify_post(creds_for, form, bucket=bucket, now=now)
    return caught.value


# --- presign_post ------------------------------------------------------------------------------


def test_presign_post_returns_the_contract_fields_in_order() -> None:
    fields = our_fields()

    assert list(fields) == [
        "bucket",
        "Content-Type",
        "key",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "Policy",
        "X-Amz-Signature",
    ]
    assert fields["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["X-Amz-Credential"] == f"{ACCESS_KEY}/20260115/us-east-1/s3/aws4_request"
    assert fields["X-Amz-Date"] == "20260115T103000Z"


def test_presign_post_policy_has_boto3s_conditions_and_a_millisecond_expiration(
    s3_client: Any, frozen_botocore: None
) -> None:
    conditions: list[Any] = [{"Content-Type": "application/pdf"}, ["content-length-range", 1, 9]]
    ours = json.loads(base64.b64decode(our_fields(conditions=conditions)["Policy"]))
    theirs_fields = s3_client.generate_presigned_post(
        BUCKET,
        "uploads/0192aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee",
        Fields={"Content-Type": "application/pdf"},
        Conditions=conditions,
        ExpiresIn=900,
    )["fields"]
    theirs = json.loads(base64.b64decode(theirs_fields["policy"]))

    assert ours["conditions"] == theirs["conditions"]
    assert ours["expiration"] == "2026-01-15T10:45:00.000Z"
    assert theirs["expiration"] == "2026-01-15T10:45:00Z"


def test_presign_post_signature_is_botocores_signature_of_our_policy() -> None:
    fields = our_fields()

    assert fields["X-Amz-Signature"] == botocore_signature(fields["Policy"], "20260115T103000Z")


def test_presign_post_escapes_json_in_keys_and_conditions() -> None:
    key = 'uploads/"quoted"\\é'
    conditions = [{"Content-Type": "application/pdf"}, ["starts-with", "$x-amz-meta-note", 'a"b']]
    fields = our_fields(key=key, conditions=conditions)
    document = json.loads(base64.b64decode(fields["Policy"]))

    assert {"key": key} in document["conditions"]
    assert ["starts-with", "$x-amz-meta-note", 'a"b'] in document["conditions"]
    form = fields | {"x-amz-meta-note": 'a"b and more'}
    assert verify_post(creds_for, form, bucket=BUCKET, now=NOW).fields["key"] == key


# --- verify_post: what passes ------------------------------------------------------------------


def test_verify_post_accepts_our_fields_and_reports_what_to_enforce() -> None:
    policy = verify_post(creds_for, our_fields(), bucket=BUCKET, now=NOW)

    assert isinstance(policy, PostPolicy)
    assert policy.access_key_id == ACCESS_KEY
    assert policy.content_length_range == (1, MAX_SIZE)
    assert policy.expiration == NOW + timedelta(minutes=15)
    assert policy.fields["content-type"] == "application/pdf"
    assert policy.fields["key"] == "uploads/0192aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"


def test_verify_post_accepts_boto3s_form_and_our_signature_of_its_policy_is_boto3s(
    s3_client: Any, frozen_botocore: None
) -> None:
    theirs = s3_client.generate_presigned_post(
        BUCKET,
        "uploads/x",
        Fields={"Content-Type": "image/png", "success_action_status": "201"},
        Conditions=[
            {"Content-Type": "image/png"},
            {"success_action_status": "201"},
            ["content-length-range", 10, 20],
        ],
        ExpiresIn=60,
    )["fields"]

    policy = verify_post(creds_for, theirs, bucket=BUCKET, now=NOW + timedelta(seconds=59))

    # Accepted means that our HMAC of boto3's exact policy string is boto3's signature.
    assert policy.access_key_id == ACCESS_KEY
    assert policy.content_length_range == (10, 20)
    assert policy.fields["success_action_status"] == "201"


def test_verify_post_field_names_are_case_insensitive() -> None:
    fields = our_fields()
    shouted = {name.upper(): value for name, value in fields.items()}
    lowered = {name.lower(): value for name, value in fields.items()}

    assert verify_post(creds_for, shouted, bucket=BUCKET, now=NOW).fields == lowered


def test_verify_post_allows_file_and_x_ignore_fields_without_conditions() -> None:
    form = our_fields() | {"file": "ignored", "X-Ignore-Tracking": "1"}

    verify_post(creds_for, form, bucket=BUCKET, now=NOW)


def test_verify_post_accepts_the_last_second_and_refuses_the_next() -> None:
    expiration = NOW + timedelta(minutes=15)

    verify_post(creds_for, our_fields(), bucket=BUCKET, now=expiration)
    error = post_error(our_fields(), now=expiration + timedelta(seconds=1))
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == "Invalid according to Policy: Policy expired."


def test_verify_post_intersects_several_length_ranges() -> None:
    document = policy_with(["content-length-range", 0, 100], ["content-length-range", "5", 200])

    policy = verify_post(creds_for, signed_form(document), bucket=BUCKET, now=NOW)

    assert policy.content_length_range == (5, 100)


def test_verify_post_treats_an_absent_field_as_empty() -> None:
    document = policy_with(["starts-with", "$x-amz-meta-tag", ""], {"x-amz-meta-other": ""})

    verify_post(creds_for, signed_form(document), bucket=BUCKET, now=NOW)
    with_value = signed_form(policy_with(["eq", "$x-amz-meta-tag", "v"]))
    assert post_error(with_value).code == "AccessDenied"


# --- verify_post: what fails, in S3's order ----------------------------------------------------


def test_verify_post_without_policy_is_an_anonymous_post_and_denied() -> None:
    form = our_fields()
    del form["Policy"]

    error = post_error(form)

    assert (error.code, error.status) == ("AccessDenied", 403)


@pytest.mark.parametrize(
    "missing", ["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Algorithm", "X-Amz-Date", "key"]
)
def test_verify_post_without_a_required_field_is_invalid_argument(missing: str) -> None:
    form = our_fields()
    del form[missing]

    error = post_error(form)

    assert (error.code, error.status) == ("InvalidArgument", 400)
    assert missing.lower() in error.message


def test_verify_post_with_two_spellings_of_one_field_is_invalid_argument() -> None:
    error = post_error(our_fields() | {"KEY": "uploads/other"})

    assert (error.code, error.status) == ("InvalidArgument", 400)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA1"),
        ("X-Amz-Credential", f"{ACCESS_KEY}/20260115/us-east-1/s3"),
        ("X-Amz-Credential", f"{ACCESS_KEY}/20260115/eu-west-1/s3/aws4_request"),
        ("X-Amz-Credential", f"{ACCESS_KEY}/20260115/us-east-1/ec2/aws4_request"),
        ("X-Amz-Credential", f"{ACCESS_KEY}/20260114/us-east-1/s3/aws4_request"),
        ("X-Amz-Date", "2026-01-15T10:30:00Z"),
        ("X-Amz-Date", "20260115T1030٠٠Z"),
    ],
)
def test_verify_post_with_a_malformed_signing_field_is_invalid_argument(
    name: str, value: str
) -> None:
    error = post_error(our_fields() | {name: value})

    assert (error.code, error.status) == ("InvalidArgument", 400)


def test_verify_post_with_an_unknown_access_key_is_invalid_access_key_id() -> None:
    credential = "AKIDUNKNOWN/20260115/us-east-1/s3/aws4_request"

    error = post_error(our_fields() | {"X-Amz-Credential": credential})

    assert (error.code, error.status) == ("InvalidAccessKeyId", 403)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda f: f | {"X-Amz-Signature": f["X-Amz-Signature"][:-1] + "0"},
        lambda f: f | {"X-Amz-Signature": f["X-Amz-Signature"].upper()},
        lambda f: f | {"X-Amz-Signature": "é" * 64},
        lambda f: f | {"X-Amz-Signature": ""},
        lambda f: (
            f | {"Policy": base64.b64encode(b'{"expiration": "2099-01-01T00:00:00Z"}').decode()}
        ),
    ],
    ids=["last-digit", "upper-case", "non-ascii", "empty", "other-policy"],
)
def test_verify_post_with_a_wrong_signature_is_signature_does_not_match(
    tamper: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    error = post_error(tamper(our_fields()))

    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_verify_post_with_another_time_of_the_same_day_fails_the_pinned_date() -> None:
    # The POST signature covers only the policy, whose key is per day: the policy pins the time.
    error = post_error(our_fields() | {"X-Amz-Date": "20260115T103001Z"})

    assert (error.code, error.status) == ("AccessDenied", 403)
    assert '"$x-amz-date"' in error.message


@pytest.mark.parametrize(
    ("document", "policy"),
    [
        (None, "not base64!"),
        (None, base64.b64encode(b"not json").decode()),
        (None, base64.b64encode(b"\xff\xfe").decode()),
        ([], None),
        ({"conditions": []}, None),
        ({"Expiration": "2026-01-15T10:45:00Z", "conditions": []}, None),
        ({"expiration": "2026-01-15 10:45:00", "conditions": []}, None),
        ({"expiration": "2026-13-15T10:45:00Z", "conditions": []}, None),
        ({"expiration": "2026-01-15T10:45:00+01:00", "conditions": []}, None),
        ({"expiration": 1768473900, "conditions": []}, None),
        ({"expiration": "2026-01-15T10:45:00Z"}, None),
        ({"expiration": "2026-01-15T10:45:00Z", "conditions": {}}, None),
        (policy_with({}), None),
        (policy_with("bucket"), None),
        (policy_with([]), None),
        (policy_with(["StArTs-WiTh", "$key", "uploads/"]), None),
        (policy_with(["starts-with", "key", "uploads/"]), None),
        (policy_with(["eq", "$key"]), None),
        (policy_with(["eq", "$key", 5]), None),
        (policy_with({"key": 5}), None),
        (policy_with(["content-length-range", 1]), None),
        (policy_with(["content-length-range", -1, 10]), None),
        (policy_with(["content-length-range", 10, 1]), None),
        (policy_with(["content-length-range", True, 10]), None),
        (policy_with(["content-length-range", "1e3", 10]), None),
        (policy_with(["content-length-range", "9" * 5000, 10]), None),
        (None, base64.b64encode(b'{"expiration": ' + b"9" * 5000 + b"}").decode()),
    ],
)
def test_verify_post_with_a_malformed_signed_policy_is_invalid_policy_document(
    document: object, policy: str | None
) -> None:
    error = post_error(signed_form(document, policy=policy))

    assert (error.code, error.status) == ("InvalidPolicyDocument", 400)


def test_verify_post_checks_the_signature_before_parsing_the_policy() -> None:
    form = signed_form(None, policy="not base64!") | {"x-amz-signature": "0" * 64}

    assert post_error(form).code == "SignatureDoesNotMatch"


def test_verify_post_accepts_expirations_with_and_without_fractions() -> None:
    for expiration in (
        "2026-01-15T10:45:00Z",
        "2026-01-15T10:45:00.000Z",
        "2026-01-15T10:45:00.5Z",
    ):
        document = policy_with() | {"expiration": expiration}
        policy = verify_post(creds_for, signed_form(document), bucket=BUCKET, now=NOW)
        assert policy.expiration.replace(microsecond=0) == NOW + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("extra", "condition"),
    [
        ({"Content-Type": "text/html"}, '["eq", "$content-type", "application/pdf"]'),
        ({"key": "uploads/other"}, '["eq", "$key"'),
    ],
)
def test_verify_post_with_a_failed_condition_names_it(
    extra: dict[str, str], condition: str
) -> None:
    error = post_error(our_fields() | extra)

    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message.startswith("Invalid according to Policy: Policy Condition failed: ")
    assert condition in error.message


def test_verify_post_starts_with_compares_prefixes_case_sensitively() -> None:
    document = policy_with(["starts-with", "$Content-Type", "image/"])

    verify_post(
        creds_for, signed_form(document, **{"content-type": "image/png"}), bucket=BUCKET, now=NOW
    )
    refused = signed_form(document, **{"content-type": "IMAGE/png"})
    assert post_error(refused).code == "AccessDenied"


def test_verify_post_checks_the_bucket_condition_against_the_url() -> None:
    error = post_error(our_fields(), bucket="other-bucket")

    assert (error.code, error.status) == ("AccessDenied", 403)
    assert '"$bucket"' in error.message


def test_verify_post_refuses_a_bucket_field_that_is_not_the_urls() -> None:
    form = signed_form(policy_with(), bucket="other-bucket")

    assert post_error(form).code == "AccessDenied"


def test_verify_post_refuses_a_policy_without_a_bucket_condition() -> None:
    error = post_error(signed_form(policy_with(omit="bucket")))

    assert (error.code, error.status) == ("AccessDenied", 403)


@pytest.mark.parametrize("extra", ["x-amz-meta-note", "success_action_status", "acl"])
def test_verify_post_refuses_a_field_no_condition_covers(extra: str) -> None:
    error = post_error(our_fields() | {extra: "201"})

    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == f"Invalid according to Policy: Extra input fields: {extra}"


def test_verify_post_refuses_a_key_the_policy_does_not_cover() -> None:
    error = post_error(signed_form(policy_with(omit="key")))

    assert error.message == "Invalid according to Policy: Extra input fields: key"


# --- presign_url -------------------------------------------------------------------------------

KEYS = [
    "uploads/0192aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee",
    "uploads/a b+c~d",
    "files/é ü/中文 résumé.pdf",
    "a//b/./../c%20",
    "x?y#z&=;:@$,!*'()[]{}|^`\"<>\\",
]


def boto3_url(client: Any, key: str, *, method: str = "get_object", **params: str) -> str:
    url: str = client.generate_presigned_url(
        method, Params={"Bucket": BUCKET, "Key": key, **params}, ExpiresIn=300
    )
    return url


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    "disposition",
    [
        "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
        "attachment; filename=\"r\u00e9sum\u00e9 \u4e2d.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9",
    ],
)
def test_presign_url_equals_boto3_byte_for_byte(
    s3_client: Any, frozen_botocore: None, key: str, disposition: str
) -> None:
    params = RESPONSE_PARAMS | {"ResponseContentDisposition": disposition}

    ours = presign_url(
        CREDS,
        method="GET",
        url=f"{ENDPOINT}/{BUCKET}/{key}",
        params={QUERY_NAMES[name]: value for name, value in params.items()},
        expires_in=300,
        now=NOW,
    )

    assert ours == boto3_url(s3_client, key, **params)


def test_presign_url_keeps_the_callers_parameter_order_as_boto3_does(
    s3_client: Any, frozen_botocore: None
) -> None:
    params = {"ResponseCacheControl": "private", "ResponseContentType": "text/plain"}

    ours = presign_url(
        CREDS,
        method="GET",
        url=f"{ENDPOINT}/{BUCKET}/k",
        params={QUERY_NAMES[name]: value for name, value in params.items()},
        expires_in=300,
        now=NOW,
    )

    assert ours == boto3_url(s3_client, "k", **params)
    assert urlsplit(ours).query.startswith("response-cache-control=private&response-content-type")


def test_presign_url_for_head_without_params_equals_boto3(
    s3_client: Any, frozen_botocore: None
) -> None:
    ours = presign_url(
        CREDS, method="HEAD", url=f"{ENDPOINT}/{BUCKET}/k", params=None, expires_in=300, now=NOW
    )

    assert ours == boto3_url(s3_client, "k", method="head_object")


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://Files.Example.com/storage",
        "http://localhost:80/storage",
        "https://files.example.com:443",
        "http://[::1]:9000/storage",
    ],
)
def test_presign_url_signs_the_host_as_botocore_does(frozen_botocore: None, endpoint: str) -> None:
    client = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET, region_name="us-east-1"
    ).client(
        "s3",
        endpoint_url=endpoint,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    try:
        theirs = boto3_url(client, "k y", ResponseContentType="application/pdf")
    finally:
        client.close()

    ours = presign_url(
        CREDS,
        method="GET",
        url=f"{endpoint}/{BUCKET}/k y",
        params={"response-content-type": "application/pdf"},
        expires_in=300,
        now=NOW,
    )

    assert ours == theirs


def test_presign_url_takes_a_naive_datetime_as_utc() -> None:
    url = f"{ENDPOINT}/{BUCKET}/k"
    aware = presign_url(CREDS, method="GET", url=url, params=None, expires_in=60, now=NOW)
    naive = presign_url(
        CREDS, method="GET", url=url, params=None, expires_in=60, now=NOW.replace(tzinfo=None)
    )

    assert naive == aware


@pytest.mark.parametrize(
    ("url", "expires_in", "params"),
    [
        (f"{ENDPOINT}/{BUCKET}/k", 0, None),
        (f"{ENDPOINT}/{BUCKET}/k", 604_801, None),
        (f"/{BUCKET}/k", 60, None),
        (f"{ENDPOINT}/{BUCKET}/k", 60, {"X-Amz-Date": "20260115T103000Z"}),
    ],
)
def test_presign_url_refuses_what_cannot_be_signed(
    url: str, expires_in: int, params: dict[str, str] | None
) -> None:
    with pytest.raises(ValueError):
        presign_url(CREDS, method="GET", url=url, params=params, expires_in=expires_in, now=NOW)


def test_credentials_never_show_the_secret() -> None:
    assert SECRET not in repr(CREDS)
    assert SECRET not in str(CREDS)


# --- verify_presigned_url ----------------------------------------------------------------------


def verify_url(
    url: str,
    *,
    method: str = "GET",
    host: str | None = None,
    now: datetime = NOW,
) -> PresignedRequest:
    parts = urlsplit(url)
    return verify_presigned_url(
        creds_for,
        method=method,
        host=parts.netloc if host is None else host,
        raw_path=parts.path,
        raw_query=parts.query,
        now=now,
    )


def url_error(url: str, **kwargs: Any) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        verify_url(url, **kwargs)
    return caught.value


def replace_param(url: str, name: str, value: str | None) -> str:
    """``url`` with query parameter ``name`` set to the already-encoded ``value`` (None: gone)."""
    parts = urlsplit(url)
    pieces = [p for p in parts.query.split("&") if p.partition("=")[0] != name]
    if value is not None:
        pieces.append(f"{name}={value}")
    return urlunsplit(parts._replace(query="&".join(pieces)))


@pytest.fixture
def signed_url(s3_client: Any, frozen_botocore: None) -> str:
    return boto3_url(s3_client, "files/é ü/a+b~c.pdf", **RESPONSE_PARAMS)


@pytest.mark.parametrize("key", KEYS)
def test_verify_presigned_url_accepts_boto3s_urls(
    s3_client: Any, frozen_botocore: None, key: str
) -> None:
    request = verify_url(boto3_url(s3_client, key, **RESPONSE_PARAMS))

    assert request.access_key_id == ACCESS_KEY
    assert request.signed_at == NOW
    assert request.expires_at == NOW + timedelta(seconds=300)
    assert request.params == {QUERY_NAMES[name]: value for name, value in RESPONSE_PARAMS.items()}


def test_verify_presigned_url_accepts_our_head_url_for_head_only() -> None:
    url = presign_url(
        CREDS, method="HEAD", url=f"{ENDPOINT}/{BUCKET}/k", params=None, expires_in=60, now=NOW
    )

    assert verify_url(url, method="HEAD").params == {}
    assert url_error(url, method="GET").code == "SignatureDoesNotMatch"


def test_verify_presigned_url_for_get_refuses_head(signed_url: str) -> None:
    error = url_error(signed_url, method="HEAD")

    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8081", "localhost:8080", "127.0.0.1", "evil.example:8080"]
)
def test_verify_presigned_url_refuses_another_host(signed_url: str, host: str) -> None:
    assert url_error(signed_url, host=host).code == "SignatureDoesNotMatch"


def test_verify_presigned_url_ignores_host_case_and_default_ports() -> None:
    url = presign_url(
        CREDS, method="GET", url="http://files.example.com/b/k", params=None, expires_in=60, now=NOW
    )

    for host in ("files.example.com", "Files.Example.COM", "files.example.com:80"):
        verify_url(url, host=host)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("response-content-type", "text%2Fhtml"),
        ("response-content-disposition", "inline"),
        ("response-cache-control", None),
        ("response-expires", "0"),
        ("X-Amz-Expires", "301"),
        ("X-Amz-Date", "20260115T103001Z"),
        ("X-Amz-Signature", "0" * 64),
        ("X-Amz-Signature", "%C3%A9" * 64),
    ],
)
def test_verify_presigned_url_refuses_a_tampered_parameter(
    signed_url: str, name: str, value: str | None
) -> None:
    error = url_error(replace_param(signed_url, name, value))

    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


@pytest.mark.parametrize(
    "path",
    ["/storage/assured-files/files/%C3%A9%20%C3%BC/a%2Bb~c.pdX", "/storage/assured-files/other"],
)
def test_verify_presigned_url_refuses_another_path(signed_url: str, path: str) -> None:
    tampered = urlunsplit(urlsplit(signed_url)._replace(path=path))

    assert url_error(tampered).code == "SignatureDoesNotMatch"


def test_verify_presigned_url_does_not_normalise_the_path(signed_url: str) -> None:
    # The same key, differently encoded: S3 signs the path as sent, so this is another path.
    path = urlsplit(signed_url).path.replace("~", "%7E")
    tampered = urlunsplit(urlsplit(signed_url)._replace(path=path))

    assert url_error(tampered).code == "SignatureDoesNotMatch"


def test_verify_presigned_url_decodes_and_reencodes_the_query(signed_url: str) -> None:
    # Lower-case escapes and an escaped unreserved character mean the same parameters.
    parts = urlsplit(signed_url)
    query = parts.query.replace("%2F", "%2f").replace("private", "priv%61te")

    verify_url(urlunsplit(parts._replace(query=query)))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA1"),
        ("X-Amz-Algorithm", None),
        ("X-Amz-SignedHeaders", "host%3Brange"),
        ("X-Amz-SignedHeaders", "range"),
        ("X-Amz-SignedHeaders", None),
        ("X-Amz-Expires", "0"),
        ("X-Amz-Expires", "604801"),
        ("X-Amz-Expires", "-5"),
        ("X-Amz-Expires", "abc"),
        ("X-Amz-Expires", "%D9%A3"),
        ("X-Amz-Expires", "9" * 5000),
        ("X-Amz-Expires", "00000000300"),
        ("X-Amz-Expires", None),
    ],
)
def test_verify_presigned_url_with_bad_algorithm_headers_or_expires_is_400(
    signed_url: str, name: str, value: str | None
) -> None:
    error = url_error(replace_param(signed_url, name, value))

    assert (error.code, error.status) == ("AuthorizationQueryParametersError", 400)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (quote("AKIDUNKNOWN/20260115/us-east-1/s3/aws4_request", safe=""), "InvalidAccessKeyId"),
        (quote(f"{ACCESS_KEY}/20260115/eu-west-1/s3/aws4_request", safe=""), "AccessDenied"),
        (quote(f"{ACCESS_KEY}/20260115/us-east-1/sqs/aws4_request", safe=""), "AccessDenied"),
        (quote(f"{ACCESS_KEY}/20260116/us-east-1/s3/aws4_request", safe=""), "AccessDenied"),
        (quote(f"{ACCESS_KEY}/20260115/us-east-1/s3", safe=""), "AccessDenied"),
        ("garbage", "AccessDenied"),
    ],
)
def test_verify_presigned_url_with_a_tampered_credential_is_403(
    signed_url: str, value: str, code: str
) -> None:
    error = url_error(replace_param(signed_url, "X-Amz-Credential", value))

    assert (error.code, error.status) == (code, 403)


@pytest.mark.parametrize("name", ["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Date"])
def test_verify_presigned_url_without_a_signing_parameter_is_403(
    signed_url: str, name: str
) -> None:
    error = url_error(replace_param(signed_url, name, None))

    assert (error.code, error.status) == ("AccessDenied", 403)


def test_verify_presigned_url_with_a_malformed_date_is_403(signed_url: str) -> None:
    error = url_error(replace_param(signed_url, "X-Amz-Date", "2026-01-15T10%3A30%3A00Z"))

    assert (error.code, error.status) == ("AccessDenied", 403)


def test_verify_presigned_url_without_any_signature_is_anonymous_and_denied() -> None:
    error = url_error(f"{ENDPOINT}/{BUCKET}/k?response-content-type=text%2Fplain")

    assert (error.code, error.status) == ("AccessDenied", 403)


def test_verify_presigned_url_refuses_a_repeated_parameter(signed_url: str) -> None:
    error = url_error(f"{signed_url}&response-cache-control=public")

    assert (error.code, error.status) == ("AccessDenied", 403)


def test_verify_presigned_url_expires_after_its_last_second(signed_url: str) -> None:
    verify_url(signed_url, now=NOW + timedelta(seconds=300))
    error = url_error(signed_url, now=NOW + timedelta(seconds=301))

    assert (error.code, error.status, error.message) == ("AccessDenied", 403, "Request has expired")


def test_verify_presigned_url_refuses_a_date_over_15_minutes_ahead(signed_url: str) -> None:
    verify_url(signed_url, now=NOW - timedelta(minutes=15))
    error = url_error(signed_url, now=NOW - timedelta(minutes=15, seconds=1))

    assert (error.code, error.status) == ("AccessDenied", 403)


def test_verify_presigned_url_accepts_the_longest_life_s3_allows() -> None:
    url = presign_url(
        CREDS, method="GET", url=f"{ENDPOINT}/{BUCKET}/k", params=None, expires_in=604_800, now=NOW
    )

    assert verify_url(url, now=NOW + timedelta(days=7)).expires_at == NOW + timedelta(days=7)
