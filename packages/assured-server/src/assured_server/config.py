"""Server settings: read once at start from ``ASSURED_*`` variables and ``.env``, passed down."""

from __future__ import annotations

import os
import re
import secrets
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assured_server.expiration import parse_expiration
from assured_server.safety.clamd_address import parse_clamd_address

ENV_PREFIX = "ASSURED_"
# The SDK's own variables, and the account id the demo's demo.env sets for curl: a shell that
# runs both may export them, and the server ignores them.
SDK_VARIABLES = frozenset(
    {"ASSURED_BASE_URL", "ASSURED_API_KEY", "ASSURED_TOKEN", "ASSURED_ACCOUNT_ID"}
)
# The database drivers the server ships with.
DATABASE_URL_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*")


class ConfigError(ValueError):
    """The configuration cannot start a server; the message says which variable and why."""


class Settings(BaseSettings):
    """Everything the server can be configured with; the defaults run on one machine."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        default=Path("./var"), description="Where SQLite, files and secrets live."
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; SQLite in data_dir if empty."
    )
    storage_backend: Literal["filesystem", "s3"] = "filesystem"
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    bucket: str = Field(default="assured-files", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    public_url: str = ""
    max_upload_bytes: int = Field(default=104_857_600, ge=1)
    upload_url_ttl: int = Field(default=900, ge=60, le=604_800)
    max_expiration: str = "3650d"
    resumable_upload_ttl: str = Field(
        default="24h",
        description="How long an unfinished resumable (tus) upload is kept (expiration grammar).",
    )
    sweep_interval: float = Field(default=60.0, gt=0)
    jwt_secret: str = ""
    jwt_issuer: str = "assured"
    jwt_audience: str = "assured-api"
    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_keys_dir: Path | None = None
    jwt_key_id: str = ""
    access_token_ttl: int = Field(default=900, ge=30)
    refresh_token_ttl: int = Field(default=86_400, ge=60)
    revocation_refresh_interval: float = Field(
        default=30.0,
        gt=0,
        le=30,
        description="Seconds between reloads of revoked keys, disabled users, deleted accounts.",
    )
    rate_limit_per_minute: int = Field(default=0, ge=0)
    password_check_threads: int = Field(
        default=1, ge=1, le=32, description="Threads checking login passwords (argon2)."
    )
    password_check_queue: int = Field(
        default=8, ge=0, le=1000, description="Password checks that may wait; then 503."
    )
    scanner: Literal["none", "clamav"] = Field(
        default="none", description="Malware scanning: none, or clamav through clamd."
    )
    clamd_address: str = Field(
        default="unix:///var/run/clamav/clamd.ctl",
        description="clamd's socket: unix:///path or tcp://host:port (Debian's by default).",
    )
    pdf_active_content: Literal["flag", "reject"] = Field(
        default="flag", description="PDFs with active content: record the flags, or reject."
    )
    max_image_pixels: int = Field(
        default=100_000_000, ge=1, description="Images declaring more pixels are rejected."
    )
    encryption_key_file: Path | None = Field(
        default=None,
        description="Master key (32 bytes, base64; mode 0600): the embedded storage encrypts.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_timeout: float = Field(default=10.0, ge=0)
    workers: int = Field(default=1, ge=1, le=64, description="Server processes on one port.")
    header_timeout: float = Field(default=10.0, gt=0, le=3600)
    body_timeout: float = Field(default=30.0, gt=0, le=3600)
    keep_alive_timeout: float = Field(default=5.0, gt=0, le=3600)
    max_connections: int = Field(default=1000, ge=1, le=1_000_000)
    cors_origins: str = Field(
        default="",
        description="Comma-separated web origins allowed to call the API from a browser, or *.",
    )
    upload_link_rate_limit_per_minute: int = Field(
        default=120,
        ge=0,
        description="Requests per minute per upload link (page, creates, status reads); 0: off.",
    )

    @field_validator("max_expiration")
    @classmethod
    def _max_expiration_parses(cls, value: str) -> str:
        parse_expiration(value, maximum_seconds=None)
        return value

    @field_validator("resumable_upload_ttl")
    @classmethod
    def _resumable_upload_ttl_parses(cls, value: str) -> str:
        parse_expiration(value, maximum_seconds=None)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _cors_origins_are_origins(cls, value: str) -> str:
        return ",".join(parse_origins(value))

    @field_validator("clamd_address")
    @classmethod
    def _clamd_address_parses(cls, value: str) -> str:
        parse_clamd_address(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_has_our_driver(cls, value: str) -> str:
        if value and not value.startswith(DATABASE_URL_SCHEMES):
            raise ValueError("this database driver is not supported")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret_is_strong(cls, value: str) -> str:
        # RFC 7518 3.2: an HS256 key shorter than the hash output weakens every token.
        if value and len(value.encode("utf-8")) < 32:
            raise ValueError("ASSURED_JWT_SECRET must be at least 32 bytes")
        return value

    @model_validator(mode="after")
    def _s3_needs_a_store(self) -> Settings:
        if self.storage_backend == "s3":
            missing = [
                name
                for name, value in (
                    ("ASSURED_S3_ENDPOINT_URL", self.s3_endpoint_url),
                    ("ASSURED_S3_ACCESS_KEY_ID", self.s3_access_key_id),
                    ("ASSURED_S3_SECRET_ACCESS_KEY", self.s3_secret_access_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"ASSURED_STORAGE_BACKEND=s3 needs {', '.join(missing)}")
        if self.encryption_key_file is not None and self.storage_backend != "filesystem":
            raise ValueError(
                "ASSURED_ENCRYPTION_KEY_FILE encrypts the embedded (filesystem) storage;"
                " an S3 store encrypts with its own server-side encryption"
            )
        if self.jwt_algorithm != "HS256" and self.jwt_private_key_file is None:
            raise ValueError(f"ASSURED_JWT_ALGORITHM={self.jwt_algorithm} needs a key pair")
        return self

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        """The allowed browser origins (``("*",)`` for any); empty when CORS is off."""
        return tuple(self.cors_origins.split(",")) if self.cors_origins else ()

    @property
    def max_expiration_seconds(self) -> int:
        """The configured maximum file lifetime, in seconds."""
        return parse_expiration(self.max_expiration, maximum_seconds=None)

    @property
    def resumable_upload_ttl_seconds(self) -> int:
        """How long an unfinished tus upload is kept, in seconds."""
        return parse_expiration(self.resumable_upload_ttl, maximum_seconds=None)

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'assured.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """The base URL clients use to reach this server (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def parse_origins(value: str) -> list[str]:
    """``ASSURED_CORS_ORIGINS`` as a list of serialized origins, the way browsers send them.

    Scheme and host are lower-cased and a default port dropped, so that the comparison with a
    browser's ``Origin`` can be exact; anything that is not an origin is refused, loudly.
    """
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if "*" in entries:
        if len(entries) > 1:
            raise ValueError("ASSURED_CORS_ORIGINS: '*' allows every origin; list no others")
        return entries
    origins: list[str] = []
    for entry in entries:
        origin = _origin(entry)
        if origin is None:
            raise ValueError(
                f"ASSURED_CORS_ORIGINS: {entry!r} is not an origin; "
                "write scheme://host[:port] with no path, as in https://app.example.com"
            )
        if origin not in origins:
            origins.append(origin)
    return origins


def _origin(entry: str) -> str | None:
    try:
        parts = urlsplit(entry)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if (
        scheme not in ("http", "https")
        or not host
        or parts.path
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or entry.endswith(("?", "#"))
    ):
        return None
    if ":" in host:
        host = f"[{host}]"
    elif not _HOST.fullmatch(host):
        return None
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def check_unknown_variables(environ: dict[str, str] | os._Environ[str] | None = None) -> None:
    """Refuse ``ASSURED_*`` names that are neither a setting nor the SDK's own (no silent typos)."""
    env = os.environ if environ is None else environ
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | SDK_VARIABLES
    unknown = sorted(
        name for name in env if name.upper().startswith(ENV_PREFIX) and name.upper() not in known
    )
    if unknown:
        raise ConfigError(f"unknown configuration variable(s): {', '.join(unknown)}")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment, fill in generated secrets, prepare the data dir."""
    check_unknown_variables()
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, overrides)) from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for name, is_kind in (
        ("jwt_private_key_file", Path.is_file),
        ("jwt_public_keys_dir", Path.is_dir),
    ):
        path = getattr(settings, name)
        if path is not None and not is_kind(path):
            kind = "file" if name.endswith("file") else "directory"
            raise ConfigError(
                f"{ENV_PREFIX}{name.upper()}={str(path)!r}: no such {kind}; "
                f"allowed: the path of a readable {kind}, or unset"
            )
    try:
        return with_generated_secrets(settings)
    except OSError as exc:
        raise ConfigError(
            f"{ENV_PREFIX}DATA_DIR={str(settings.data_dir)!r}: cannot be used "
            f"({exc.strerror or exc}); allowed: a directory the server's user can create or write"
        ) from None


# Settings whose value is never shown, not even in an error message.
SECRET_SETTINGS = frozenset({"jwt_secret", "s3_secret_access_key", "s3_access_key_id"})
# What a pattern allows, in words (a regular expression is no help to an operator).
_PATTERN_WORDS = {
    "bucket": "3 to 63 characters: lower-case letters, digits, '.' and '-', "
    "beginning and ending with a letter or a digit",
}
_TYPE_WORDS: dict[Any, str] = {
    int: "a whole number",
    float: "a number",
    str: "text",
    Path: "a path",
}


def describe_validation_error(exc: ValidationError, overrides: dict[str, Any] | None = None) -> str:
    """One line per refused setting: its variable, the value given, and what is allowed.

    Secrets are named but never shown; a password in a database URL is masked. No pydantic
    wording or documentation link: the operator knows the variables, not the model.
    """
    lines = []
    for error in exc.errors(include_url=False):
        loc = error.get("loc") or ()
        name = str(loc[0]) if loc else ""
        if name not in Settings.model_fields:  # a check across settings: its message names them
            lines.append(_reason(error))
            continue
        source = f"--{name.replace('_', '-')}" if overrides and name in overrides else None
        variable = source or ENV_PREFIX + name.upper()
        shown = _shown_value(name, error.get("input"))
        lines.append(f"{variable}={shown}: {_reason(error)}; allowed: {allowed_values(name)}")
    return "\n".join(lines)


def _shown_value(name: str, value: Any) -> str:
    if name in SECRET_SETTINGS:
        return "(secret, not shown)"
    text = str(value)
    if name == "database_url":
        text = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)
    return repr(text)


def _reason(error: Any) -> str:
    message = str(error.get("msg", "invalid"))
    if message.startswith(("Value error, ", "Assertion failed, ")):
        message = message.split(", ", 1)[1]
    return message.rstrip(".")


def allowed_values(name: str) -> str:
    """What setting ``name`` accepts, in words, from its type and constraints."""
    field = Settings.model_fields[name]
    annotation = field.annotation
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(members) < len(get_args(annotation))
        annotation = members[0] if len(members) == 1 else annotation
    if get_origin(annotation) is Literal:
        words = "one of " + ", ".join(repr(choice) for choice in get_args(annotation))
    else:
        words = _TYPE_WORDS.get(annotation, str(annotation))
    bounds = []
    for item in field.metadata:
        for attribute, phrase in (("ge", ">= "), ("gt", "> "), ("le", "<= "), ("lt", "< ")):
            if getattr(item, attribute, None) is not None:
                bounds.append(phrase + str(getattr(item, attribute)))
    if bounds:
        words += " " + " and ".join(bounds)
    if name in _PATTERN_WORDS:
        words = _PATTERN_WORDS[name]
    elif name == "max_expiration":
        words = "a whole number followed by m, h or d (30m, 5h, 3650d)"
    elif name == "clamd_address":
        words = "unix:///absolute/path/of/clamd.ctl or tcp://host:port"
    elif name == "database_url":
        words = (
            "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB, sqlite+aiosqlite:///PATH, or unset"
        )
    elif name == "jwt_secret":
        words = "at least 32 bytes (or unset: one is generated and kept in the data dir)"
    if optional:
        words += ", or unset"
    return words


def with_generated_secrets(settings: Settings) -> Settings:
    """Create the data dir (0700); fill unset secrets from files kept there (made at start)."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    updates: dict[str, Any] = {}
    if not settings.jwt_secret and settings.jwt_algorithm == "HS256":
        updates["jwt_secret"] = _kept_secret(settings.data_dir / "jwt_secret", 48)
    if settings.storage_backend == "filesystem":
        if not settings.s3_access_key_id:
            updates["s3_access_key_id"] = _kept_secret(
                settings.data_dir / "s3_access_key_id", 0, alphabet_key=True
            )
        if not settings.s3_secret_access_key:
            updates["s3_secret_access_key"] = _kept_secret(
                settings.data_dir / "s3_secret_access_key", 30
            )
    return settings.model_copy(update=updates) if updates else settings


def _kept_secret(path: Path, nbytes: int, *, alphabet_key: bool = False) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) the first time."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    value = (
        "AK" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(18))
        if alphabet_key
        else secrets.token_urlsafe(nbytes)
    )
    # Written aside then hard-linked: if two processes start at once, one wins the link and
    # the other reads the complete value, never a half-written file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value
