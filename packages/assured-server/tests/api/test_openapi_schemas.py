"""``/openapi.json`` is valid OpenAPI 3.1, and every route answers what it documents.

Each JSON route is called on a real server (both deployments) for its success and for some
of its errors, and the body is checked against the schema the document publishes for that
method, path and status (or the ``4XX`` / ``5XX`` range): an undocumented field, a missing
one or a wrong type fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from server_helpers import Api, make_api

from assured_testing import ServerProcess

PDF = b"%PDF-1.7\n% a document\n" + b"x" * 200

Checked = list[tuple[str, str, int]]


@pytest.fixture(scope="module")
def spec(server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/openapi.json", timeout=30)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _inline(node: Any, components: dict[str, Any]) -> Any:
    """``node`` with every ``#/components/schemas/…`` reference replaced by its schema."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return _inline(components[ref.rsplit("/", 1)[1]], components)
        return {key: _inline(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, components) for value in node]
    return node


def _operation(spec: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented operation whose path template matches the concrete ``path``."""
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in /openapi.json")


def check(spec: dict[str, Any], response: httpx.Response, checked: Checked) -> None:
    """Validate ``response``'s JSON body against the schema documented for it."""
    method, path = response.request.method, response.request.url.path
    template, operation = _operation(spec, method, path)
    status = response.status_code
    documented = operation["responses"]
    entry = documented.get(str(status)) or documented.get(f"{str(status)[0]}XX")
    assert entry is not None, f"{method} {template} answered {status}, which it does not document"
    if status == 204:
        assert response.content == b""
        checked.append((method, template, status))
        return
    schema = entry["content"]["application/json"]["schema"]
    assert response.headers["content-type"].startswith("application/json")
    resolved = _inline(schema, spec["components"]["schemas"])
    errors = sorted(Draft202012Validator(resolved).iter_errors(response.json()), key=str)
    assert not errors, f"{method} {template} {status}: {[e.message for e in errors]}"
    checked.append((method, template, status))


@pytest.fixture(scope="module")
def checked() -> Iterator[Checked]:
    record: Checked = []
    yield record


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_json_route_declares_its_success_and_errors(spec: dict[str, Any]) -> None:
    for template, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, f"{method} {template}: we never answer 422"
            success = [s for s in responses if s.startswith("2")]
            assert success, f"{method} {template} documents no success"
            if template.startswith(("/api/", "/v3/")):
                assert {"4XX", "5XX"} <= set(responses), f"{method} {template}"
                for status in success:
                    if status != "204":
                        schema = responses[status]["content"]["application/json"]["schema"]
                        assert schema.get("$ref"), f"{method} {template} {status}: no model"


def test_the_storage_endpoints_are_documented(spec: dict[str, Any]) -> None:
    assert "post" in spec["paths"]["/storage/{bucket}"]
    assert {"get", "head"} <= set(spec["paths"]["/storage/{bucket}/{key}"])


def test_every_route_answers_what_it_documents(
    spec: dict[str, Any], server: ServerProcess, api: Api
) -> None:
    checked: Checked = []
    base = server.base_url
    c = api.client

    def see(response: httpx.Response) -> httpx.Response:
        check(spec, response, checked)
        return response

    # Operations and auth.
    see(httpx.get(f"{base}/healthz", timeout=30))
    see(httpx.get(f"{base}/readyz", timeout=30))
    pair = see(
        httpx.post(f"{base}/api/v1/auth/token/", json={"api_key": api.creds.api_key}, timeout=30)
    ).json()
    see(httpx.post(f"{base}/api/v1/auth/token/", json={"api_key": "nope"}, timeout=30))
    see(httpx.post(f"{base}/api/v1/auth/token/", json={}, timeout=30))
    see(httpx.post(f"{base}/api/v1/auth/token/refresh/", json={"refresh": pair["refresh"]}))
    see(httpx.post(f"{base}/api/v1/auth/token/revoke/", json={"refresh": pair["refresh"]}))
    see(httpx.post(f"{base}/api/v1/auth/token/refresh/", json={"refresh": pair["refresh"]}))

    # Files API (v3).
    created = see(
        c.post(api.files_path, json={"fileName": "a.pdf", "contentType": "application/pdf"})
    )
    ticket = created.json()
    see(c.post(api.files_path, json={"fileName": "a.exe", "contentType": "application/pdf"}))
    see(c.post(f"{api.files_path}/{ticket['id']}/complete"))  # 409: nothing uploaded yet
    see(c.get(f"{api.files_path}/{ticket['id']}/download-url"))  # 409: not available
    assert api.post_form(ticket, PDF, file_name="a.pdf").is_success
    see(c.get(f"{api.files_path}/{ticket['id']}"))
    see(c.post(f"{api.files_path}/{ticket['id']}/complete"))
    see(c.get(api.files_path, params={"limit": 1}))
    see(c.get(api.files_path, params={"limit": 0}))
    see(c.get(f"{api.files_path}/{ticket['id']}/download-url", params={"expiresIn": 60}))
    see(c.get(f"/v3/accounts/{api.account_id}/upload-limits"))
    see(c.get(f"{api.files_path}/00000000-0000-7000-8000-000000000000"))
    see(httpx.get(f"{base}{api.files_path}", timeout=30))  # 401: no token

    # Assured API (v1).
    uploaded = see(
        c.post("/api/v1/files/handle/", files={"file": ("b.pdf", PDF, "application/pdf")})
    ).json()
    see(c.post("/api/v1/files/handle/", files={"file": ("b.exe", PDF, "application/pdf")}))
    see(c.post("/api/v1/files/presign/", json={"file_url": uploaded["file_url"]}))
    see(c.post("/api/v1/files/presign/", json={"file_url": "http://elsewhere/x"}))
    profiles = "/api/v1/users/provider-profiles/"
    profile = see(c.post(profiles, json={"first_name": "Ada", "last_name": "L"})).json()
    see(c.post(profiles, json={"first_name": "Ada"}))
    see(c.get(profiles))
    see(c.get(profiles, params={"page": 99}))
    see(c.get(f"{profiles}{profile['id']}/"))
    see(c.patch(f"{profiles}{profile['id']}/", json={"specialty": "cardiology"}))
    documents = "/api/v1/users/provider-documents/"
    document = see(
        c.post(
            documents,
            json={
                "provider": profile["id"],
                "document_name": "licence",
                "document_type": "license",
                "document_url": uploaded["file_url"],
            },
        )
    ).json()
    see(c.get(documents, params={"provider": profile["id"]}))
    see(c.get(f"{documents}{document['id']}/"))
    see(c.delete(f"{documents}{document['id']}/"))
    see(c.get(f"{documents}{document['id']}/"))
    see(c.delete(f"{profiles}{profile['id']}/"))
    see(c.delete(f"{api.files_path}/{ticket['id']}"))

    # Upload links, and a link's own API.
    linker = make_api(
        server, server.new_account("openapi-links", scopes="files:read links:read links:write")
    )
    try:
        links = f"/v3/accounts/{linker.account_id}/upload-links"
        link = see(linker.client.post(links, json={"maxFiles": 1})).json()
        see(linker.client.post(links, json={"maxFiles": 0}))
        see(linker.client.get(links, params={"limit": 1}))
        see(linker.client.get(f"{links}/{link['id']}"))
        see(c.get(f"/v3/accounts/{api.account_id}/upload-links"))  # 403: no links scope
        token = link["url"].rsplit("/", 1)[1]
        body = {"fileName": "a.pdf", "contentType": "application/pdf"}
        made = see(httpx.post(f"{base}/u/{token}/files", json=body, timeout=30)).json()
        see(httpx.post(f"{base}/u/{token}/files", json=body, timeout=30))  # 409: used up
        see(httpx.get(f"{base}/u/{token}/files/{made['id']}", timeout=30))
        see(httpx.get(f"{base}/u/{token}/files/{ticket['id']}", timeout=30))  # 404
        see(linker.client.delete(f"{links}/{link['id']}"))
        see(linker.client.delete(f"{links}/{link['id']}x"))
    finally:
        linker.client.close()

    # Every JSON operation of the document was called and checked at least once.
    operations = {
        (method.upper(), template)
        for template, ops in spec["paths"].items()
        if template.startswith(("/api/", "/v3/", "/healthz", "/readyz"))
        for method in ops
    }
    assert operations <= {(m, t) for m, t, _ in checked}, operations - {
        (m, t) for m, t, _ in checked
    }
    assert any(s >= 400 for _, _, s in checked)
