"""The long-lived parts of a running server, built once at start and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass, field

from assured_server.auth.password_pool import PasswordPool
from assured_server.auth.revocations import Revocations
from assured_server.auth.throttle import LoginThrottle
from assured_server.auth.tokens import TokenService
from assured_server.config import Settings
from assured_server.db.engine import Database
from assured_server.ratelimit import RateLimiter
from assured_server.safety.inspection import SafetyPolicy
from assured_server.storage.base import StorageBackend
from assured_server.storage.factory import make_storage
from assured_server.stores import Stores


@dataclass
class Services:
    """Settings, database, storage, tokens, limits and password checks of one server process."""

    settings: Settings
    db: Database
    storage: StorageBackend
    tokens: TokenService
    limiter: RateLimiter
    login_throttle: LoginThrottle
    passwords: PasswordPool
    shutting_down: bool = field(default=False)
    stores: Stores = field(init=False)
    revocations: Revocations = field(init=False)
    safety: SafetyPolicy = field(init=False)
    link_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.stores = Stores(self.db)
        # Per upload link (keyed by the token's hash): the link's token is its only credential.
        self.link_limiter = RateLimiter(self.settings.upload_link_rate_limit_per_minute)
        self.revocations = Revocations(self.stores.accounts, self.settings)
        # The content checks of every upload path (scanner, PDF policy, pixel limit).
        self.safety = SafetyPolicy.from_settings(self.settings)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Wire the parts from settings; nothing connects until used."""
        return cls(
            settings=settings,
            db=Database(settings.effective_database_url),
            storage=make_storage(settings),
            tokens=TokenService(settings),
            limiter=RateLimiter(settings.rate_limit_per_minute),
            login_throttle=LoginThrottle(),
            passwords=PasswordPool(settings.password_check_threads, settings.password_check_queue),
        )

    async def start_encryption(self) -> None:
        """With ``ASSURED_ENCRYPTION_KEY_FILE``: check the master key against the stored account
        keys (raising ``EncryptionKeyError`` to refuse the start), then encrypt every object."""
        path = self.settings.encryption_key_file
        if path is None:
            return
        from assured_server.files.keyring import Keyring
        from assured_server.storage.encryption import MasterKey
        from assured_server.storage.filesystem import FilesystemStorage

        keyring = Keyring(MasterKey.load(path), self.stores.encryption_keys, self.stores.files)
        await keyring.check()
        assert isinstance(self.storage, FilesystemStorage)  # noqa: S101 - Settings insists
        self.storage.encrypt_with(keyring)

    async def close(self) -> None:
        """Release the database pool, storage connections and password-check threads."""
        await self.storage.close()
        await self.db.dispose()
        self.passwords.close()
