"""AWS Signature Version 4 for S3: POST policies and pre-signed URLs, signed and verified.

Both storage backends use this one module, so what signs is exactly what verifies. The output
matches boto3 (``generate_presigned_url`` byte for byte; ``generate_presigned_post`` up to the
field-name casing of the API contract) and boto3's output verifies here.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import unquote

from assured_server.s3_protocol.sigv4_policy import (
    ALGORITHM,
    Condition,
    PolicyCondition,
    PostPolicy,
    SigV4Error,
    check_conditions,
    parse_policy,
    write_policy,
)

__all__ = [
    "ALGORITHM",
    "MAX_EXPIRES",
    "Condition",
    "Credentials",
    "PolicyCondition",
    "PostPolicy",
    "PresignedRequest",
    "SigV4Error",
    "presign_post",
    "presign_url",
    "verify_post",
    "verify_presigned_url",
]

MAX_EXPIRES = 604_800
"""The longest life S3 allows a pre-signed URL: seven days, in seconds."""

_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# S3 refuses a request dated further ahead than this, to bound the damage of a fast clock.
_MAX_CLOCK_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# The query parameters of query-string authentication, in the order boto3 writes them.
_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}

# SigV4 URI encoding: every byte but the unreserved set becomes %XX in upper-case hex.
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


def _escape_table(safe: bytes) -> tuple[str, ...]:
    return tuple(chr(b) if b in safe else f"%{b:02X}" for b in range(256))


_QUERY_TABLE = _escape_table(_UNRESERVED)
_PATH_TABLE = _escape_table(_UNRESERVED + b"/")


def _uri_encode(value: str, table: tuple[str, ...] = _QUERY_TABLE) -> str:
    # UTF-8 bytes read as latin-1 are one code point each below 256, so a single C-level
    # str.translate escapes them all: two to three times faster than urllib.parse.quote.
    return value.encode().decode("latin-1").translate(table)


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair and the scope (region, service) it signs for."""

    access_key_id: str
    secret_access_key: str = field(repr=False)  # never in a repr, so never in a log line
    region: str
    service: str = "s3"


@dataclass(frozen=True, slots=True)
class PresignedRequest:
    """A verified pre-signed URL: who signed it, its life, and its other query parameters."""

    access_key_id: str
    signed_at: datetime
    expires_at: datetime
    params: Mapping[str, str]
    """Decoded query parameters other than the ``X-Amz-*`` ones (``response-content-type``…)."""


@lru_cache(maxsize=64)
def _signer(secret: str, datestamp: str, region: str, service: str) -> hmac.HMAC:
    # The signing key is four chained HMACs that change once a day per key: derive it once,
    # and keep it keyed in an HMAC object so that each signature only copies that.
    key = hmac.digest(f"AWS4{secret}".encode(), datestamp.encode(), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return hmac.new(key, digestmod="sha256")


def _sign(creds: Credentials, datestamp: str, message: str) -> str:
    mac = _signer(creds.secret_access_key, datestamp, creds.region, creds.service).copy()
    mac.update(message.encode())
    return mac.hexdigest()


def _same(expected: str, given: str) -> bool:
    # compare_digest refuses non-ASCII str, and a forged signature may well be non-ASCII.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


# Two-digit fields looked up, not formatted: four times faster than strftime.
_DD = tuple(f"{n:02}" for n in range(100))


@lru_cache(maxsize=8)
def _timestamps(epoch: int, expires_in: int) -> tuple[str, str]:
    # SigV4 times are whole seconds, so every signature of one second shares these strings.
    t, e = time.gmtime(epoch), time.gmtime(epoch + expires_in)
    amz_date = f"{t.tm_year:04}{_DD[t.tm_mon]}{_DD[t.tm_mday]}T{_DD[t.tm_hour]}"
    expiration = f"{e.tm_year:04}-{_DD[e.tm_mon]}-{_DD[e.tm_mday]}T{_DD[e.tm_hour]}"
    # The policy expiration carries milliseconds as in the AWS documentation (boto3 writes
    # none); S3 accepts both.
    return (
        f"{amz_date}{_DD[t.tm_min]}{_DD[t.tm_sec]}Z",
        f"{expiration}:{_DD[e.tm_min]}:{_DD[e.tm_sec]}.000Z",
    )


def _utc(now: datetime) -> datetime:
    # A naive datetime is taken as UTC, as botocore's own clock is.
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _parse_amz_date(value: str) -> datetime | None:
    # strptime alone would take single-digit fields and other scripts' digits: check first.
    digits = value[:8] + value[9:15]
    if len(value) != 16 or value[8] != "T" or not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return datetime.strptime(value, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        return None


@lru_cache(maxsize=32)
def _signed_host(scheme: str, netloc: str) -> str:
    # What botocore signs as the host header: lower case, no user info, no default port.
    host = netloc.rpartition("@")[2].lower()
    default_port = _DEFAULT_PORTS.get(scheme.lower())
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    return host


def _resolve(
    creds_for: Callable[[str], Credentials | None],
    credential: str,
    amz_date: str,
    bad: Callable[[str], SigV4Error],
) -> tuple[Credentials, datetime]:
    """Check a ``<key>/<date>/<region>/<service>/aws4_request`` credential against its key."""
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0] or parts[4] != "aws4_request":
        raise bad(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    signed_at = _parse_amz_date(amz_date)
    if signed_at is None:
        raise bad("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if parts[1] != amz_date[:8]:
        raise bad("Invalid credential date. Date is not the same as X-Amz-Date.")
    creds = creds_for(parts[0])
    if creds is None:
        raise SigV4Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
        )
    # Checked explicitly: a key holder's valid signature for another scope must not pass here.
    if parts[2] != creds.region:
        raise bad(f"The region '{parts[2]}' is wrong; expecting '{creds.region}'.")
    if parts[3] != creds.service:
        raise bad(f"Incorrect service '{parts[3]}'. This endpoint belongs to '{creds.service}'.")
    return creds, signed_at


def _string_to_sign(
    method: str, path: str, pairs: list[tuple[str, str]], host: str, amz_date: str, scope: str
) -> str:
    # The one canonical request of both sides: ``pairs`` URI-encoded, only ``host`` signed.
    query = "&".join([f"{k}={v}" for k, v in sorted(pairs)])
    request = f"{method.upper()}\n{path}\n{query}\nhost:{host}\n\nhost\n{_UNSIGNED_PAYLOAD}"
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"


def _signature_mismatch() -> SigV4Error:
    return SigV4Error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        403,
    )


def presign_post(
    creds: Credentials,
    *,
    bucket: str,
    key: str,
    fields: Mapping[str, str],
    conditions: Sequence[PolicyCondition],
    expires_in: int,
    now: datetime,
) -> dict[str, str]:
    """Sign an S3 POST policy and return the form fields, as boto3's generate_presigned_post."""
    # An aware datetime's timestamp() is the same in any zone: no conversion needed.
    epoch = now.timestamp() if now.tzinfo is not None else _utc(now).timestamp()
    amz_date, expiration = _timestamps(int(epoch), expires_in)
    credential = f"{creds.access_key_id}/{amz_date[:8]}/{creds.region}/{creds.service}/aws4_request"
    # The key is always pinned exactly, without boto3's ``${filename}`` form: the verifier
    # never sees the file's name.
    policy = write_policy(
        expiration, conditions, bucket=bucket, key=key, credential=credential, amz_date=amz_date
    )
    return {
        **fields,
        "key": key,
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": credential,
        "X-Amz-Date": amz_date,
        "Policy": policy,
        "X-Amz-Signature": _sign(creds, amz_date[:8], policy),
    }


def verify_post(
    creds_for: Callable[[str], Credentials | None],
    form: Mapping[str, str],
    *,
    bucket: str,
    now: datetime,
) -> PostPolicy:
    """Verify an S3 POST form (every field but the file) for ``bucket``, or raise SigV4Error."""
    fields: dict[str, str] = {}
    for name, value in form.items():
        lower = name.lower()
        if lower in fields:
            # Two spellings of one case-insensitive name: which one the policy meant is unknowable.
            raise SigV4Error("InvalidArgument", f"POST requires exactly one '{lower}' field.", 400)
        fields[lower] = value
    if "policy" not in fields:
        # Without a policy S3 treats the POST as anonymous, which no bucket here allows.
        raise SigV4Error("AccessDenied", "Access Denied", 403)
    for name in ("x-amz-signature", "x-amz-credential", "x-amz-algorithm", "x-amz-date", "key"):
        if name not in fields:
            raise SigV4Error(
                "InvalidArgument",
                f"Bucket POST must contain a field named '{name}'.  "
                "If it is specified, please check the order of the fields.",
                400,
            )
    if fields["x-amz-algorithm"] != ALGORITHM:
        raise SigV4Error("InvalidArgument", f"Only {ALGORITHM} is supported.", 400)
    creds, _ = _resolve(
        creds_for,
        fields["x-amz-credential"],
        fields["x-amz-date"],
        lambda message: SigV4Error("InvalidArgument", message, 400),
    )
    expected = _sign(creds, fields["x-amz-date"][:8], fields["policy"])
    if not _same(expected, fields["x-amz-signature"]):
        raise _signature_mismatch()
    # Only a signed policy is parsed: unauthenticated input never reaches the JSON decoder.
    policy = parse_policy(fields["policy"], access_key_id=creds.access_key_id, form=fields)
    check_conditions(policy, bucket=bucket, now=_utc(now))
    return policy


def presign_url(
    creds: Credentials,
    *,
    method: str,
    url: str,
    params: Mapping[str, str] | None,
    expires_in: int,
    now: datetime,
) -> str:
    """Pre-sign ``url`` (``scheme://host[:port]/path``, path not yet encoded) for ``method``.

    Only the host header is signed and the payload is ``UNSIGNED-PAYLOAD``. The result equals
    what boto3's ``generate_presigned_url`` returns for a path-style endpoint and the same
    ``params`` in the same order.
    """
    if not 1 <= expires_in <= MAX_EXPIRES:
        raise ValueError(f"expires_in must be 1..{MAX_EXPIRES} seconds")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("url must be absolute: scheme://host[:port]/path")
    netloc, _, path = rest.partition("/")
    # Everything after the host is the key's path: a '?' or '#' in a key is encoded, not parsed.
    encoded_path = _uri_encode(f"/{path}", _PATH_TABLE)
    amz_date, _ = _timestamps(int(_utc(now).timestamp()), expires_in)
    scope = f"{amz_date[:8]}/{creds.region}/{creds.service}/aws4_request"
    # boto3 writes the operation's parameters first, then the authentication ones.
    pairs = [(_uri_encode(k), _uri_encode(v)) for k, v in params.items()] if params else []
    if any(k in _AUTH_PARAMS for k, _ in pairs):
        raise ValueError("params must not contain X-Amz-* authentication parameters")
    pairs += (
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", _uri_encode(f"{creds.access_key_id}/{scope}")),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", "host"),
    )
    host = _signed_host(scheme, netloc)
    signature = _sign(
        creds, amz_date[:8], _string_to_sign(method, encoded_path, pairs, host, amz_date, scope)
    )
    query = "&".join([f"{k}={v}" for k, v in pairs])
    return f"{scheme}://{netloc}{encoded_path}?{query}&X-Amz-Signature={signature}"


def _query_error(message: str) -> SigV4Error:
    return SigV4Error("AuthorizationQueryParametersError", message, 400)


def verify_presigned_url(
    creds_for: Callable[[str], Credentials | None],
    *,
    method: str,
    host: str,
    raw_path: str,
    raw_query: str,
    now: datetime,
) -> PresignedRequest:
    """Verify a pre-signed request as received (raw path and query), or raise SigV4Error.

    ``raw_path`` is the request target's path exactly as sent (ASGI ``raw_path`` decoded as
    latin-1): S3 signs the path as it appears in the URL and does not normalise it.
    """
    params: dict[str, str] = {}
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        name = unquote(name)
        if name in params:
            raise SigV4Error("AccessDenied", f"Duplicate query parameter '{name}'.", 403)
        params[name] = unquote(value)
    if not any(name in params for name in _AUTH_PARAMS):
        # Not a pre-signed request at all: an anonymous one, which no bucket here allows.
        raise SigV4Error("AccessDenied", "Access Denied", 403)
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise _query_error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    # We sign and check only the host header: another signed header is one we cannot see.
    if params.get("X-Amz-SignedHeaders") != "host":
        raise _query_error("X-Amz-SignedHeaders must be exactly 'host' on this endpoint.")
    expires = params.get("X-Amz-Expires", "")
    if not (expires.isascii() and expires.isdigit()):
        raise _query_error("X-Amz-Expires should be a number")
    # Length first: int() refuses strings over 4300 digits with a ValueError, not a 400.
    if len(expires) > 7 or not 1 <= int(expires) <= MAX_EXPIRES:
        raise _query_error(
            f"X-Amz-Expires must be between 1 and {MAX_EXPIRES} seconds (seven days)."
        )
    signature = params.get("X-Amz-Signature")
    credential = params.get("X-Amz-Credential")
    amz_date = params.get("X-Amz-Date")
    if signature is None or credential is None or amz_date is None:
        # 403 rather than S3's 400: the contract makes any tampering but the two above a 403.
        raise SigV4Error("AccessDenied", "Query-string authentication is incomplete.", 403)
    creds, signed_at = _resolve(
        creds_for, credential, amz_date, lambda message: SigV4Error("AccessDenied", message, 403)
    )
    # As S3 does: decoded, then encoded the SigV4 way, whatever encoding the client chose.
    pairs = [(_uri_encode(k), _uri_encode(v)) for k, v in params.items() if k != "X-Amz-Signature"]
    # Clients leave the default port out of Host, as botocore leaves it out of what it signs.
    host = host.strip().lower().removesuffix(":80").removesuffix(":443")
    scope = credential.partition("/")[2]
    string_to_sign = _string_to_sign(method, raw_path, pairs, host, amz_date, scope)
    if not _same(_sign(creds, amz_date[:8], string_to_sign), signature):
        raise _signature_mismatch()
    t = _utc(now)
    expires_at = signed_at + timedelta(seconds=int(expires))
    if expires_at < t:
        raise SigV4Error("AccessDenied", "Request has expired", 403)
    if signed_at - t > _MAX_CLOCK_SKEW:
        raise SigV4Error("AccessDenied", "Request is not valid yet", 403)
    rest = {k: v for k, v in params.items() if k not in _AUTH_PARAMS}
    return PresignedRequest(creds.access_key_id, signed_at, expires_at, rest)
