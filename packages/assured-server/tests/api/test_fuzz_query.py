"""The query parameters of every list route, fuzzed: never a 500, always the contract's answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fuzz_support import assert_answer, assert_healthy, query_strings
from hypothesis import given, settings
from server_helpers import Api, assert_api_error, make_api
from v1_support import DOCUMENTS, PROFILES, available_file, new_document, new_profile

from assured_testing import ServerProcess

EXAMPLES = 150


@dataclass
class Target:
    """An account of its own with a file, a profile and a document to list."""

    api: Api
    file_id: str


@pytest.fixture(scope="module")
def target(server: ServerProcess) -> Iterator[Target]:
    api = make_api(server, server.new_account("fuzz-query"))
    file_id = available_file(api, businessProcess="onboarding")["id"]
    new_document(api, new_profile(api)["id"], file_id)
    yield Target(api, file_id)
    api.client.close()


@dataclass(frozen=True)
class ListRoute:
    """A GET route and the query parameters it reads."""

    name: str
    path: Callable[[Target], str]
    params: list[str]


ROUTES = [
    ListRoute(
        "v3-list",
        lambda t: t.api.files_path,
        ["status", "businessProcess", "limit", "cursor"],
    ),
    ListRoute(
        "v3-download-url",
        lambda t: f"{t.api.files_path}/{t.file_id}/download-url",
        ["expiresIn"],
    ),
    ListRoute("v1-profiles", lambda t: PROFILES, ["page", "page_size"]),
    ListRoute("v1-documents", lambda t: DOCUMENTS, ["provider", "page", "page_size"]),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_no_hostile_query_makes_a_500_and_the_server_stays_healthy(
    target: Target, route: ListRoute
) -> None:
    path = route.path(target)

    @settings(max_examples=EXAMPLES)
    @given(query=query_strings(route.params))
    def fuzz(query: str) -> None:
        response = target.api.client.get(f"{path}?{query}")
        assert_answer(response, {200})

    fuzz()
    assert_healthy(target.api)


def test_a_nul_in_the_business_process_filter_is_invalid_request(target: Target) -> None:
    # PostgreSQL cannot compare a string that holds NUL: the list failed, a 500.
    response = target.api.client.get(target.api.files_path, params={"businessProcess": "a\x00"})
    assert_api_error(response, 400, "INVALID_REQUEST", field="businessProcess")
    listed = target.api.client.get(target.api.files_path, params={"businessProcess": "onboarding"})
    assert [item["id"] for item in listed.json()["items"]] == [target.file_id]
