"""Provider profiles of the Assured API (v1): create, read, change, delete, list, isolation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from server_helpers import Api, assert_api_error, make_api
from v1_support import DOCUMENTS, PROFILES, available_file, count, document_rows, new_document
from v1_support import new_profile as created

from assured_testing import ServerProcess

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
FIELDS = {"id", "first_name", "last_name", "email", "npi", "specialty", "created_at", "updated_at"}
VALID = {"first_name": "Ada", "last_name": "Lovelace"}


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _detail(profile_id: str) -> str:
    return f"{PROFILES}{profile_id}/"


@pytest.fixture(scope="module")
def lister(server: ServerProcess) -> Iterator[Api]:
    """An account of its own, so that counts and pages are exact."""
    client = make_api(server, server.new_account("profiles"))
    yield client
    client.client.close()


def _refused(api: Api, body: Any, status: int, code: str, field: str | None) -> None:
    before = count(api, PROFILES)
    if isinstance(body, bytes):
        response = api.client.post(
            PROFILES, content=body, headers={"Content-Type": "application/json"}
        )
    else:
        response = api.client.post(PROFILES, json=body)
    assert_api_error(response, status, code, field)
    assert count(api, PROFILES) == before


# --- create -----------------------------------------------------------------------------------


def test_create_returns_the_documented_profile_and_get_returns_it_again(api: Api) -> None:
    body = {
        "first_name": "Gregory",
        "last_name": "House",
        "email": "g.house@ppth.example.org",
        "npi": "1234567893",
        "specialty": "Diagnostic Medicine",
    }
    response = api.client.post(PROFILES, json=body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    profile = response.json()
    assert set(profile) == FIELDS
    assert UUID.fullmatch(profile["id"])
    assert {k: profile[k] for k in body} == body
    assert RFC3339_Z.fullmatch(profile["created_at"])
    assert profile["updated_at"] == profile["created_at"]

    fetched = api.client.get(_detail(profile["id"]))
    assert fetched.status_code == 200
    assert fetched.json() == profile


def test_optional_fields_may_be_left_out_or_null(api: Api) -> None:
    assert {k: v for k, v in created(api).items() if k in ("email", "npi", "specialty")} == {
        "email": None,
        "npi": None,
        "specialty": None,
    }
    nulls = created(api, email=None, npi=None, specialty=None)
    assert (nulls["email"], nulls["npi"], nulls["specialty"]) == (None, None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"last_name": "L"}, "first_name", id="first-absent"),
        pytest.param({"first_name": None, "last_name": "L"}, "first_name", id="first-null"),
        pytest.param({"first_name": "", "last_name": "L"}, "first_name", id="first-empty"),
        pytest.param({"first_name": " \t", "last_name": "L"}, "first_name", id="first-blank"),
        pytest.param({"first_name": "F"}, "last_name", id="last-absent"),
        pytest.param({"first_name": "F", "last_name": None}, "last_name", id="last-null"),
        pytest.param({"first_name": "F", "last_name": "  "}, "last_name", id="last-blank"),
        pytest.param({}, "first_name", id="both-absent-names-the-first"),
        pytest.param(
            {"last_name": None, "npi": "bad"}, "first_name", id="missing-wins-over-invalid"
        ),
    ],
)
def test_a_missing_name_is_missing_fields_naming_it(
    api: Api, body: dict[str, Any], field: str
) -> None:
    _refused(api, body, 400, "MISSING_FIELDS", field)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        pytest.param({"first_name": 5}, "first_name", id="first-not-a-string"),
        pytest.param({"last_name": ["L"]}, "last_name", id="last-a-list"),
        pytest.param({"email": 5}, "email", id="email-not-a-string"),
        pytest.param({"npi": 1234567893}, "npi", id="npi-a-number"),
        pytest.param({"specialty": True}, "specialty", id="specialty-a-bool"),
        pytest.param({"first_name": "x" * 151}, "first_name", id="first-151"),
        pytest.param({"last_name": "é" * 151}, "last_name", id="last-151-characters"),
        pytest.param({"email": "a@" + "b" * 249 + ".org"}, "email", id="email-255"),
        pytest.param({"specialty": "s" * 201}, "specialty", id="specialty-201"),
        pytest.param({"specialty": ""}, "specialty", id="specialty-empty"),
        pytest.param({"nickname": "Doc"}, "nickname", id="unknown-field"),
        pytest.param({"First_name": "Ada"}, "First_name", id="typo-in-a-field-name"),
    ],
)
def test_a_wrong_type_overlong_string_or_unknown_field_is_invalid_request(
    api: Api, extra: dict[str, Any], field: str
) -> None:
    _refused(api, {**VALID, **extra}, 400, "INVALID_REQUEST", field)


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b'"Ada"', b"null", b'{"first_name": "Ada",}', b"\xff\xfe"]
)
def test_malformed_or_non_object_json_is_invalid_request(api: Api, raw: bytes) -> None:
    _refused(api, raw, 400, "INVALID_REQUEST", None)


def test_strings_at_their_limits_counted_in_characters_are_accepted(api: Api) -> None:
    email = "é" * 64 + "@" + "ü" * 185 + ".org"
    assert len(email) == 254
    profile = created(
        api, first_name="é" * 150, last_name="名" * 150, email=email, specialty="ß" * 200
    )
    assert profile["first_name"] == "é" * 150 and profile["email"] == email


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126", "1000000004"])
def test_an_npi_with_a_valid_check_digit_is_accepted(api: Api, npi: str) -> None:
    assert created(api, npi=npi)["npi"] == npi


@pytest.mark.parametrize(
    "npi",
    [
        "1234567890",  # wrong check digit
        "1234567894",
        "2234567893",  # one digit changed
        "123456789",  # 9 digits
        "12345678930",  # 11 digits
        "123456789a",
        "１２３４５６７８９３",  # fullwidth digits: digits, but not ASCII
        "١٢٣٤٥٦٧٨٩٣",  # Arabic-Indic digits
        " 1234567893",
        "1234567893 ",
        "",
        "0000000000",  # all zeros fails the check (the check digit would be 6)
    ],
)
def test_an_invalid_npi_is_invalid_request_naming_npi(api: Api, npi: str) -> None:
    _refused(api, {**VALID, "npi": npi}, 400, "INVALID_REQUEST", "npi")


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "a@b",
        "@example.org",
        "a@@example.org",
        "a b@example.org",
        "a@example..org",
        "a@example.org.",
        "a\n@example.org",
        "",
        "x" * 65 + "@b.org",
    ],
)
def test_an_invalid_email_is_invalid_request_naming_email(api: Api, email: str) -> None:
    _refused(api, {**VALID, "email": email}, 400, "INVALID_REQUEST", "email")


# --- read, change, delete ---------------------------------------------------------------------


def test_patch_changes_only_the_given_fields_and_moves_updated_at(api: Api) -> None:
    profile = created(api, email="a@example.org", npi="1234567893", specialty="Cardiology")
    response = api.client.patch(_detail(profile["id"]), json={"specialty": "Oncology"})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed == {**profile, "specialty": "Oncology", "updated_at": changed["updated_at"]}
    assert _ts(changed["updated_at"]) > _ts(profile["updated_at"])
    assert RFC3339_Z.fullmatch(changed["updated_at"])
    assert api.client.get(_detail(profile["id"])).json() == changed

    again = api.client.patch(_detail(profile["id"]), json={}).json()
    assert _ts(again["updated_at"]) > _ts(changed["updated_at"])
    assert {k: v for k, v in again.items() if k != "updated_at"} == {
        k: v for k, v in changed.items() if k != "updated_at"
    }


def test_patch_may_clear_optional_fields_with_null(api: Api) -> None:
    profile = created(api, email="a@example.org", npi="1234567893", specialty="Cardiology")
    response = api.client.patch(
        _detail(profile["id"]), json={"email": None, "npi": None, "specialty": None}
    )
    assert response.status_code == 200, response.text
    assert api.client.get(_detail(profile["id"])).json() | {"updated_at": None} == profile | {
        "email": None,
        "npi": None,
        "specialty": None,
        "updated_at": None,
    }


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        pytest.param({"first_name": None}, 400, "MISSING_FIELDS", "first_name", id="null-name"),
        pytest.param({"last_name": ""}, 400, "MISSING_FIELDS", "last_name", id="empty-name"),
        pytest.param({"last_name": "  "}, 400, "MISSING_FIELDS", "last_name", id="blank-name"),
        pytest.param({"npi": "1234567890"}, 400, "INVALID_REQUEST", "npi", id="bad-npi"),
        pytest.param({"email": "nope"}, 400, "INVALID_REQUEST", "email", id="bad-email"),
        pytest.param({"first_name": "x" * 151}, 400, "INVALID_REQUEST", "first_name", id="long"),
        pytest.param({"id": "x"}, 400, "INVALID_REQUEST", "id", id="read-only-id"),
        pytest.param({"created_at": "x"}, 400, "INVALID_REQUEST", "created_at", id="created"),
        pytest.param({"nickname": "x"}, 400, "INVALID_REQUEST", "nickname", id="unknown"),
        pytest.param({"first_name": 1}, 400, "INVALID_REQUEST", "first_name", id="wrong-type"),
    ],
)
def test_a_bad_patch_is_refused_and_changes_nothing(
    api: Api, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    profile = created(api, npi="1234567893", email="a@example.org")
    assert_api_error(api.client.patch(_detail(profile["id"]), json=body), status, code, field)
    assert api.client.get(_detail(profile["id"])).json() == profile


def test_delete_answers_204_and_the_profile_is_gone(api: Api) -> None:
    profile = created(api)
    response = api.client.delete(_detail(profile["id"]))
    assert response.status_code == 204 and response.content == b""
    assert_api_error(api.client.get(_detail(profile["id"])), 404, "NOT_FOUND")
    assert_api_error(api.client.patch(_detail(profile["id"]), json={}), 404, "NOT_FOUND")
    assert_api_error(api.client.delete(_detail(profile["id"])), 404, "NOT_FOUND")


def test_delete_removes_the_profiles_documents_but_keeps_their_files(
    api: Api, server: ServerProcess
) -> None:
    profile = created(api)
    file = available_file(api)
    documents = [new_document(api, profile["id"], file["id"]) for _ in range(2)]
    assert document_rows(server, provider_id=profile["id"]) == 2

    assert api.client.delete(_detail(profile["id"])).status_code == 204

    # The rows themselves are gone: SQLite enforces ON DELETE CASCADE only with foreign keys on.
    assert document_rows(server, provider_id=profile["id"]) == 0
    for document in documents:
        assert_api_error(api.client.get(f"{DOCUMENTS}{document['id']}/"), 404, "NOT_FOUND")
    assert count(api, DOCUMENTS, provider=profile["id"]) == 0
    assert api.get_file(file["id"]).json()["status"] == "available"


@pytest.mark.parametrize(
    "bad_id",
    [
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "0190A0B0-0000-7000-8000-000000000000",
        "0190a0b00000700080000000000000000000",
        "%20",
    ],
)
def test_an_unknown_or_malformed_id_is_404_for_get_patch_and_delete(api: Api, bad_id: str) -> None:
    path = _detail(bad_id)
    assert_api_error(api.client.get(path), 404, "NOT_FOUND")
    assert_api_error(api.client.patch(path, json={"first_name": "X"}), 404, "NOT_FOUND")
    assert_api_error(api.client.delete(path), 404, "NOT_FOUND")


def test_another_accounts_profile_is_404_and_stays_unchanged(api: Api, other_api: Api) -> None:
    profile = created(other_api)
    path = _detail(profile["id"])
    assert_api_error(api.client.get(path), 404, "NOT_FOUND")
    assert_api_error(api.client.patch(path, json={"first_name": "Mallory"}), 404, "NOT_FOUND")
    assert_api_error(api.client.delete(path), 404, "NOT_FOUND")
    assert other_api.client.get(path).json() == profile


def test_a_method_the_route_lacks_is_405_with_allow(api: Api) -> None:
    profile = created(api)
    response = api.client.put(_detail(profile["id"]), json=VALID)
    assert_api_error(response, 405, "METHOD_NOT_ALLOWED")
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "PATCH", "DELETE"}


# --- list -------------------------------------------------------------------------------------


def test_an_empty_list_is_page_one_with_nothing(server: ServerProcess) -> None:
    empty = make_api(server, server.new_account("empty"))
    try:
        response = empty.client.get(PROFILES)
        assert response.status_code == 200, response.text
        assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
        assert_api_error(empty.client.get(PROFILES, params={"page": 2}), 404, "NOT_FOUND")
    finally:
        empty.client.close()


def test_list_pages_newest_first_with_absolute_links(lister: Api) -> None:
    made = [created(lister, first_name=f"P{i}") for i in range(5)]
    newest_first = [p["id"] for p in reversed(made)]

    first = lister.client.get(PROFILES, params={"page_size": 2, "keep": "me"})
    assert first.status_code == 200, first.text
    page = first.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 5 and page["previous"] is None
    assert [p["id"] for p in page["results"]] == newest_first[:2]
    assert page["results"][0] == made[-1]

    seen = [p["id"] for p in page["results"]]
    pages = [page]
    while page["next"] is not None:
        link = urlsplit(page["next"])
        assert f"{link.scheme}://{link.netloc}" == lister.server.base_url
        assert link.path == PROFILES
        assert parse_qs(link.query)["page_size"] == ["2"]
        assert parse_qs(link.query)["keep"] == ["me"]
        response = lister.client.get(page["next"])
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        seen += [p["id"] for p in page["results"]]
        assert len(pages) <= 3
    assert seen == newest_first
    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    # Back from page 3 to page 2, and from page 2 to the list URL without ``page`` (as DRF).
    assert parse_qs(urlsplit(pages[2]["previous"]).query) == {
        "page_size": ["2"],
        "keep": ["me"],
        "page": ["2"],
    }
    assert parse_qs(urlsplit(pages[1]["previous"]).query) == {"page_size": ["2"], "keep": ["me"]}
    assert_api_error(
        lister.client.get(PROFILES, params={"page_size": 2, "page": 4}), 404, "NOT_FOUND"
    )


def test_the_default_page_size_is_50_and_200_is_allowed(lister: Api) -> None:
    total = count(lister, PROFILES)
    for i in range(max(0, 51 - total)):
        created(lister, first_name=f"Bulk{i}")
    default = lister.client.get(PROFILES).json()
    assert len(default["results"]) == 50 and default["next"] is not None
    everything = lister.client.get(PROFILES, params={"page_size": 200}).json()
    assert len(everything["results"]) == everything["count"] >= 51
    assert everything["next"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": ""}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "201"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
    ],
)
def test_a_bad_page_parameter_is_invalid_request_naming_it(
    lister: Api, params: dict[str, str], field: str
) -> None:
    assert_api_error(lister.client.get(PROFILES, params=params), 400, "INVALID_REQUEST", field)


def test_another_accounts_profiles_are_never_listed(lister: Api, other_api: Api) -> None:
    theirs = created(other_api)["id"]
    ids = [
        p["id"] for p in lister.client.get(PROFILES, params={"page_size": 200}).json()["results"]
    ]
    assert theirs not in ids


# --- auth and scopes --------------------------------------------------------------------------


def test_without_a_token_every_profile_route_is_401(server: ServerProcess, api: Api) -> None:
    profile = created(api)
    with httpx.Client(base_url=server.base_url, timeout=10) as anonymous:
        for response in (
            anonymous.get(PROFILES),
            anonymous.post(PROFILES, json=VALID),
            anonymous.get(_detail(profile["id"])),
            anonymous.patch(_detail(profile["id"]), json={}),
            anonymous.delete(_detail(profile["id"])),
        ):
            assert_api_error(response, 401, "UNAUTHORIZED")
            assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("scopes", "can_read", "can_write"),
    [
        ("providers:read", True, False),
        ("providers:write", False, True),
        ("files:read files:write", False, False),
    ],
)
def test_reading_needs_providers_read_and_changing_needs_providers_write(
    server: ServerProcess, scopes: str, can_read: bool, can_write: bool
) -> None:
    creds = server.new_account("scoped", scopes=scopes)
    full = make_api(
        server,
        type(creds)(
            creds.account_id,
            server.admin("create-api-key", "--account", creds.account_id)["api_key"],
        ),
    )
    scoped = make_api(server, creds)
    try:
        profile = created(full)
        path = _detail(profile["id"])
        reads = [scoped.client.get(PROFILES), scoped.client.get(path)]
        writes = [
            scoped.client.post(PROFILES, json=VALID),
            scoped.client.patch(path, json={"specialty": "Surgery"}),
            scoped.client.delete(path),
        ]
        for response in reads:
            if can_read:
                assert response.status_code == 200, response.text
            else:
                assert_api_error(response, 403, "FORBIDDEN")
        for response in writes:
            if can_write:
                assert response.status_code in (200, 201, 204), response.text
            else:
                assert_api_error(response, 403, "FORBIDDEN")
        if not can_write:
            assert full.client.get(path).json() == profile
            assert count(full, PROFILES) == 1
    finally:
        full.client.close()
        scoped.client.close()
