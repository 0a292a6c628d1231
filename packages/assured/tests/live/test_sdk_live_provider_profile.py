"""``client.provider_profile`` against a real server: profiles, documents, pagination."""

from __future__ import annotations

import httpx
import pytest
from live_data import pdf_bytes, png_bytes

from assured import AssuredClient, BadRequestError, NotFoundError
from assured.models.provider_profile import ProviderProfileCreate, ProviderProfileUpdate

VALID_NPI = "1234567893"  # passes the Luhn check over the prefix 80840


async def test_profile_crud(live_client: AssuredClient) -> None:
    created = await live_client.provider_profile.create(
        ProviderProfileCreate(
            first_name="Grace",
            last_name="Hopper",
            email="grace@example.com",
            npi=VALID_NPI,
            specialty="Cardiology",
        )
    )
    assert created.npi == VALID_NPI
    fetched = await live_client.provider_profile.get(created.id)
    assert fetched == created
    updated = await live_client.provider_profile.update(created.id, specialty="Oncology")
    assert updated.specialty == "Oncology"
    assert updated.first_name == "Grace"
    cleared = await live_client.provider_profile.update(
        created.id, ProviderProfileUpdate(email=None)
    )
    assert cleared.email is None
    await live_client.provider_profile.delete(created.id)
    with pytest.raises(NotFoundError):
        await live_client.provider_profile.get(created.id)


async def test_invalid_npi_names_the_field(live_client: AssuredClient) -> None:
    with pytest.raises(BadRequestError) as info:
        await live_client.provider_profile.create(first_name="A", last_name="B", npi="1234567890")
    assert info.value.code == "INVALID_REQUEST"
    assert info.value.field == "npi"


async def test_list_walks_every_page(live_client: AssuredClient) -> None:
    ids = {
        (await live_client.provider_profile.create(first_name=f"P{n}", last_name="List")).id
        for n in range(3)
    }
    listed = [p.id async for p in live_client.provider_profile.list(page_size=1)]
    assert ids <= set(listed)
    assert len(listed) == len(set(listed))
    page = await live_client.provider_profile.list_page(page=1, page_size=1)
    assert page.count >= 3
    assert len(page.results) == 1
    assert page.next is not None


async def test_documents_are_listed_per_provider_and_deleted_without_their_file(
    live_client: AssuredClient, provider_id: str
) -> None:
    first = await live_client.provider_profile.upload_and_associate_document(
        provider_id, pdf_bytes(), "license.pdf", "State Medical License", "License"
    )
    second = await live_client.provider_profile.upload_and_associate_document(
        provider_id, png_bytes(), "scan.PNG", "Background Check", "Verification", "image/png"
    )
    listed = [d.id async for d in live_client.provider_profile.list_documents(provider_id)]
    assert listed == [second.id, first.id]  # newest first
    assert (await live_client.provider_profile.get_document(first.id)).document_url == (
        first.document_url
    )
    await live_client.provider_profile.delete_document(first.id)
    with pytest.raises(NotFoundError):
        await live_client.provider_profile.get_document(first.id)
    url = await live_client.files.presign_url(first.document_url)
    assert httpx.get(url, timeout=30).status_code == 200  # the file itself stays


async def test_deleting_a_profile_deletes_its_documents(
    live_client: AssuredClient, provider_id: str
) -> None:
    document = await live_client.provider_profile.upload_and_associate_document(
        provider_id, pdf_bytes(), "a.pdf", "Doc", "License"
    )
    await live_client.provider_profile.delete(provider_id)
    with pytest.raises(NotFoundError):
        await live_client.provider_profile.get_document(document.id)
    assert [d async for d in live_client.provider_profile.list_documents(provider_id)] == []


async def test_association_with_an_unknown_provider_is_not_found(
    live_client: AssuredClient,
) -> None:
    record = await live_client.files.upload(pdf_bytes(), filename="orphan.pdf")
    with pytest.raises(NotFoundError):
        await live_client.provider_profile.create_document(
            provider="0190a7c4-0000-7000-8000-000000000000",
            document_name="Doc",
            document_type="License",
            document_url=record.file_url,
        )


async def test_association_with_a_foreign_uri_is_an_invalid_document_url(
    live_client: AssuredClient, provider_id: str
) -> None:
    with pytest.raises(BadRequestError) as info:
        await live_client.provider_profile.create_document(
            provider=provider_id,
            document_name="Doc",
            document_type="License",
            document_url="s3://elsewhere/files/nope",
        )
    assert info.value.code == "INVALID_DOCUMENT_URL"
