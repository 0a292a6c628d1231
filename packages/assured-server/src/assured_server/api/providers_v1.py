"""The Assured API (v1): provider profiles and the documents associated with them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

from assured_server.api import idempotency, schemas
from assured_server.api.body import NoNul, RequiredStr, StrictBody, parse_json, read_raw
from assured_server.api.deps import Principal, principal, services
from assured_server.api.idempotency import Finish
from assured_server.api.pagination import page_request, paginated
from assured_server.api.query import uuid_param
from assured_server.api.schemas import answers, answers_nothing
from assured_server.auth.scopes import PROVIDERS_READ, PROVIDERS_WRITE
from assured_server.clock import utcnow
from assured_server.db.errors import ConstraintViolation
from assured_server.db.models import ProviderProfile, StoredFile
from assured_server.errors import ApiError, ErrorCode, not_found
from assured_server.files.records import AVAILABLE, effective_status
from assured_server.files.urls import ForeignUrl, file_id_of
from assured_server.files.views import storage_url
from assured_server.providers.npi import is_valid_npi
from assured_server.providers.rules import (
    DOCUMENT_NAME_MAX,
    DOCUMENT_TYPE_MAX,
    EMAIL_MAX,
    NAME_MAX,
    SPECIALTY_MAX,
    is_plausible_email,
)
from assured_server.providers.views import document_v1, profile_v1
from assured_server.services import Services
from assured_server.stores import Unit

router = APIRouter(prefix="/api/v1/users", tags=["providers (v1)"])
Caller = Annotated[Principal, Depends(principal)]
PROFILES = "/provider-profiles/"
DOCUMENTS = "/provider-documents/"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("missing", "Field required")
    return value


def _not_null(value: object) -> object:
    # PATCH may leave a required field out, but may not clear it.
    if value is None:
        raise PydanticCustomError("missing", "Field required")
    return value


def _npi(value: str) -> str:
    if not is_valid_npi(value):
        raise PydanticCustomError("npi", "not 10 digits with a valid NPI check digit")
    return value


def _email(value: str) -> str:
    if not is_plausible_email(value):
        raise PydanticCustomError("email", "not a valid e-mail address")
    return value


def _optional_not_blank(value: str) -> str:
    # An optional field is cleared with null; a blank string is more likely a client's mistake.
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank (send null to leave it empty)")
    return value


# RequiredStr's blank check, placed after the length limit so that an overlong value reads as
# too long rather than as some other invalid value.
Name = Annotated[str, StringConstraints(max_length=NAME_MAX), AfterValidator(_not_blank), NoNul]
Email = Annotated[str, StringConstraints(max_length=EMAIL_MAX), AfterValidator(_email)]
Npi = Annotated[str, AfterValidator(_npi)]
Specialty = Annotated[
    str,
    StringConstraints(max_length=SPECIALTY_MAX),
    AfterValidator(_optional_not_blank),
    NoNul,
]


class ProfileCreate(StrictBody):
    """Body of ``POST /api/v1/users/provider-profiles/``."""

    first_name: Name
    last_name: Name
    email: Email | None = None
    npi: Npi | None = None
    specialty: Specialty | None = None


class ProfileUpdate(StrictBody):
    """Body of ``PATCH /api/v1/users/provider-profiles/{id}/``: any subset of the fields."""

    first_name: Annotated[Name | None, BeforeValidator(_not_null)] = None
    last_name: Annotated[Name | None, BeforeValidator(_not_null)] = None
    email: Email | None = None
    npi: Npi | None = None
    specialty: Specialty | None = None


class DocumentCreate(StrictBody):
    """Body of ``POST /api/v1/users/provider-documents/``."""

    provider: RequiredStr
    document_name: Annotated[
        str,
        StringConstraints(max_length=DOCUMENT_NAME_MAX),
        AfterValidator(_not_blank),
        NoNul,
    ]
    document_type: Annotated[
        str,
        StringConstraints(max_length=DOCUMENT_TYPE_MAX),
        AfterValidator(_not_blank),
        NoNul,
    ]
    document_url: RequiredStr


# --- provider profiles ------------------------------------------------------------------------


@router.post(
    PROFILES,
    status_code=201,
    summary="Create a provider profile",
    **answers(schemas.ProviderProfile, 201),
)
async def create_profile(request: Request, who: Caller) -> Response:
    """``{first_name, last_name, email?, npi?, specialty?}`` → 201 and the profile."""
    who.require(PROVIDERS_WRITE)
    svc = services(request)

    async def create(raw: bytes, finish: Finish | None) -> tuple[int, dict[str, Any]]:
        body = parse_json(raw, ProfileCreate)
        values = body.model_dump()
        if finish is None:
            row = await svc.stores.providers.add_profile(who.account_id, values, utcnow())
            return 201, profile_v1(row)
        async with svc.stores.unit() as unit:
            row = await svc.stores.providers.add_profile(who.account_id, values, utcnow(), unit)
            response = profile_v1(row)
            await finish(unit, 201, response)
        return 201, response

    return await idempotency.run_json(svc, request, who.account_id, create)


@router.get(
    PROFILES,
    summary="List provider profiles, newest first",
    **answers(schemas.Page[schemas.ProviderProfile]),
)
async def list_profiles(request: Request, who: Caller) -> dict[str, Any]:
    """DRF pagination: ``?page=&page_size=`` → ``{"count", "next", "previous", "results"}``."""
    who.require(PROVIDERS_READ)
    svc = services(request)
    page = page_request(request)
    count, rows = await svc.stores.providers.page_of_profiles(
        who.account_id, offset=page.offset, limit=page.size
    )
    return paginated(request, page, count, [profile_v1(row) for row in rows])


@router.get(
    PROFILES + "{profile_id}/",
    summary="Get a provider profile",
    **answers(schemas.ProviderProfile),
)
async def get_profile(profile_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """The profile, or 404 (also for another account's id)."""
    who.require(PROVIDERS_READ)
    row = await services(request).stores.providers.profile(who.account_id, profile_id)
    if row is None:
        raise not_found("No such provider profile.")
    return profile_v1(row)


@router.patch(
    PROFILES + "{profile_id}/",
    summary="Change some fields of a provider profile",
    **answers(schemas.ProviderProfile),
)
async def update_profile(profile_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """A partial update: fields left out keep their value; optional ones may be set to null."""
    who.require(PROVIDERS_WRITE)
    svc = services(request)
    body = parse_json(await read_raw(request), ProfileUpdate)
    changes = body.model_dump(include=body.model_fields_set)
    row = await svc.stores.providers.update_profile(who.account_id, profile_id, changes, utcnow())
    if row is None:
        raise not_found("No such provider profile.")
    return profile_v1(row)


@router.delete(
    PROFILES + "{profile_id}/",
    status_code=204,
    summary="Delete a provider profile",
    **answers_nothing(),
)
async def delete_profile(profile_id: str, request: Request, who: Caller) -> Response:
    """204; the profile's document associations are deleted with it, their files stay."""
    who.require(PROVIDERS_WRITE)
    deleted = await services(request).stores.providers.delete_profile(who.account_id, profile_id)
    if not deleted:
        raise not_found("No such provider profile.")
    return Response(status_code=204)


# --- provider documents -----------------------------------------------------------------------


@router.post(
    DOCUMENTS,
    status_code=201,
    summary="Associate an uploaded file with a provider",
    **answers(schemas.ProviderDocument, 201),
)
async def create_document(request: Request, who: Caller) -> Response:
    """``{provider, document_name, document_type, document_url}`` → 201 and the document."""
    who.require(PROVIDERS_WRITE)
    svc = services(request)

    async def create(raw: bytes, finish: Finish | None) -> tuple[int, dict[str, Any]]:
        body = parse_json(raw, DocumentCreate)
        file_id = _file_id(svc, body.document_url)
        # Read outside the write: the foreign keys still hold at the insert (a provider or
        # file deleted meanwhile makes it fail, answered below).
        profile, file = await _references(svc, who, body.provider, file_id)
        now = utcnow()

        async def add(unit: Unit | None) -> dict[str, Any]:
            document = await svc.stores.providers.add_document(
                profile,
                file,
                document_name=body.document_name,
                document_type=body.document_type,
                document_url=storage_url(svc.settings.bucket, file.id),
                now=now,
                unit=unit,
            )
            return document_v1(document)

        try:
            if finish is None:
                response = await add(None)
            else:
                async with svc.stores.unit() as unit:
                    response = await add(unit)
                    await finish(unit, 201, response)
        except ConstraintViolation:
            # The provider or the file was deleted concurrently: check again to answer what
            # the client would see now.
            await _references(svc, who, body.provider, file_id)
            raise
        return 201, response

    return await idempotency.run_json(svc, request, who.account_id, create)


@router.get(
    DOCUMENTS,
    summary="List provider documents, newest first",
    **answers(schemas.Page[schemas.ProviderDocument]),
)
async def list_documents(request: Request, who: Caller) -> dict[str, Any]:
    """``?provider=<id>`` (optional) and DRF pagination; an unknown provider lists nothing."""
    who.require(PROVIDERS_READ)
    svc = services(request)
    provider_id = uuid_param(request.query_params, "provider")
    page = page_request(request)
    count, documents = await svc.stores.providers.page_of_documents(
        who.account_id, provider_id=provider_id, offset=page.offset, limit=page.size
    )
    return paginated(request, page, count, [document_v1(d) for d in documents])


@router.get(
    DOCUMENTS + "{document_id}/",
    summary="Get a provider document",
    **answers(schemas.ProviderDocument),
)
async def get_document(document_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """The document, or 404 (also for another account's id)."""
    who.require(PROVIDERS_READ)
    document = await services(request).stores.providers.document(who.account_id, document_id)
    if document is None:
        raise not_found("No such provider document.")
    return document_v1(document)


@router.delete(
    DOCUMENTS + "{document_id}/",
    status_code=204,
    summary="Delete a document",
    **answers_nothing(),
)
async def delete_document(document_id: str, request: Request, who: Caller) -> Response:
    """204; only the association goes, the file stays."""
    who.require(PROVIDERS_WRITE)
    deleted = await services(request).stores.providers.delete_document(who.account_id, document_id)
    if not deleted:
        raise not_found("No such provider document.")
    return Response(status_code=204)


def _bad_document_url(detail: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_DOCUMENT_URL, detail, field="document_url")


def _file_id(svc: Services, document_url: str) -> str:
    try:
        file_id = file_id_of(document_url, svc.settings.bucket)
    except ForeignUrl as exc:
        raise _bad_document_url(f"document_url is not a file of this server: {exc}") from None
    if file_id is None:
        raise _bad_document_url("document_url names no file of this account.")
    return file_id


async def _references(
    svc: Services, who: Principal, provider_id: str, file_id: str
) -> tuple[ProviderProfile, StoredFile]:
    """The provider (else 404) and the available file (else 400) that a new document links."""
    profile = await svc.stores.providers.profile(who.account_id, provider_id)
    if profile is None:
        raise not_found("No such provider profile.")
    file = await svc.stores.files.owned(who.account_id, file_id)
    if file is None:
        raise _bad_document_url("document_url names no file of this account.")
    status = effective_status(file, utcnow())
    if status != AVAILABLE:
        raise _bad_document_url(f"The file is not available (status: {status}).")
    return profile, file
