"""Provider profiles and the documents linking them to files; every query is of one account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select

from assured_server.clock import is_uuid, new_id
from assured_server.db.engine import Database
from assured_server.db.models import ProviderDocument, ProviderProfile, StoredFile
from assured_server.stores.unit import Unit, owned_row, writer_of

# The wire format shows milliseconds: an update must move ``updated_at`` by at least that much.
_TICK = timedelta(milliseconds=1)
PROFILE_FIELDS = frozenset({"first_name", "last_name", "email", "npi", "specialty"})


@dataclass(frozen=True, slots=True)
class Document:
    """A provider document with the file it points at."""

    row: ProviderDocument
    file: StoredFile


class Providers:
    """Reading and changing provider profiles and documents."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- profiles -----------------------------------------------------------------------------

    async def add_profile(
        self,
        account_id: str,
        values: Mapping[str, str | None],
        now: datetime,
        unit: Unit | None = None,
    ) -> ProviderProfile:
        """Insert a new profile with ``values`` (the fields of :data:`PROFILE_FIELDS`), in
        ``unit`` or a write of its own."""
        row = ProviderProfile(
            id=new_id(), account_id=account_id, created_at=now, updated_at=now, **_checked(values)
        )
        await writer_of(self._db, unit).insert(row)
        return row

    async def profile(self, account_id: str, profile_id: str) -> ProviderProfile | None:
        """The profile with that id in that account, or ``None`` (also for a malformed id)."""
        return await owned_row(self._db, ProviderProfile, account_id, profile_id)

    async def update_profile(
        self,
        account_id: str,
        profile_id: str,
        changes: Mapping[str, str | None],
        now: datetime,
    ) -> ProviderProfile | None:
        """Apply a partial update; ``None`` when there is no such profile."""
        if not is_uuid(profile_id):
            return None
        async with self._db.write() as session:
            row = await session.get(ProviderProfile, profile_id)
            if row is None or row.account_id != account_id:
                return None
            for name, value in _checked(changes).items():
                setattr(row, name, value)
            # Every update is visible as a new ``updated_at``, even two within the same ms.
            row.updated_at = max(now, row.updated_at + _TICK)
            await session.flush()
        return row

    async def delete_profile(self, account_id: str, profile_id: str) -> bool:
        """Delete a profile; its documents go with it (``ON DELETE CASCADE``). ``False`` if
        absent."""
        return await self._delete_owned(ProviderProfile, account_id, profile_id)

    async def page_of_profiles(
        self, account_id: str, *, offset: int, limit: int
    ) -> tuple[int, Sequence[ProviderProfile]]:
        """The total count and one page of the account's profiles, newest first."""
        where = ProviderProfile.account_id == account_id
        async with self._db.read() as session:
            count = await session.scalar(
                select(func.count()).select_from(ProviderProfile).where(where)
            )
            rows = await session.scalars(
                # Ids are UUIDv7: descending id is newest first, and a total order for pages.
                select(ProviderProfile)
                .where(where)
                .order_by(ProviderProfile.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return int(count or 0), rows.all()

    # --- documents ----------------------------------------------------------------------------

    async def add_document(
        self,
        profile: ProviderProfile,
        file: StoredFile,
        *,
        document_name: str,
        document_type: str,
        document_url: str,
        now: datetime,
        unit: Unit | None = None,
    ) -> Document:
        """Associate ``file`` with ``profile`` (both already checked to be of one account), in
        ``unit`` or a write of its own. Raises ``ConstraintViolation`` when either is gone."""
        row = ProviderDocument(
            id=new_id(),
            account_id=profile.account_id,
            provider_id=profile.id,
            file_id=file.id,
            document_name=document_name,
            document_type=document_type,
            document_url=document_url,
            created_at=now,
        )
        await writer_of(self._db, unit).insert(row)
        return Document(row, file)

    async def document(self, account_id: str, document_id: str) -> Document | None:
        """The document with that id in that account, or ``None`` (also for a malformed id)."""
        if not is_uuid(document_id):
            return None
        async with self._db.read() as session:
            found = (
                await session.execute(
                    _documents().where(
                        ProviderDocument.id == document_id,
                        ProviderDocument.account_id == account_id,
                    )
                )
            ).first()
        return Document(found[0], found[1]) if found is not None else None

    async def delete_document(self, account_id: str, document_id: str) -> bool:
        """Delete the association only (the file stays); ``False`` if absent."""
        return await self._delete_owned(ProviderDocument, account_id, document_id)

    async def page_of_documents(
        self, account_id: str, *, provider_id: str | None, offset: int, limit: int
    ) -> tuple[int, list[Document]]:
        """The total count and one page of the account's documents (of one provider), newest
        first."""
        conditions = [ProviderDocument.account_id == account_id]
        if provider_id is not None:
            conditions.append(ProviderDocument.provider_id == provider_id)
        async with self._db.read() as session:
            count = await session.scalar(
                select(func.count()).select_from(ProviderDocument).where(*conditions)
            )
            rows = await session.execute(
                _documents()
                .where(*conditions)
                .order_by(ProviderDocument.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return int(count or 0), [Document(doc, file) for doc, file in rows.tuples()]

    async def _delete_owned(
        self, model: type[ProviderProfile] | type[ProviderDocument], account_id: str, row_id: str
    ) -> bool:
        """Delete the account's row ``row_id`` of ``model``; ``False`` if there is none."""
        if not is_uuid(row_id):
            return False
        async with self._db.write() as session:
            result = await session.execute(
                delete(model).where(model.id == row_id, model.account_id == account_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _checked(values: Mapping[str, str | None]) -> dict[str, str | None]:
    unknown = set(values) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    return dict(values)


def _documents() -> Select[ProviderDocument, StoredFile]:
    return select(ProviderDocument, StoredFile).join(
        StoredFile, StoredFile.id == ProviderDocument.file_id
    )
