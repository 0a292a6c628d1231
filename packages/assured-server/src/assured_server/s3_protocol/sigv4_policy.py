"""S3 POST policy documents: writing, parsing and condition evaluation (no cryptography)."""

from __future__ import annotations

import binascii
import json
import re
from base64 import b64decode
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeAlias

ALGORITHM = "AWS4-HMAC-SHA256"
"""The only signing algorithm of SigV4 POST policies and pre-signed URLs."""

PolicyCondition: TypeAlias = Mapping[str, str] | Sequence[str | int]
"""A POST policy condition: ``{"field": "value"}`` or ``["op", "$field", value]``."""

# Form fields a policy never has to cover, as in S3 (names compared lower-cased).
_UNCOVERED_FIELDS = frozenset({"file", "policy", "x-amz-signature"})
# UTC only, seconds required, fraction optional: what S3 documents and boto3 writes.
_EXPIRATION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z")


class SigV4Error(Exception):
    """A request that fails S3 authentication or policy checks, with its S3 error code."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Condition:
    """One field condition of a policy: ``eq`` or ``starts-with`` on a lower-cased field."""

    op: Literal["eq", "starts-with"]
    field: str
    value: str

    def describe(self) -> str:
        """The condition as S3 prints it in an ``AccessDenied`` message."""
        return json.dumps([self.op, f"${self.field}", self.value])


@dataclass(frozen=True, slots=True)
class PostPolicy:
    """A verified POST policy: what the caller still has to enforce while the body streams."""

    access_key_id: str
    expiration: datetime
    conditions: tuple[Condition, ...]
    content_length_range: tuple[int, int] | None
    fields: Mapping[str, str]
    """The form fields, names lower-cased (S3 form field names are case-insensitive)."""


_JSON = json.JSONEncoder(separators=(",", ":"))
_json_str = json.encoder.encode_basestring_ascii


def _condition_json(condition: PolicyCondition) -> str:
    # Written by hand: json.dumps costs a microsecond a call, the slowest step of presigning.
    if type(condition) is dict or isinstance(condition, Mapping):  # the ABC check is slow
        if len(condition) == 1:  # the usual {"field": "value"}: no list, no join
            ((name, value),) = condition.items()
            return f"{{{_json_str(name)}:{_json_str(value)}}}"
        pairs = [f"{_json_str(k)}:{_json_str(v)}" for k, v in condition.items()]
        return f"{{{','.join(pairs)}}}"
    op, low, high = condition if len(condition) == 3 else (None, None, None)
    if type(op) is str and type(low) is int and type(high) is int:
        # ["content-length-range", low, high]
        return f"[{_json_str(op)},{low},{high}]"
    items = [
        _json_str(x) if type(x) is str else str(x) if type(x) is int else _JSON.encode(x)
        for x in condition
    ]
    return f"[{','.join(items)}]"


def write_policy(
    expiration: str,
    conditions: Sequence[PolicyCondition],
    *,
    bucket: str,
    key: str,
    credential: str,
    amz_date: str,
) -> str:
    """Return the base64 policy document: ``conditions``, then those boto3 adds, in its order."""
    written = "".join([f"{_condition_json(c)}," for c in conditions]) if conditions else ""
    # One f-string for the fixed tail: a loop over a dict of them costs half a microsecond.
    document = (
        f'{{"expiration":"{expiration}","conditions":[{written}'
        f'{{"bucket":{_json_str(bucket)}}},{{"key":{_json_str(key)}}},'
        f'{{"x-amz-algorithm":"{ALGORITHM}"}},'
        f'{{"x-amz-credential":{_json_str(credential)}}},{{"x-amz-date":{_json_str(amz_date)}}}]}}'
    )
    return binascii.b2a_base64(document.encode(), newline=False).decode("ascii")


def _invalid(message: str) -> SigV4Error:
    return SigV4Error("InvalidPolicyDocument", f"Invalid Policy: {message}", 400)


def _denied(message: str) -> SigV4Error:
    return SigV4Error("AccessDenied", f"Invalid according to Policy: {message}", 403)


def _parse_expiration(value: object) -> datetime:
    # S3 takes ISO 8601 in UTC with or without fractional seconds; boto3 writes none,
    # the AWS documentation writes ``.000``.
    if isinstance(value, str) and _EXPIRATION.fullmatch(value):
        try:
            return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
        except ValueError:  # well-formed but impossible, such as month 13
            pass
    raise _invalid(f"Invalid 'expiration' value: {json.dumps(value)}")


def _length_bound(value: object) -> int:
    # bool is an int in Python but never a length in JSON; S3 also takes numeric strings.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    # Length first: int() refuses strings over 4300 digits with a ValueError.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value)
    raise _invalid("Invalid content-length-range bound")


def _parse_condition(raw: object, out: list[Condition], ranges: list[tuple[int, int]]) -> None:
    if isinstance(raw, dict):
        if not raw:
            raise _invalid("Empty condition")
        for name, value in raw.items():
            if not isinstance(value, str):
                raise _invalid(f"Condition on '{name}' must have a string value")
            out.append(Condition("eq", name.lower(), value))
        return
    if not isinstance(raw, list) or not raw or not isinstance(raw[0], str):
        raise _invalid("Each condition must be an object or a non-empty array")
    # Operators are case-sensitive in S3 (field names are not).
    op = raw[0]
    if op == "content-length-range":
        if len(raw) != 3:
            raise _invalid("content-length-range takes exactly two bounds")
        low, high = _length_bound(raw[1]), _length_bound(raw[2])
        if low > high:
            raise _invalid("content-length-range minimum is above its maximum")
        ranges.append((low, high))
        return
    if op not in ("eq", "starts-with") or len(raw) != 3:
        raise _invalid(f"Unknown or malformed condition: {json.dumps(raw)}")
    field, value = raw[1], raw[2]
    if not isinstance(field, str) or not field.startswith("$") or not isinstance(value, str):
        raise _invalid(f"Malformed condition: {json.dumps(raw)}")
    out.append(Condition("eq" if op == "eq" else "starts-with", field[1:].lower(), value))


def parse_policy(policy_b64: str, *, access_key_id: str, form: Mapping[str, str]) -> PostPolicy:
    """Decode a base64 JSON policy document, or raise ``InvalidPolicyDocument``."""
    try:
        document = json.loads(b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError) as exc:
        # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors.
        raise _invalid("Policy is not base64-encoded JSON") from exc
    if not isinstance(document, dict):
        raise _invalid("Policy must be a JSON object")
    # Both keys are case-sensitive in S3: "Expiration" is a missing expiration.
    expiration = _parse_expiration(document.get("expiration"))
    raw_conditions = document.get("conditions")
    if not isinstance(raw_conditions, list):
        raise _invalid("Policy has no 'conditions' array")
    conditions: list[Condition] = []
    ranges: list[tuple[int, int]] = []
    for raw in raw_conditions:
        _parse_condition(raw, conditions, ranges)
    length_range = None
    if ranges:
        # Several ranges must all hold, so only their intersection is allowed.
        length_range = (max(r[0] for r in ranges), min(r[1] for r in ranges))
    return PostPolicy(access_key_id, expiration, tuple(conditions), length_range, form)


def check_conditions(policy: PostPolicy, *, bucket: str, now: datetime) -> None:
    """Raise ``AccessDenied`` unless ``policy`` is current and its form satisfies it."""
    if now > policy.expiration:
        raise _denied("Policy expired.")
    fields = policy.fields
    if fields.get("bucket", bucket) != bucket:
        # The URL names the bucket; a form that names another one is not this upload.
        raise _denied(f"Policy Condition failed: {json.dumps(['eq', '$bucket', bucket])}")
    covered: set[str] = set()
    for condition in policy.conditions:
        # A missing field is the empty string, as in S3: only an empty prefix or value fits.
        actual = bucket if condition.field == "bucket" else fields.get(condition.field, "")
        ok = (
            actual == condition.value
            if condition.op == "eq"
            else actual.startswith(condition.value)
        )
        if not ok:
            raise _denied(f"Policy Condition failed: {condition.describe()}")
        covered.add(condition.field)
    if "bucket" not in covered:
        # Without it the policy would be good for every bucket the key can write to.
        raise _denied(f"Policy Condition failed: {json.dumps(['eq', '$bucket', bucket])}")
    extra = [
        name
        for name in fields
        if name not in covered
        and name not in _UNCOVERED_FIELDS
        and not name.startswith("x-ignore-")
    ]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")
