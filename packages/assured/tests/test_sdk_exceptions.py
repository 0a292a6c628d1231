"""The error tree: one class per status, every body shape mapped, ValueError for local checks."""

from __future__ import annotations

import pickle

import httpx
import pytest
import respx
from sdk_helpers import BASE_URL, error_body

from assured import AssuredClient
from assured._responses import status_error_from_response
from assured.exceptions import (
    APIConnectionError,
    AssuredAPIError,
    AssuredError,
    AssuredValidationError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GoneError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnsupportedFileFormatError,
    error_class_for_status,
)

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (410, GoneError),
    (413, PayloadTooLargeError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
]


def _response(status: int, **kwargs: object) -> httpx.Response:
    request = httpx.Request("GET", f"{BASE_URL}/x")
    return httpx.Response(status, request=request, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_each_status_maps_to_its_class(status: int, cls: type[AssuredAPIError]) -> None:
    assert error_class_for_status(status) is cls
    error = status_error_from_response(
        _response(status, json=error_body("SOME_CODE", "Something.", field="fileName"))
    )
    assert type(error) is cls
    assert isinstance(error, AssuredAPIError)
    assert isinstance(error, AssuredError)
    assert error.status_code == status
    assert error.code == "SOME_CODE"
    assert error.detail == "Something."
    assert error.field == "fileName"
    assert error.request_id == "req-123"
    assert error.response is not None


@pytest.mark.parametrize("status", [405, 418, 422, 431])
def test_other_statuses_map_to_the_generic_api_error(status: int) -> None:
    error = status_error_from_response(_response(status, json=error_body("X", "y")))
    assert type(error) is AssuredAPIError


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_non_json_bodies_still_map_to_the_right_class(
    status: int, cls: type[AssuredAPIError]
) -> None:
    error = status_error_from_response(
        _response(status, text="upstream broke", headers={"X-Request-ID": "rid-9"})
    )
    assert type(error) is cls
    assert error.code is None
    assert error.detail == "upstream broke"
    assert error.request_id == "rid-9"


def test_empty_body_uses_the_reason_phrase() -> None:
    error = status_error_from_response(_response(502))
    assert isinstance(error, InternalServerError)
    assert error.detail == "Bad Gateway"


def test_html_body_is_not_shown_as_the_detail() -> None:
    error = status_error_from_response(
        _response(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>")
    )
    assert error.detail == "Bad Gateway"


def test_json_that_is_not_an_object_is_tolerated() -> None:
    error = status_error_from_response(_response(400, json=["odd"]))
    assert isinstance(error, BadRequestError)
    assert error.code is None


def test_s3_xml_errors_are_parsed() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        "<Message>Policy expired &amp; refused</Message><RequestId>abc</RequestId></Error>"
    )
    error = status_error_from_response(
        _response(403, text=body, headers={"Content-Type": "application/xml"})
    )
    assert isinstance(error, PermissionDeniedError)
    assert error.code == "AccessDenied"
    assert error.detail == "Policy expired & refused"
    assert error.request_id == "abc"


def test_message_names_status_code_detail_and_request_id() -> None:
    error = status_error_from_response(_response(404, json=error_body("NOT_FOUND", "Not found.")))
    assert str(error) == "404 NOT_FOUND: Not found. (request id req-123)"


def test_api_error_can_be_built_directly_with_the_documented_fields() -> None:
    error = AssuredAPIError(
        400, "MISSING_FIELDS", "Missing required field: provider.", "r", "provider"
    )
    assert (error.status_code, error.code, error.field, error.request_id) == (
        400,
        "MISSING_FIELDS",
        "provider",
        "r",
    )


def test_api_errors_pickle_without_their_response() -> None:
    error = status_error_from_response(_response(410, json=error_body("FILE_EXPIRED", "Gone.")))
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(copy) is GoneError
    assert copy.detail == "Gone."
    assert copy.response is None


def test_local_errors_pickle_with_their_message() -> None:
    from sdk_helpers import file_json

    from assured.exceptions import FileProcessingTimeoutError, FileRejectedError
    from assured.models.files import File

    rejected = File.model_validate(file_json(status="rejected", rejectionReason="FILE_TOO_LARGE"))
    for error in (
        UnsupportedFileFormatError(".docx"),
        FileRejectedError(rejected),
        FileProcessingTimeoutError("f-1", 12.0),
    ):
        copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
        assert type(copy) is type(error)
        assert str(copy) == str(error)


def test_unsupported_format_message_is_the_documented_one() -> None:
    error = UnsupportedFileFormatError(".docx")
    assert isinstance(error, ValueError)
    assert isinstance(error, AssuredValidationError)
    assert str(error) == (
        "Unsupported file format: '.docx'. Assured only accepts PDF, PNG, and JPEG files."
    )


async def test_api_failures_surface_as_the_documented_exception(api: respx.MockRouter) -> None:
    api.post("/api/v1/files/handle/").mock(
        return_value=httpx.Response(
            413, json=error_body("FILE_TOO_LARGE", "File exceeds the 100 MiB limit.")
        )
    )
    async with AssuredClient(base_url=BASE_URL, api_key="k") as client:
        try:
            await client.files.upload(b"%PDF-1.7", filename="big.pdf")
        except AssuredAPIError as e:
            assert e.status_code == 413
            assert e.detail == "File exceeds the 100 MiB limit."
        else:
            pytest.fail("no error")


def test_connection_error_keeps_its_request() -> None:
    request = httpx.Request("GET", "http://x")
    error = APIConnectionError(request=request)
    assert error.request is request
    assert str(error) == "Connection error."
