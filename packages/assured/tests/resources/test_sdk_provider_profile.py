"""``client.provider_profile``: profiles, documents, pagination and the one-call upload."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
import respx
from sdk_helpers import BASE_URL, document_json, error_body, profile_json, upload_json

from assured import Assured, AssuredClient, NotFoundError, UnsupportedFileFormatError
from assured.models.provider_profile import ProviderProfileCreate, ProviderProfileUpdate

PROFILES = "/api/v1/users/provider-profiles/"
DOCUMENTS = "/api/v1/users/provider-documents/"
UPLOAD = "/api/v1/files/handle/"


def _page(
    results: list[dict[str, object]], next_page: int | None, count: int = 3
) -> dict[str, object]:
    next_url = f"http://internal:8000{PROFILES}?page={next_page}&page_size=2" if next_page else None
    return {"count": count, "next": next_url, "previous": None, "results": results}


async def test_create_from_keywords_sends_only_given_fields(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.post(PROFILES).mock(return_value=httpx.Response(201, json=profile_json()))
    profile = await client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    assert profile.id == "p-1"
    request = route.calls.last.request
    assert json.loads(request.content) == {"first_name": "Ada", "last_name": "Lovelace"}
    assert request.headers["idempotency-key"]


async def test_create_from_a_model(client: AssuredClient, api: respx.MockRouter) -> None:
    route = api.post(PROFILES).mock(return_value=httpx.Response(201, json=profile_json()))
    await client.provider_profile.create(
        ProviderProfileCreate(first_name="Ada", last_name="Lovelace", npi="1234567893")
    )
    assert json.loads(route.calls.last.request.content)["npi"] == "1234567893"


async def test_create_refuses_a_model_and_keywords_together(client: AssuredClient) -> None:
    with pytest.raises(TypeError, match="not both"):
        await client.provider_profile.create(
            ProviderProfileCreate(first_name="A", last_name="B"), email="x@example.com"
        )


async def test_create_without_names_is_refused_locally(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    with pytest.raises(ValueError):
        await client.provider_profile.create(first_name="Ada")
    assert not api.calls


async def test_get_update_delete(client: AssuredClient, api: respx.MockRouter) -> None:
    api.get(f"{PROFILES}p-1/").mock(return_value=httpx.Response(200, json=profile_json()))
    patch = api.patch(f"{PROFILES}p-1/").mock(
        return_value=httpx.Response(200, json=profile_json(specialty="Oncology"))
    )
    delete = api.delete(f"{PROFILES}p-1/").mock(return_value=httpx.Response(204))
    assert (await client.provider_profile.get("p-1")).first_name == "Ada"
    updated = await client.provider_profile.update("p-1", specialty="Oncology")
    assert updated.specialty == "Oncology"
    assert json.loads(patch.calls.last.request.content) == {"specialty": "Oncology"}
    await client.provider_profile.update("p-1", ProviderProfileUpdate(email=None))
    assert json.loads(patch.calls.last.request.content) == {"email": None}
    await client.provider_profile.delete("p-1")
    assert delete.called


async def test_list_follows_next_links_on_the_clients_own_base_url(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(PROFILES).mock(
        side_effect=[
            httpx.Response(200, json=_page([profile_json("a"), profile_json("b")], 2)),
            httpx.Response(200, json=_page([profile_json("c")], None)),
        ]
    )
    ids = [p.id async for p in client.provider_profile.list(page_size=2)]
    assert ids == ["a", "b", "c"]
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"page_size": "2"},
        {"page": "2", "page_size": "2"},
    ]
    assert all(c.request.url.host == "assured.test" for c in route.calls)


async def test_list_page_gets_one_page(client: AssuredClient, api: respx.MockRouter) -> None:
    route = api.get(PROFILES).mock(
        return_value=httpx.Response(200, json=_page([profile_json()], 3))
    )
    page = await client.provider_profile.list_page(page=2, page_size=1)
    assert page.count == 3
    assert page.next is not None
    assert route.calls.last.request.url.params["page"] == "2"


async def test_documents_crud_and_filter(client: AssuredClient, api: respx.MockRouter) -> None:
    listing = api.get(DOCUMENTS).mock(
        return_value=httpx.Response(
            200, json={"count": 1, "next": None, "previous": None, "results": [document_json()]}
        )
    )
    api.get(f"{DOCUMENTS}d-1/").mock(return_value=httpx.Response(200, json=document_json()))
    delete = api.delete(f"{DOCUMENTS}d-1/").mock(return_value=httpx.Response(204))
    docs = await client.provider_profile.list_documents(provider="p-1").to_list()
    assert [d.id for d in docs] == ["d-1"]
    assert listing.calls.last.request.url.params["provider"] == "p-1"
    assert (await client.provider_profile.get_document("d-1")).document_type == "License"
    await client.provider_profile.delete_document("d-1")
    assert delete.called


async def test_create_document_as_the_docs_do(client: AssuredClient, api: respx.MockRouter) -> None:
    route = api.post(DOCUMENTS).mock(return_value=httpx.Response(201, json=document_json()))
    from assured.models.provider_profile import ProviderDocumentCreate

    doc = ProviderDocumentCreate(
        provider="provider-profile-uuid",
        document_name="Background Check",
        document_type="Verification",
        document_url="s3://assured-files/files/f-1",
    )
    result = await client.provider_profile.create_document(doc)
    assert result.id == "d-1"
    assert json.loads(route.calls.last.request.content) == doc.model_dump()
    assert route.calls.last.request.headers["idempotency-key"]


async def test_upload_and_associate_uploads_then_associates(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    upload = api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json("f-5")))
    associate = api.post(DOCUMENTS).mock(
        return_value=httpx.Response(
            201, json=document_json(document_url="s3://assured-files/files/f-5")
        )
    )
    document = await client.provider_profile.upload_and_associate_document(
        provider_id="p-1",
        file_content=b"%PDF-1.7",
        filename="license.pdf",
        document_name="State Medical License",
        document_type="License",
    )
    assert document.document_url == "s3://assured-files/files/f-5"
    assert upload.called
    assert json.loads(associate.calls.last.request.content) == {
        "provider": "p-1",
        "document_name": "State Medical License",
        "document_type": "License",
        "document_url": "s3://assured-files/files/f-5",
    }


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("report.docx", "'.docx'"),
        ("scan.pdf.exe", "'.exe'"),
        ("archive.PDF.zip", "'.zip'"),
        ("photo.gif", "'.gif'"),
        ("noextension", "(no extension)"),
    ],
)
async def test_unsupported_formats_fail_before_any_request(
    client: AssuredClient, api: respx.MockRouter, filename: str, shown: str
) -> None:
    with pytest.raises(ValueError) as info:
        await client.provider_profile.upload_and_associate_document(
            provider_id="p-1",
            file_content=b"data",
            filename=filename,
            document_name="Report",
            document_type="Other",
        )
    assert isinstance(info.value, UnsupportedFileFormatError)
    assert str(info.value) == (
        f"Unsupported file format: {shown}. Assured only accepts PDF, PNG, and JPEG files."
    )
    assert not api.calls  # not even the token exchange


@pytest.mark.parametrize("filename", ["a.pdf", "A.PDF", "b.png", "c.Jpg", "d.JPEG", "x.tar.pdf"])
async def test_supported_extensions_in_any_case_are_accepted(
    client: AssuredClient, api: respx.MockRouter, filename: str
) -> None:
    api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    api.post(DOCUMENTS).mock(return_value=httpx.Response(201, json=document_json()))
    await client.provider_profile.upload_and_associate_document(
        "p-1", b"%PDF-", filename, "Doc", "License"
    )


async def test_association_failure_is_an_api_error(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    api.post(DOCUMENTS).mock(
        return_value=httpx.Response(404, json=error_body("NOT_FOUND", "No such provider."))
    )
    with pytest.raises(NotFoundError, match="No such provider"):
        await client.provider_profile.upload_and_associate_document(
            "missing", b"%PDF-", "a.pdf", "Doc", "License"
        )


async def test_the_docs_quick_upload_snippet_runs_verbatim(
    api: respx.MockRouter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ASSURED_BASE_URL", BASE_URL)
    monkeypatch.setenv("ASSURED_API_KEY", "ak_docs")
    monkeypatch.chdir(tmp_path)
    Path("license.pdf").write_bytes(b"%PDF-1.7 license")
    api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json("f-1")))
    api.post(DOCUMENTS).mock(return_value=httpx.Response(201, json=document_json("d-42")))
    from assured import AssuredClient

    # --- verbatim from the public docs ---
    async with AssuredClient() as client:
        with open("license.pdf", "rb") as f:
            document = await client.provider_profile.upload_and_associate_document(
                provider_id="profile-uuid-here",
                file_content=f.read(),
                filename="license.pdf",
                document_name="State Medical License",
                document_type="License",
            )

        print(f"Document ID: {document.id}")  # noqa: T201
        print(f"Storage URL: {document.document_url}")  # noqa: T201
    # --- end ---
    assert capsys.readouterr().out == (
        "Document ID: d-42\nStorage URL: s3://assured-files/files/f-1\n"
    )
    assert os.listdir(tmp_path) == ["license.pdf"]


def test_sync_twin_lists_and_uploads(sync_client: Assured, api: respx.MockRouter) -> None:
    api.get(PROFILES).mock(
        side_effect=[
            httpx.Response(200, json=_page([profile_json("a")], 2)),
            httpx.Response(200, json=_page([profile_json("b")], None)),
        ]
    )
    assert [p.id for p in sync_client.provider_profile.list()] == ["a", "b"]
    api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    api.post(DOCUMENTS).mock(return_value=httpx.Response(201, json=document_json()))
    doc = sync_client.provider_profile.upload_and_associate_document(
        "p-1", b"%PDF-", "a.pdf", "Doc", "License"
    )
    assert doc.id == "d-1"
    with pytest.raises(ValueError, match="'.docx'"):
        sync_client.provider_profile.upload_and_associate_document(
            "p-1", b"x", "report.docx", "Report", "Other"
        )
