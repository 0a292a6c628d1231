"""Strict JSON bodies: bounded reads, no coercion, and the contract's error codes."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Request
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from assured_server.errors import ApiError, invalid, missing

MAX_JSON_BYTES = 256 << 10
M = TypeVar("M", bound=BaseModel)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("missing", "Field required")
    return value


# A required string: absent, null, empty or only white space all count as missing.
RequiredStr = Annotated[str, AfterValidator(_not_blank)]


def no_nul(value: str) -> str:
    """Refuse NUL in text that is stored or looked up as sent.

    PostgreSQL text cannot hold NUL (such an insert failed with a 500), and no name or
    description has one; Django REST Framework's CharField refuses it too. Fields with rules of
    their own (file names, content types, URIs) answer their own error codes instead.
    """
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "must not contain NUL characters")
    return value


# :func:`no_nul` as the last part of an ``Annotated`` string (after its length limit).
NoNul = AfterValidator(no_nul)


class StrictBody(BaseModel):
    """Base of request bodies: unknown fields refused, JSON types never coerced."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


async def read_raw(request: Request) -> bytes:
    """The whole (small) request body, refused past :data:`MAX_JSON_BYTES`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise invalid("The request body is too large.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise invalid("The request body is too large.")
    return bytes(raw)


async def read_json(request: Request, model: type[M]) -> M:
    """Parse and validate the JSON body into ``model``, raising the contract's errors."""
    return parse_json(await read_raw(request), model)


def parse_json(raw: bytes, model: type[M]) -> M:
    """Validate raw JSON bytes into ``model``."""
    if not raw.strip():
        raise invalid("The request body must be a JSON object.")
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise to_api_error(exc, model) from None


def to_api_error(exc: ValidationError, model: type[BaseModel]) -> ApiError:
    """Map pydantic errors: missing fields first (in field order), then the first other error."""
    errors = exc.errors(include_url=False, include_context=True)
    order = {name: i for i, name in enumerate(_wire_names(model))}
    missing_fields = [
        _field_name(e["loc"]) for e in errors if e["type"] in ("missing", "none_required")
    ]
    nulls = [
        _field_name(e["loc"])
        for e in errors
        # A top-level ``null`` body has no field to name: it is not an object, not a missing field.
        if e["loc"] and e["type"].endswith("_type") and e.get("input", object()) is None
    ]
    missing_fields += [f for f in nulls if f not in missing_fields]
    if missing_fields:
        first = min(missing_fields, key=lambda f: order.get(f, len(order)))
        return missing(first)
    first_error = errors[0]
    kind = first_error["type"]
    if kind == "json_invalid":
        return invalid("The request body is not valid JSON.")
    if kind == "model_type" or not first_error["loc"]:
        return invalid("The request body must be a JSON object.")
    field = _field_name(first_error["loc"])
    if kind == "extra_forbidden":
        # ``field`` names a field; a key "" has no name to give (the body is still refused).
        if not field:
            return invalid("Unknown field with an empty name.")
        return invalid(f"Unknown field: {field}.", field=field)
    if kind == "string_too_long":
        limit = (first_error.get("ctx") or {}).get("max_length")
        return invalid(f"Field '{field}' is longer than {limit} characters.", field=field)
    return invalid(f"Field '{field}' is invalid: {first_error['msg']}.", field=field)


def _field_name(loc: tuple[int | str, ...]) -> str:
    return str(loc[0]) if loc else ""


def _wire_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that shows ``model`` as the JSON request body in ``/docs``.

    Bodies are parsed by :func:`read_json` (bounded, strict, contract errors), not by FastAPI,
    so the schema is attached by hand.
    """
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
