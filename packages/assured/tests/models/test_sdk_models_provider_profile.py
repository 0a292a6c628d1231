"""Provider models: requests refuse unknown fields, answers tolerate them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sdk_helpers import document_json, profile_json

from assured.models.provider_profile import (
    ProviderDocument,
    ProviderDocumentCreate,
    ProviderDocumentPage,
    ProviderProfile,
    ProviderProfileCreate,
    ProviderProfilePage,
    ProviderProfileUpdate,
)


def test_document_create_as_the_docs_build_it() -> None:
    doc = ProviderDocumentCreate(
        provider="provider-profile-uuid",
        document_name="Background Check",
        document_type="Verification",
        document_url="s3://assured-files/files/f-1",
    )
    assert doc.model_dump() == {
        "provider": "provider-profile-uuid",
        "document_name": "Background Check",
        "document_type": "Verification",
        "document_url": "s3://assured-files/files/f-1",
    }


def test_document_create_refuses_typos_and_missing_fields() -> None:
    with pytest.raises(ValidationError):
        ProviderDocumentCreate(  # type: ignore[call-arg]
            provider="p", document_name="n", document_type="t", documnet_url="s3://x"
        )
    with pytest.raises(ValidationError):
        ProviderDocumentCreate(provider="p", document_name="n", document_type="t")  # type: ignore[call-arg]


def test_profile_create_requires_names() -> None:
    with pytest.raises(ValidationError):
        ProviderProfileCreate(first_name="Ada")  # type: ignore[call-arg]


def test_profile_update_sends_only_what_was_set() -> None:
    assert ProviderProfileUpdate(specialty="Oncology").model_dump(exclude_unset=True) == {
        "specialty": "Oncology"
    }
    assert ProviderProfileUpdate(email=None).model_dump(exclude_unset=True) == {"email": None}


def test_profile_and_document_answers_parse() -> None:
    profile = ProviderProfile.model_validate(profile_json())
    assert profile.npi == "1234567893"
    document = ProviderDocument.model_validate(document_json())
    assert document.document_url.startswith("s3://")
    assert document.file_id == "f-1"


def test_drf_pages_parse() -> None:
    page = ProviderProfilePage.model_validate(
        {"count": 3, "next": "http://h/x?page=2", "previous": None, "results": [profile_json()]}
    )
    assert page.count == 3
    assert page.results[0].first_name == "Ada"
    docs = ProviderDocumentPage.model_validate(
        {"count": 0, "next": None, "previous": None, "results": []}
    )
    assert docs.results == []
