"""The requests of ``client.provider_profile``, shared by its async and sync classes."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from pydantic import BaseModel

from assured._request_options import RequestOptions, new_idempotency_key
from assured.exceptions import AssuredError
from assured.models.provider_profile import (
    ProviderDocument,
    ProviderDocumentCreate,
    ProviderDocumentPage,
    ProviderProfile,
    ProviderProfileCreate,
    ProviderProfilePage,
    ProviderProfileUpdate,
)

PROFILES_PATH = "/api/v1/users/provider-profiles/"
DOCUMENTS_PATH = "/api/v1/users/provider-documents/"

ModelT = TypeVar("ModelT", bound=BaseModel)


def _item(collection: str, item_id: str) -> str:
    return f"{collection}{quote(item_id, safe='')}/"


def _model(model: type[ModelT], given: ModelT | None, fields: dict[str, Any]) -> ModelT:
    """The request body: the model passed, or one built from keyword fields — not both."""
    fields = {key: value for key, value in fields.items() if value is not None}
    if given is not None:
        if fields:
            raise TypeError(f"Pass a {model.__name__} or keyword fields, not both.")
        return given
    return model(**fields)


def create_profile(profile: ProviderProfileCreate | None, **fields: Any) -> RequestOptions:
    """``POST …/provider-profiles/`` (fields left ``None`` are not sent)."""
    body = _model(ProviderProfileCreate, profile, fields).model_dump(exclude_none=True)
    return RequestOptions("POST", PROFILES_PATH, json=body, idempotency_key=new_idempotency_key())


def update_profile(
    profile_id: str, changes: ProviderProfileUpdate | None, **fields: Any
) -> RequestOptions:
    """``PATCH …/provider-profiles/{id}/`` with only the fields that were set."""
    body = _model(ProviderProfileUpdate, changes, fields).model_dump(exclude_unset=True)
    return RequestOptions("PATCH", _item(PROFILES_PATH, profile_id), json=body)


def profile(profile_id: str, method: str = "GET") -> RequestOptions:
    """``GET`` or ``DELETE …/provider-profiles/{id}/``."""
    return RequestOptions(method, _item(PROFILES_PATH, profile_id))


def _page_params(**values: str | int | None) -> dict[str, str | int]:
    return {key: value for key, value in values.items() if value is not None}


def list_profiles(page: int | None, page_size: int | None) -> RequestOptions:
    """``GET …/provider-profiles/?page=&page_size=``."""
    return RequestOptions("GET", PROFILES_PATH, params=_page_params(page=page, page_size=page_size))


def create_document(document: ProviderDocumentCreate | None, **fields: Any) -> RequestOptions:
    """``POST …/provider-documents/``."""
    body = _model(ProviderDocumentCreate, document, fields).model_dump()
    return RequestOptions("POST", DOCUMENTS_PATH, json=body, idempotency_key=new_idempotency_key())


def document(document_id: str, method: str = "GET") -> RequestOptions:
    """``GET`` or ``DELETE …/provider-documents/{id}/``."""
    return RequestOptions(method, _item(DOCUMENTS_PATH, document_id))


def list_documents(provider: str | None, page: int | None, page_size: int | None) -> RequestOptions:
    """``GET …/provider-documents/?provider=&page=&page_size=``."""
    params = _page_params(provider=provider, page=page, page_size=page_size)
    return RequestOptions("GET", DOCUMENTS_PATH, params=params)


def next_page(next_url: str | None) -> str | None:
    """The page number of a DRF ``next`` link.

    Only the number is kept, and the request is rebuilt on the client's own base URL: a proxy in
    front of the server may make the server write links with a host the client cannot reach.
    """
    if next_url is None:
        return None
    pages = parse_qs(urlsplit(next_url).query).get("page")
    if not pages or not pages[0].isdigit():
        raise AssuredError(f"Cannot follow the next-page link {next_url!r}.")
    return pages[0]


def profile_items(page: ProviderProfilePage) -> tuple[list[ProviderProfile], str | None]:
    """A page as the paginator wants it."""
    return page.results, next_page(page.next)


def document_items(page: ProviderDocumentPage) -> tuple[list[ProviderDocument], str | None]:
    """A page as the paginator wants it."""
    return page.results, next_page(page.next)


def page_number(cursor: str | None) -> int | None:
    """The paginator's cursor as a ``page`` parameter."""
    return int(cursor) if cursor is not None else None
