"""What the v1 upload form declares about its file, and the checks on it."""

from __future__ import annotations

from dataclasses import dataclass, field

from assured_server.errors import ApiError, ErrorCode, invalid
from assured_server.files.content_types import (
    V1_CONTENT_TYPES,
    ContentType,
    InvalidContentType,
    content_type_for_extension,
    parse_content_type,
)
from assured_server.files.filenames import extension_of
from assured_server.files.rules import checked_expiration, checked_filename

FIELDS = ("file", "mime_type", "expiration")
GENERIC_TYPES = frozenset({"", "application/octet-stream"})


def unsupported(name: str) -> ApiError:
    """400 ``UNSUPPORTED_FILE_FORMAT`` for a file that is not PDF, PNG or JPEG."""
    ext = extension_of(name) or "(none)"
    return ApiError(
        ErrorCode.UNSUPPORTED_FILE_FORMAT,
        f"Unsupported file format: '{ext}'. Assured only accepts PDF, PNG, and JPEG files.",
        field="file",
    )


@dataclass
class UploadForm:
    """The parts of one ``files/handle`` form as they are read."""

    file_name: str | None = None
    part_type: str | None = None
    mime_type: str | None = None
    expiration: str | None = None
    seen: set[str] = field(default_factory=set)

    def note_part(self, name: str) -> None:
        """Refuse unknown and repeated parts."""
        if name not in FIELDS:
            raise invalid(f"Unknown form part: {name!r}.", field=name)
        if name in self.seen:
            raise invalid(f"Form part {name!r} is given more than once.", field=name)
        self.seen.add(name)

    def file_type(self, raw_name: str | None) -> ContentType:
        """Check the file's name and extension (before any byte is read); return its type."""
        if raw_name is None:
            raise invalid("The 'file' part must be a file (with a filename).", field="file")
        self.file_name = checked_filename(raw_name, "file")
        row = content_type_for_extension(self.file_name)
        if row is None or row.name not in V1_CONTENT_TYPES:
            raise unsupported(self.file_name)
        if self.mime_type is not None:
            self.check_declared(row)
        return row

    def check_declared(self, row: ContentType) -> None:
        """The explicit ``mime_type``, else the part's own type, must agree with the extension."""
        declared = self.mime_type
        field_name = "mime_type"
        if declared is None:
            declared = (self.part_type or "").strip().lower()
            field_name = "file"
            if declared in GENERIC_TYPES:
                return
        try:
            parsed = parse_content_type(declared)
        except InvalidContentType as exc:
            raise ApiError(ErrorCode.INVALID_CONTENT_TYPE, str(exc), field=field_name) from exc
        if parsed.name != row.name:
            raise ApiError(
                ErrorCode.INVALID_CONTENT_TYPE,
                f"Content type '{parsed.name}' does not match the file extension "
                f"'{extension_of(self.file_name or '')}'.",
                field=field_name,
            )

    def expires_in(self, maximum_seconds: int) -> int | None:
        """Seconds of life if the form names an expiration (v1 files keep by default)."""
        if self.expiration is None:
            return None
        return checked_expiration(self.expiration, maximum_seconds, "expiration")
