"""One upload's inspection: malware scan, PDF active content and image size, in one pass.

The upload paths feed it the bytes as they pass (``feed``), then ask for the ``Outcome``
(``finish``): nothing is read twice, and each check sees the chunks as they come. The outcome
says what the contract records (``scan``, ``contentFlags``) and which rejection code applies;
acting on it (deleting bytes, answering 503, keeping a file pending) is the caller's job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, Protocol

from assured_server.safety.clamd import ClamdClient, ClamdStream
from assured_server.safety.clamd_address import parse_clamd_address
from assured_server.safety.image_size import (
    Dimensions,
    ImageHeaderError,
    ImageSizeReader,
    too_many_pixels,
)
from assured_server.safety.pdf_active import DEFAULT_INFLATE_BUDGET, PdfActiveContentScanner
from assured_server.safety.scan_result import ScanResult, ScanVerdict

PDF = "application/pdf"


class Rejection(enum.Enum):
    """Why a file is refused, by its contract code (the v3 ``rejectionReason``)."""

    MALWARE_DETECTED = "MALWARE_DETECTED"
    CONTENT_MISMATCH = "CONTENT_MISMATCH"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    ACTIVE_CONTENT = "ACTIVE_CONTENT"
    UNSCANNABLE = "UNSCANNABLE"


class SafetySettings(Protocol):
    """The settings the checks read (``assured_server.config.Settings`` has them)."""

    @property
    def scanner(self) -> str:
        """``none`` or ``clamav``."""

    @property
    def clamd_address(self) -> str:
        """clamd's socket address."""

    @property
    def pdf_active_content(self) -> str:
        """``flag`` or ``reject``."""

    @property
    def max_image_pixels(self) -> int:
        """The largest image, in pixels, its header may declare."""


@dataclass(frozen=True, slots=True)
class SafetyPolicy:
    """What to check and how strictly, shared by every upload of a server."""

    clamd: ClamdClient | None = None
    reject_active_pdf: bool = False
    max_image_pixels: int = 100_000_000
    inflate_budget: int = DEFAULT_INFLATE_BUDGET

    @classmethod
    def from_settings(cls, settings: SafetySettings) -> SafetyPolicy:
        """The policy of ``ASSURED_SCANNER``, ``ASSURED_PDF_ACTIVE_CONTENT`` and the pixel limit."""
        clamd = None
        if settings.scanner == "clamav":
            clamd = ClamdClient(parse_clamd_address(settings.clamd_address))
        return cls(
            clamd=clamd,
            reject_active_pdf=settings.pdf_active_content == "reject",
            max_image_pixels=settings.max_image_pixels,
        )


ScanStatus = Literal["skipped", "pending", "clean", "infected"]


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """The File object's ``scan``, less its timestamp (the caller stamps ``scannedAt``)."""

    status: ScanStatus
    engine: str | None = None
    signature: str | None = None

    @property
    def ran(self) -> bool:
        """True when a scanner looked at the file (then ``scannedAt`` is set)."""
        return self.engine is not None and self.status != "pending"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The checks' conclusion for one file."""

    scan: ScanRecord
    content_flags: tuple[str, ...] = ()
    rejection: Rejection | None = None
    # The scan is owed: the scanner was unreachable (v1: 503 SCANNER_UNAVAILABLE; v3: pending).
    scan_owed: bool = False
    dimensions: Dimensions | None = None
    detail: str = ""
    # What the PDF check could not read (a budget, a filter, encryption): noted, not refused.
    pdf_incomplete: str | None = None

    @property
    def accepted(self) -> bool:
        """True when the file may become available now."""
        return self.rejection is None and not self.scan_owed


@dataclass
class Inspection:
    """The checks for one upload of ``content_type``, fed chunk by chunk."""

    policy: SafetyPolicy
    content_type: str
    _stream: ClamdStream | None = field(default=None, init=False)
    _pdf: PdfActiveContentScanner | None = field(default=None, init=False)
    _image: ImageSizeReader | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.content_type == PDF:
            self._pdf = PdfActiveContentScanner(self.policy.inflate_budget)
        self._image = ImageSizeReader.for_content_type(self.content_type)

    async def start(self) -> None:
        """Open the scanner's stream (if scanning); an unreachable scanner shows at the end."""
        if self.policy.clamd is not None:
            self._stream = await self.policy.clamd.instream()

    @property
    def scanner_unavailable(self) -> bool:
        """True once the scanner failed to answer: v1 can answer 503 without reading on."""
        return self._stream is not None and self._stream.unreachable

    @property
    def early_rejection(self) -> Rejection | None:
        """A rejection already certain from the bytes so far (an image header over the limit)."""
        if self._image is not None and self._image.dimensions is not None:
            if too_many_pixels(self._image.dimensions, self.policy.max_image_pixels):
                return Rejection.IMAGE_TOO_LARGE
        return None

    async def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Look at the next bytes of the file (every check sees the same chunk)."""
        if self._image is not None and not self._image.done:
            self._image.feed(chunk)
        if self._pdf is not None:
            self._pdf.feed(chunk)
        if self._stream is not None:
            await self._stream.feed(chunk)

    async def aclose(self) -> None:
        """Abandon the inspection (the upload failed); idempotent."""
        if self._stream is not None:
            await self._stream.aclose()

    async def finish(self) -> Outcome:
        """End of file: every check's conclusion, and the one rejection that applies."""
        scan, result = await self._scan()
        flags: set[str] = set()
        reasons: list[Rejection] = []
        detail = ""
        pdf_incomplete = None
        dimensions = None
        if self._image is not None:
            try:
                dimensions = self._image.finish()
            except ImageHeaderError as exc:
                reasons.append(Rejection.CONTENT_MISMATCH)
                detail = str(exc)
            else:
                if too_many_pixels(dimensions, self.policy.max_image_pixels):
                    reasons.append(Rejection.IMAGE_TOO_LARGE)
                    detail = (
                        f"{dimensions.width} x {dimensions.height} pixels, over the limit of "
                        f"{self.policy.max_image_pixels}"
                    )
        if self._pdf is not None:
            findings = self._pdf.finish()
            flags |= findings.flags
            pdf_incomplete = findings.incomplete
            if findings.active and self.policy.reject_active_pdf:
                reasons.append(Rejection.ACTIVE_CONTENT)
                detail = detail or f"active content: {', '.join(sorted(findings.active))}"
        if result is not None and result.verdict is ScanVerdict.INFECTED:
            reasons.insert(0, Rejection.MALWARE_DETECTED)
            detail = f"malware: {result.signature}"
        elif result is not None and result.verdict is ScanVerdict.TOO_LARGE:
            reasons.append(Rejection.UNSCANNABLE)
            detail = detail or "the file is larger than the scanner's stream limit"
        rejection = reasons[0] if reasons else None
        owed = result is not None and result.verdict is ScanVerdict.UNAVAILABLE
        if owed and rejection is None:
            detail = result.detail if result is not None else ""
        return Outcome(
            scan=scan,
            content_flags=tuple(sorted(flags)),
            rejection=rejection,
            # A file refused for what it is needs no scan to be refused.
            scan_owed=owed and rejection is None,
            dimensions=dimensions,
            detail=detail,
            pdf_incomplete=pdf_incomplete,
        )

    async def _scan(self) -> tuple[ScanRecord, ScanResult | None]:
        if self._stream is None:
            return ScanRecord("skipped"), None
        result = await self._stream.finish()
        if result.verdict is ScanVerdict.CLEAN:
            return ScanRecord("clean", result.engine), result
        if result.verdict is ScanVerdict.INFECTED:
            return ScanRecord("infected", result.engine, result.signature), result
        if result.verdict is ScanVerdict.TOO_LARGE:
            # Scanned in part only: neither clean nor infected, and no retry would change that.
            return ScanRecord("skipped", result.engine), result
        return ScanRecord("pending", result.engine), result
