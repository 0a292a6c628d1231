"""The content-type table of the contract: accepted types, their extensions, their magic bytes."""

from __future__ import annotations

from dataclasses import dataclass

from assured_server.files.filenames import extension_of


@dataclass(frozen=True, slots=True)
class ContentType:
    """One row of the table: the canonical type and the extensions that name it."""

    name: str
    extensions: frozenset[str]

    @property
    def served_as(self) -> str:
        """The ``Content-Type`` header that downloads carry."""
        return "text/plain; charset=utf-8" if self.name == "text/plain" else self.name


CONTENT_TYPES: dict[str, ContentType] = {
    row.name: row
    for row in (
        ContentType("application/pdf", frozenset({".pdf"})),
        ContentType("text/plain", frozenset({".txt", ".text"})),
        ContentType("image/png", frozenset({".png"})),
        ContentType("image/jpeg", frozenset({".jpg", ".jpeg"})),
        ContentType("image/webp", frozenset({".webp"})),
        ContentType("image/bmp", frozenset({".bmp"})),
        ContentType("image/tiff", frozenset({".tiff", ".tif"})),
    )
}
# The v1 upload endpoint takes only these three.
V1_CONTENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})
_BY_EXTENSION = {ext: row for row in CONTENT_TYPES.values() for ext in row.extensions}


class InvalidContentType(ValueError):
    """The type is not in the table, carries a parameter, or contradicts the extension."""


def parse_content_type(value: str) -> ContentType:
    """Return the table row for a ``Content-Type`` value, or raise :class:`InvalidContentType`."""
    if not isinstance(value, str):
        raise InvalidContentType("The content type must be a string.")
    main, _, params = value.partition(";")
    row = CONTENT_TYPES.get(main.strip().lower())
    if row is None:
        raise InvalidContentType(f"Content type '{value}' is not supported.")
    if params.strip():
        key, _, param_value = params.strip().partition("=")
        charset = param_value.strip().strip('"').lower()
        if row.name != "text/plain" or key.strip().lower() != "charset" or charset != "utf-8":
            raise InvalidContentType(f"Content type parameter '{params.strip()}' is not accepted.")
    return row


def content_type_for_extension(filename: str) -> ContentType | None:
    """The table row that the file name's last extension names, if any."""
    return _BY_EXTENSION.get(extension_of(filename))


def check_extension_matches(filename: str, row: ContentType) -> None:
    """Raise :class:`InvalidContentType` unless the name's last extension belongs to ``row``."""
    ext = extension_of(filename)
    if ext not in row.extensions:
        shown = f"'{ext}'" if ext else "(none)"
        raise InvalidContentType(
            f"File extension {shown} does not match content type '{row.name}'."
        )
