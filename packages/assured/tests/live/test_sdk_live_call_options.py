"""Per-call options and ``with_options`` against a real server: what is sent is what it sees."""

from __future__ import annotations

import uuid

import pytest
from live_data import pdf_bytes

from assured import Assured, AssuredClient, NotFoundError


async def test_extra_headers_reach_the_server(live_client: AssuredClient) -> None:
    # The server echoes a client's X-Request-ID: the error carries the one we added.
    with pytest.raises(NotFoundError) as info:
        await live_client.files.get(
            str(uuid.uuid4()), extra_headers={"X-Request-ID": "sdk-extra-header-1"}
        )
    assert info.value.request_id == "sdk-extra-header-1"


async def test_extra_query_reaches_the_server(live_client: AssuredClient) -> None:
    process = f"sdk-extra-query-{uuid.uuid4().hex[:8]}"
    for n in range(2):
        await live_client.files.upload_file(
            pdf_bytes(1000 + n), file_name=f"q{n}.pdf", business_process=process
        )
    page = await live_client.files.list_page(business_process=process)
    assert len(page.items) == 2
    page = await live_client.files.list_page(business_process=process, extra_query={"limit": 1})
    assert len(page.items) == 1
    assert page.next_cursor is not None


async def test_with_options_copy_talks_to_the_same_server_with_its_own_headers(
    live_client: AssuredClient,
) -> None:
    copy = live_client.with_options(
        timeout=20, max_retries=0, default_headers={"X-Request-ID": "sdk-with-options-1"}
    )
    with pytest.raises(NotFoundError) as info:
        await copy.files.get(str(uuid.uuid4()))
    assert info.value.request_id == "sdk-with-options-1"
    await copy.close()  # the shared pool stays open for the original
    with pytest.raises(NotFoundError) as info:
        await live_client.files.get(str(uuid.uuid4()))
    assert info.value.request_id != "sdk-with-options-1"


def test_sync_per_call_options(live_sync_client: Assured) -> None:
    with pytest.raises(NotFoundError) as info:
        live_sync_client.provider_profile.get(
            str(uuid.uuid4()), timeout=20, extra_headers={"X-Request-ID": "sdk-sync-extra-1"}
        )
    assert info.value.request_id == "sdk-sync-extra-1"
