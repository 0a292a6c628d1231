# generated from src/assured/resources/provider_profile/_async.py by scripts/unasync.py;
# do not edit: change the async module and run `make unasync`.
"""``client.provider_profile`` of the sync client."""

from __future__ import annotations

from typing import Unpack

from assured._base_client_sync import SyncPaginator
from assured._request_options import CallOptions
from assured._resource import SyncAPIResource
from assured._streams import FileContent, ProgressCallback
from assured.models.provider_profile import (
    ProviderDocument,
    ProviderDocumentCreate,
    ProviderDocumentPage,
    ProviderProfile,
    ProviderProfileCreate,
    ProviderProfilePage,
    ProviderProfileUpdate,
)
from assured.resources.files._requests import check_v1_format
from assured.resources.files._sync import Files
from assured.resources.provider_profile import _requests as req


class ProviderProfiles(SyncAPIResource):
    """Provider profiles and their documents (sync).

    Every method also takes the per-call keywords ``timeout``, ``extra_headers`` and
    ``extra_query`` (see ``CallOptions``).
    """

    def create(
        self,
        profile: ProviderProfileCreate | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        npi: str | None = None,
        specialty: str | None = None,
        **call: Unpack[CallOptions],
    ) -> ProviderProfile:
        """Create a provider profile, from a ``ProviderProfileCreate`` or keyword fields."""
        options = req.create_profile(
            profile,
            first_name=first_name,
            last_name=last_name,
            email=email,
            npi=npi,
            specialty=specialty,
        )
        return self._client.request(options, ProviderProfile, **call)

    def get(self, profile_id: str, **call: Unpack[CallOptions]) -> ProviderProfile:
        """One provider profile."""
        return self._client.request(req.profile(profile_id), ProviderProfile, **call)

    def update(
        self,
        profile_id: str,
        changes: ProviderProfileUpdate | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        npi: str | None = None,
        specialty: str | None = None,
        **call: Unpack[CallOptions],
    ) -> ProviderProfile:
        """Change some fields of a profile (PATCH); to clear one, set it to None in ``changes``."""
        options = req.update_profile(
            profile_id,
            changes,
            first_name=first_name,
            last_name=last_name,
            email=email,
            npi=npi,
            specialty=specialty,
        )
        return self._client.request(options, ProviderProfile, **call)

    def delete(self, profile_id: str, **call: Unpack[CallOptions]) -> None:
        """Delete a profile and its document associations (their files stay)."""
        self._client.request_raw(req.profile(profile_id, "DELETE"), **call)

    def list_page(
        self,
        *,
        page: int | None = None,
        page_size: int | None = None,
        **call: Unpack[CallOptions],
    ) -> ProviderProfilePage:
        """One page of profiles, newest first (``page_size`` 1..200)."""
        options = req.list_profiles(page, page_size)
        return self._client.request(options, ProviderProfilePage, **call)

    def list(
        self, *, page_size: int | None = None, **call: Unpack[CallOptions]
    ) -> SyncPaginator[ProviderProfile]:
        """Every profile, newest first, fetching pages as ``for`` goes."""

        def fetch(cursor: str | None) -> tuple[list[ProviderProfile], str | None]:
            page = self.list_page(page=req.page_number(cursor), page_size=page_size, **call)
            return req.profile_items(page)

        return SyncPaginator(fetch)

    def create_document(
        self,
        document: ProviderDocumentCreate | None = None,
        *,
        provider: str | None = None,
        document_name: str | None = None,
        document_type: str | None = None,
        document_url: str | None = None,
        **call: Unpack[CallOptions],
    ) -> ProviderDocument:
        """Associate an uploaded file (its ``s3://`` URI) with a provider profile."""
        options = req.create_document(
            document,
            provider=provider,
            document_name=document_name,
            document_type=document_type,
            document_url=document_url,
        )
        return self._client.request(options, ProviderDocument, **call)

    def get_document(self, document_id: str, **call: Unpack[CallOptions]) -> ProviderDocument:
        """One provider document."""
        return self._client.request(req.document(document_id), ProviderDocument, **call)

    def delete_document(self, document_id: str, **call: Unpack[CallOptions]) -> None:
        """Delete a document association (the file itself stays)."""
        self._client.request_raw(req.document(document_id, "DELETE"), **call)

    def list_documents_page(
        self,
        *,
        provider: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        **call: Unpack[CallOptions],
    ) -> ProviderDocumentPage:
        """One page of documents, newest first, optionally of one provider."""
        options = req.list_documents(provider, page, page_size)
        return self._client.request(options, ProviderDocumentPage, **call)

    def list_documents(
        self,
        provider: str | None = None,
        *,
        page_size: int | None = None,
        **call: Unpack[CallOptions],
    ) -> SyncPaginator[ProviderDocument]:
        """Every document (of one provider, if given), fetching pages as ``for`` goes."""

        def fetch(cursor: str | None) -> tuple[list[ProviderDocument], str | None]:
            page = self.list_documents_page(
                provider=provider, page=req.page_number(cursor), page_size=page_size, **call
            )
            return req.document_items(page)

        return SyncPaginator(fetch)

    def upload_and_associate_document(
        self,
        provider_id: str,
        file_content: FileContent,
        filename: str,
        document_name: str,
        document_type: str,
        mime_type: str | None = None,
        *,
        progress: ProgressCallback | None = None,
        **call: Unpack[CallOptions],
    ) -> ProviderDocument:
        """Upload a PDF, PNG or JPEG and associate it with a provider, in one call.

        The extension is checked first: anything else raises ``UnsupportedFileFormatError``
        (a ``ValueError``) before any request is sent.
        """
        check_v1_format(filename)
        upload = Files(self._client).upload(
            file_content, filename=filename, mime_type=mime_type, progress=progress, **call
        )
        document = ProviderDocumentCreate(
            provider=provider_id,
            document_name=document_name,
            document_type=document_type,
            document_url=upload.file_url,
        )
        return self.create_document(document, **call)
