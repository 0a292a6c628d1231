"""One upload's inspection with a real clamd: which outcome, flags and rejection code."""

from __future__ import annotations

import os
import zlib

import pytest
from clamd_support import CUSTOM_MARKER, EICAR
from image_support import jpeg, png, tiff
from pdf_support import PAGE, PAGES, PLAIN, pdf, stream_object

from assured_server.config import Settings
from assured_server.safety.clamd import ClamdClient, ClamdTimeouts
from assured_server.safety.clamd_address import ClamdAddress
from assured_server.safety.inspection import Inspection, Outcome, Rejection, SafetyPolicy
from assured_testing import Clamd, free_port

JS_PDF = pdf(*PLAIN, b"<</S /JavaScript /JS (app.alert\\(1\\))>>")
MiB = 1024 * 1024


async def inspect(
    policy: SafetyPolicy, content_type: str, data: bytes, chunk: int = 65536
) -> Outcome:
    inspection = Inspection(policy, content_type)
    await inspection.start()
    for start in range(0, len(data), chunk):
        await inspection.feed(data[start : start + chunk])
    return await inspection.finish()


@pytest.fixture
def scanning(clamd: Clamd) -> SafetyPolicy:
    return SafetyPolicy(clamd=ClamdClient(clamd.unix_address))


async def test_eicar_named_txt_is_malware(scanning: SafetyPolicy) -> None:
    outcome = await inspect(scanning, "text/plain", EICAR + b"\n")
    assert outcome.rejection is Rejection.MALWARE_DETECTED and not outcome.accepted
    assert outcome.scan.status == "infected" and outcome.scan.engine == "clamav"
    assert outcome.scan.signature is not None and "Assured.Test.EICAR" in outcome.scan.signature


@pytest.mark.parametrize("chunk", [1, 5, 33, 4096])
async def test_eicar_inside_a_pdf_split_across_chunks_is_malware(
    scanning: SafetyPolicy, chunk: int
) -> None:
    data = pdf(*PLAIN, stream_object(b"", EICAR))
    outcome = await inspect(scanning, "application/pdf", data, chunk=chunk)
    assert outcome.rejection is Rejection.MALWARE_DETECTED


async def test_custom_signature_is_malware_even_when_the_pdf_is_also_active(
    scanning: SafetyPolicy,
) -> None:
    policy = SafetyPolicy(clamd=scanning.clamd, reject_active_pdf=True)
    data = pdf(*PLAIN, b"<</S /Launch>>", stream_object(b"", CUSTOM_MARKER))
    outcome = await inspect(policy, "application/pdf", data)
    assert outcome.rejection is Rejection.MALWARE_DETECTED
    assert outcome.content_flags == ("pdf_launch",)


async def test_clean_files_are_accepted(scanning: SafetyPolicy) -> None:
    for content_type, data in [
        ("text/plain", b"hello\n" * 1000),
        ("application/pdf", pdf(*PLAIN)),
        ("image/png", png(800, 600) + os.urandom(5000)),
    ]:
        outcome = await inspect(scanning, content_type, data)
        assert outcome.accepted, (content_type, outcome)
        assert outcome.scan.status == "clean" and outcome.scan.ran
        assert outcome.content_flags == ()


async def test_active_pdf_is_flagged_under_flag_and_rejected_under_reject(
    scanning: SafetyPolicy,
) -> None:
    flagged = await inspect(scanning, "application/pdf", JS_PDF)
    assert flagged.accepted and flagged.content_flags == ("pdf_javascript",)
    rejecting = SafetyPolicy(clamd=scanning.clamd, reject_active_pdf=True)
    rejected = await inspect(rejecting, "application/pdf", JS_PDF)
    assert rejected.rejection is Rejection.ACTIVE_CONTENT
    assert rejected.content_flags == ("pdf_javascript",)
    assert rejected.scan.status == "clean"


async def test_encrypted_pdf_alone_is_never_rejected() -> None:
    policy = SafetyPolicy(reject_active_pdf=True)
    outcome = await inspect(policy, "application/pdf", pdf(*PLAIN, trailer=b"/Encrypt 9 0 R"))
    assert outcome.accepted and outcome.content_flags == ("pdf_encrypted",)


async def test_compressed_active_content_is_rejected_under_reject() -> None:
    catalog = b"<</Type /Catalog /Pages 2 0 R /OpenAction 100 0 R>>"
    data = pdf(catalog, PAGES, PAGE, compressed=(b"<</S /JavaScript /JS 5 0 R>>",))
    outcome = await inspect(SafetyPolicy(reject_active_pdf=True), "application/pdf", data, 7)
    assert outcome.rejection is Rejection.ACTIVE_CONTENT
    assert outcome.content_flags == ("pdf_auto_action", "pdf_javascript")


async def test_pdf_over_the_inflate_budget_is_noted_not_refused() -> None:
    bomb = stream_object(b"/Filter /FlateDecode", zlib.compress(b"\0" * (4 * MiB)))
    policy = SafetyPolicy(reject_active_pdf=True, inflate_budget=MiB)
    outcome = await inspect(policy, "application/pdf", pdf(*PLAIN, bomb))
    assert outcome.accepted
    assert outcome.pdf_incomplete is not None


async def test_huge_image_header_is_rejected_early_and_at_the_end() -> None:
    policy = SafetyPolicy()
    inspection = Inspection(policy, "image/png")
    await inspection.start()
    await inspection.feed(png(40000, 40000))
    assert inspection.early_rejection is Rejection.IMAGE_TOO_LARGE
    await inspection.feed(os.urandom(1000))
    outcome = await inspection.finish()
    assert outcome.rejection is Rejection.IMAGE_TOO_LARGE
    assert outcome.dimensions is not None and outcome.dimensions.pixels == 1_600_000_000
    assert "40000 x 40000" in outcome.detail
    assert outcome.scan.status == "skipped" and not outcome.scan.ran


@pytest.mark.parametrize(
    ("content_type", "data"),
    [("image/jpeg", jpeg(20000, 20000)), ("image/tiff", tiff(12000, 9000, order=">"))],
)
async def test_pixel_limit_is_the_configured_one(content_type: str, data: bytes) -> None:
    assert (await inspect(SafetyPolicy(), content_type, data)).rejection is (
        Rejection.IMAGE_TOO_LARGE
    )
    assert (await inspect(SafetyPolicy(max_image_pixels=10**9), content_type, data)).accepted


async def test_truncated_image_header_is_a_content_mismatch() -> None:
    outcome = await inspect(SafetyPolicy(), "image/png", png(10, 10)[:20])
    assert outcome.rejection is Rejection.CONTENT_MISMATCH


async def test_no_scanner_means_skipped_and_accepted() -> None:
    outcome = await inspect(SafetyPolicy(), "text/plain", EICAR)
    assert outcome.accepted and outcome.scan.status == "skipped" and outcome.scan.engine is None


async def test_file_over_clamds_stream_limit_is_unscannable_never_clean(
    scanning: SafetyPolicy,
) -> None:
    outcome = await inspect(scanning, "text/plain", b"\0" * (6 * MiB), chunk=MiB)
    assert outcome.rejection is Rejection.UNSCANNABLE and not outcome.accepted
    assert outcome.scan.status == "skipped" and outcome.scan.engine == "clamav"


async def test_clamd_unreachable_means_the_scan_is_owed() -> None:
    address = ClamdAddress(host="127.0.0.1", port=free_port())
    policy = SafetyPolicy(clamd=ClamdClient(address, ClamdTimeouts(connect=2, io=2, verdict=2)))
    inspection = Inspection(policy, "application/pdf")
    await inspection.start()
    assert inspection.scanner_unavailable
    await inspection.feed(JS_PDF)
    outcome = await inspection.finish()
    assert outcome.scan_owed and not outcome.accepted and outcome.rejection is None
    assert outcome.scan.status == "pending" and not outcome.scan.ran
    assert outcome.content_flags == ("pdf_javascript",)


async def test_clamd_unreachable_does_not_delay_a_rejection_for_what_the_file_is() -> None:
    address = ClamdAddress(host="127.0.0.1", port=free_port())
    policy = SafetyPolicy(clamd=ClamdClient(address))
    outcome = await inspect(policy, "image/png", png(40000, 40000))
    assert outcome.rejection is Rejection.IMAGE_TOO_LARGE and not outcome.scan_owed


async def test_clamd_stopped_during_an_upload_then_back(private_clamd: Clamd) -> None:
    client = ClamdClient(private_clamd.unix_address, ClamdTimeouts(connect=2, io=5, verdict=10))
    policy = SafetyPolicy(clamd=client)
    inspection = Inspection(policy, "text/plain")
    await inspection.start()
    await inspection.feed(b"first part")
    private_clamd.stop()
    await inspection.feed(b"second part")
    outcome = await inspection.finish()
    assert outcome.scan_owed and not outcome.accepted
    private_clamd.start()
    retried = await inspect(policy, "text/plain", b"first part" + b"second part")
    assert retried.accepted and retried.scan.status == "clean"


async def test_eicar_at_the_very_end_of_a_50_mib_file(roomy_clamd: Clamd) -> None:
    policy = SafetyPolicy(clamd=ClamdClient(roomy_clamd.unix_address))
    inspection = Inspection(policy, "application/octet-stream")
    await inspection.start()
    block = os.urandom(MiB)
    for _ in range(50):
        await inspection.feed(block)
    await inspection.feed(EICAR)
    outcome = await inspection.finish()
    assert outcome.rejection is Rejection.MALWARE_DETECTED


def test_policy_from_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        scanner="clamav",
        clamd_address="tcp://127.0.0.1:3310",
        pdf_active_content="reject",
        max_image_pixels=5,
    )
    policy = SafetyPolicy.from_settings(settings)
    assert policy.clamd is not None and str(policy.clamd.address) == "tcp://127.0.0.1:3310"
    assert policy.reject_active_pdf and policy.max_image_pixels == 5
    default = SafetyPolicy.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert default.clamd is None and not default.reject_active_pdf
