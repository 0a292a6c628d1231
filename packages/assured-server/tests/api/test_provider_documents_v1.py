"""Provider documents of the Assured API (v1): associating available files with profiles."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from server_helpers import Api, assert_api_error, make_api
from v1_support import (
    DOCUMENTS,
    available_file,
    count,
    document_rows,
    expire_now,
    file_url,
    new_document,
    new_profile,
    pending_file,
    rejected_file,
)

from assured_testing import ServerProcess

FIELDS = {
    "id",
    "provider",
    "document_name",
    "document_type",
    "document_url",
    "file_id",
    "mime_type",
    "size",
    "created_at",
}
RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def _detail(document_id: str) -> str:
    return f"{DOCUMENTS}{document_id}/"


@pytest.fixture(scope="module")
def owner(server: ServerProcess) -> Iterator[Api]:
    """An account of its own, so that counts are exact."""
    client = make_api(server, server.new_account("documents"))
    yield client
    client.client.close()


@pytest.fixture(scope="module")
def profile(owner: Api) -> dict[str, Any]:
    """A provider profile of the owner."""
    return new_profile(owner, first_name="Meredith", last_name="Grey")


@pytest.fixture(scope="module")
def file(owner: Api) -> dict[str, Any]:
    """An available PDF of the owner."""
    return available_file(owner)


def _body(provider: str, document_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "provider": provider,
        "document_name": "State Medical License",
        "document_type": "License",
        "document_url": document_url,
        **extra,
    }


def _refused(owner: Api, body: Any, status: int, code: str, field: str | None) -> None:
    before = count(owner, DOCUMENTS)
    response = owner.client.post(DOCUMENTS, json=body)
    assert_api_error(response, status, code, field)
    assert count(owner, DOCUMENTS) == before


# --- create and read --------------------------------------------------------------------------


def test_create_returns_the_documented_document_and_get_returns_it_again(
    owner: Api, profile: dict[str, Any], file: dict[str, Any]
) -> None:
    response = owner.client.post(DOCUMENTS, json=_body(profile["id"], file["storageUrl"]))
    assert response.status_code == 201, response.text
    document = response.json()
    assert set(document) == FIELDS
    assert document["provider"] == profile["id"]
    assert document["document_name"] == "State Medical License"
    assert document["document_type"] == "License"
    assert document["document_url"] == file["storageUrl"] == file_url(file["id"])
    assert document["file_id"] == file["id"]
    assert document["mime_type"] == "application/pdf"
    assert document["size"] == file["size"] == 2048
    assert RFC3339_Z.fullmatch(document["created_at"])

    fetched = owner.client.get(_detail(document["id"]))
    assert fetched.status_code == 200
    assert fetched.json() == document


def test_the_document_url_can_be_presigned_and_downloads_the_file(
    owner: Api, profile: dict[str, Any], file: dict[str, Any]
) -> None:
    document = new_document(owner, profile["id"], file["id"])
    response = owner.client.post(
        "/api/v1/files/presign/", json={"file_url": document["document_url"]}
    )
    assert response.status_code == 200, response.text
    downloaded = httpx.get(response.json()["url"], timeout=30)
    assert downloaded.status_code == 200
    assert len(downloaded.content) == document["size"]


def test_names_at_their_limits_counted_in_characters_are_accepted(
    owner: Api, profile: dict[str, Any], file: dict[str, Any]
) -> None:
    document = new_document(
        owner, profile["id"], file["id"], document_name="é" * 255, document_type="型" * 100
    )
    assert (document["document_name"], document["document_type"]) == ("é" * 255, "型" * 100)


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["provider", "document_name", "document_type", "document_url"])
@pytest.mark.parametrize("how", ["absent", "null", "empty", "blank"])
def test_a_missing_field_is_missing_fields_naming_it(
    owner: Api, profile: dict[str, Any], file: dict[str, Any], field: str, how: str
) -> None:
    body = _body(profile["id"], file["storageUrl"])
    if how == "absent":
        del body[field]
    else:
        body[field] = {"null": None, "empty": "", "blank": " \t "}[how]
    _refused(owner, body, 400, "MISSING_FIELDS", field)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        pytest.param({"provider": 5}, "provider", id="provider-a-number"),
        pytest.param({"document_name": ["x"]}, "document_name", id="name-a-list"),
        pytest.param({"document_type": False}, "document_type", id="type-a-bool"),
        pytest.param({"document_url": {"s3": "x"}}, "document_url", id="url-an-object"),
        pytest.param({"document_name": "x" * 256}, "document_name", id="name-256"),
        pytest.param({"document_type": "é" * 101}, "document_type", id="type-101"),
        pytest.param({"file_id": "x"}, "file_id", id="read-only-field"),
        pytest.param({"providr": "x"}, "providr", id="unknown-field"),
    ],
)
def test_a_wrong_type_overlong_string_or_unknown_field_is_invalid_request(
    owner: Api, profile: dict[str, Any], file: dict[str, Any], extra: dict[str, Any], field: str
) -> None:
    body = {**_body(profile["id"], file["storageUrl"]), **extra}
    _refused(owner, body, 400, "INVALID_REQUEST", field)


@pytest.mark.parametrize(
    "provider",
    [
        "not-a-uuid",
        "c41e9b27-6d0a-4f58-8e3b-95a2d7f1c4e8",
        "00000000-0000-0000-0000-000000000000",
        "OTHER",
        "DELETED",
    ],
)
def test_an_unknown_malformed_foreign_or_deleted_provider_is_404(
    owner: Api, other_api: Api, file: dict[str, Any], provider: str
) -> None:
    if provider == "OTHER":
        provider = new_profile(other_api)["id"]
    elif provider == "DELETED":
        provider = new_profile(owner)["id"]
        assert (
            owner.client.delete(f"/api/v1/users/provider-profiles/{provider}/").status_code == 204
        )
    _refused(owner, _body(provider, file["storageUrl"]), 404, "NOT_FOUND", None)


def _other_accounts_file(owner: Api, other_api: Api) -> str:
    return file_url(available_file(other_api)["id"])


def _pending(owner: Api, other_api: Api) -> str:
    return file_url(pending_file(owner)["id"])


def _rejected(owner: Api, other_api: Api) -> str:
    return file_url(rejected_file(owner)["id"])


def _expired(owner: Api, other_api: Api) -> str:
    file = available_file(owner)
    expire_now(owner.server, file["id"])
    assert owner.get_file(file["id"]).json()["status"] == "expired"
    return file_url(file["id"])


def _deleted(owner: Api, other_api: Api) -> str:
    file = available_file(owner)
    assert owner.client.delete(f"{owner.files_path}/{file['id']}").status_code == 204
    return file_url(file["id"])


def _landing_key(owner: Api, other_api: Api) -> str:
    return f"s3://assured-files/uploads/{available_file(owner)['id']}"


def _literal(value: str) -> Callable[[Api, Api], str]:
    return lambda owner, other_api: value


SOME_ID = "0190a0b0-0000-7000-8000-000000000000"


@pytest.mark.parametrize(
    "make_url",
    [
        pytest.param(_literal(f"https://assured-files/files/{SOME_ID}"), id="https-scheme"),
        pytest.param(_literal(f"S3://assured-files/files/{SOME_ID}"), id="upper-case-scheme"),
        pytest.param(_literal(f"s3:/assured-files/files/{SOME_ID}"), id="one-slash"),
        pytest.param(_literal(f"s3://other-bucket/files/{SOME_ID}"), id="other-bucket"),
        pytest.param(_literal(f"s3://assured-files-2/files/{SOME_ID}"), id="bucket-prefix"),
        pytest.param(_literal(f"files/{SOME_ID}"), id="bare-key"),
        pytest.param(_literal(SOME_ID), id="bare-id"),
        pytest.param(_literal(f"s3://assured-files/files/{SOME_ID}"), id="unknown-file"),
        pytest.param(_literal("s3://assured-files/files/not-a-uuid"), id="malformed-id"),
        pytest.param(_literal("s3://assured-files/files/"), id="no-id"),
        pytest.param(_literal("s3://assured-files"), id="bucket-only"),
        pytest.param(_landing_key, id="landing-key-of-an-available-file"),
        pytest.param(_other_accounts_file, id="other-accounts-file"),
        pytest.param(_pending, id="pending-file"),
        pytest.param(_rejected, id="rejected-file"),
        pytest.param(_expired, id="expired-file"),
        pytest.param(_deleted, id="deleted-file"),
    ],
)
def test_a_url_that_is_no_available_file_of_the_account_is_invalid_document_url(
    owner: Api,
    other_api: Api,
    profile: dict[str, Any],
    make_url: Callable[[Api, Api], str],
) -> None:
    url = make_url(owner, other_api)
    _refused(owner, _body(profile["id"], url), 400, "INVALID_DOCUMENT_URL", "document_url")


# --- list -------------------------------------------------------------------------------------


def test_list_by_provider_pages_newest_first(owner: Api, file: dict[str, Any]) -> None:
    provider = new_profile(owner)["id"]
    neighbour = new_profile(owner)["id"]
    made = [new_document(owner, provider, file["id"], document_name=f"D{i}") for i in range(3)]
    new_document(owner, neighbour, file["id"])

    response = owner.client.get(DOCUMENTS, params={"provider": provider, "page_size": 2})
    assert response.status_code == 200, response.text
    first = response.json()
    assert first["count"] == 3 and first["previous"] is None
    assert first["results"] == [made[2], made[1]]
    assert first["next"] is not None
    second = owner.client.get(first["next"]).json()
    assert second["results"] == [made[0]]
    assert second["next"] is None and second["previous"] is not None
    assert "provider=" + provider in second["previous"]
    assert_api_error(
        owner.client.get(DOCUMENTS, params={"provider": provider, "page_size": 2, "page": 3}),
        404,
        "NOT_FOUND",
    )


def test_without_provider_the_list_holds_every_document_of_the_account(
    owner: Api, other_api: Api, file: dict[str, Any]
) -> None:
    before = count(owner, DOCUMENTS)
    new_document(owner, new_profile(owner)["id"], file["id"])
    theirs = new_document(other_api, new_profile(other_api)["id"], available_file(other_api)["id"])
    assert count(owner, DOCUMENTS) == before + 1
    listed = owner.client.get(DOCUMENTS, params={"page_size": 200}).json()["results"]
    assert theirs["id"] not in [d["id"] for d in listed]


@pytest.mark.parametrize("kind", ["unknown", "deleted", "foreign"])
def test_an_unknown_deleted_or_foreign_provider_lists_nothing(
    owner: Api, other_api: Api, file: dict[str, Any], kind: str
) -> None:
    if kind == "unknown":
        provider = str(uuid.uuid4())
    elif kind == "deleted":
        provider = new_profile(owner)["id"]
        new_document(owner, provider, file["id"])
        assert count(owner, DOCUMENTS, provider=provider) == 1
        assert (
            owner.client.delete(f"/api/v1/users/provider-profiles/{provider}/").status_code == 204
        )
    else:
        provider = new_profile(other_api)["id"]
        new_document(other_api, provider, available_file(other_api)["id"])
    response = owner.client.get(DOCUMENTS, params={"provider": provider})
    assert response.status_code == 200, response.text
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"provider": "not-a-uuid"}, "provider"),
        ({"provider": ""}, "provider"),
        ({"provider": SOME_ID.upper()}, "provider"),
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page_size": "201"}, "page_size"),
    ],
)
def test_a_bad_list_parameter_is_invalid_request_naming_it(
    owner: Api, params: dict[str, str], field: str
) -> None:
    assert_api_error(owner.client.get(DOCUMENTS, params=params), 400, "INVALID_REQUEST", field)


# --- delete, isolation, scopes ----------------------------------------------------------------


def test_delete_answers_204_removes_the_document_and_keeps_the_file(
    owner: Api, profile: dict[str, Any]
) -> None:
    file = available_file(owner)
    document = new_document(owner, profile["id"], file["id"])
    response = owner.client.delete(_detail(document["id"]))
    assert response.status_code == 204 and response.content == b""
    assert_api_error(owner.client.get(_detail(document["id"])), 404, "NOT_FOUND")
    assert_api_error(owner.client.delete(_detail(document["id"])), 404, "NOT_FOUND")
    assert owner.get_file(file["id"]).json()["status"] == "available"
    assert owner.download_url(file["id"]).status_code == 200
    assert owner.client.get(f"/api/v1/users/provider-profiles/{profile['id']}/").status_code == 200


def test_deleting_the_file_removes_its_documents(
    owner: Api, server: ServerProcess, profile: dict[str, Any]
) -> None:
    file = available_file(owner)
    document = new_document(owner, profile["id"], file["id"])
    assert owner.client.delete(f"{owner.files_path}/{file['id']}").status_code == 204
    assert document_rows(server, file_id=file["id"]) == 0
    assert_api_error(owner.client.get(_detail(document["id"])), 404, "NOT_FOUND")


@pytest.mark.parametrize("bad_id", ["not-a-uuid", SOME_ID, SOME_ID.upper()])
def test_an_unknown_or_malformed_id_is_404(owner: Api, bad_id: str) -> None:
    assert_api_error(owner.client.get(_detail(bad_id)), 404, "NOT_FOUND")
    assert_api_error(owner.client.delete(_detail(bad_id)), 404, "NOT_FOUND")


def test_another_accounts_document_is_404_and_stays(
    owner: Api, profile: dict[str, Any], file: dict[str, Any], other_api: Api
) -> None:
    document = new_document(owner, profile["id"], file["id"])
    assert_api_error(other_api.client.get(_detail(document["id"])), 404, "NOT_FOUND")
    assert_api_error(other_api.client.delete(_detail(document["id"])), 404, "NOT_FOUND")
    assert owner.client.get(_detail(document["id"])).json() == document


def test_a_document_cannot_be_changed_in_place(
    owner: Api, profile: dict[str, Any], file: dict[str, Any]
) -> None:
    document = new_document(owner, profile["id"], file["id"])
    response = owner.client.patch(_detail(document["id"]), json={"document_name": "X"})
    assert_api_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "PATCH" not in response.headers["allow"]
    assert owner.client.get(_detail(document["id"])).json() == document


@pytest.mark.parametrize(
    ("scopes", "can_read", "can_write"),
    [
        ("providers:read", True, False),
        ("providers:write", False, True),
        ("files:read files:write", False, False),
    ],
)
def test_documents_need_providers_read_to_read_and_providers_write_to_change(
    server: ServerProcess, scopes: str, can_read: bool, can_write: bool
) -> None:
    creds = server.new_account("scoped-docs", scopes=scopes)
    key = server.admin("create-api-key", "--account", creds.account_id)["api_key"]
    full = make_api(server, type(creds)(creds.account_id, key))
    scoped = make_api(server, creds)
    try:
        profile = new_profile(full)
        file = available_file(full)
        document = new_document(full, profile["id"], file["id"])
        for response in (
            scoped.client.get(DOCUMENTS),
            scoped.client.get(DOCUMENTS, params={"provider": profile["id"]}),
            scoped.client.get(_detail(document["id"])),
        ):
            if can_read:
                assert response.status_code == 200, response.text
            else:
                assert_api_error(response, 403, "FORBIDDEN")
        for response in (
            scoped.client.post(DOCUMENTS, json=_body(profile["id"], file["storageUrl"])),
            scoped.client.delete(_detail(document["id"])),
        ):
            if can_write:
                assert response.status_code in (201, 204), response.text
            else:
                assert_api_error(response, 403, "FORBIDDEN")
        if not can_write:
            assert count(full, DOCUMENTS) == 1
    finally:
        full.client.close()
        scoped.client.close()
