"""The registry of organisations that may send delegations, named by acronym."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, FieldError, InvalidInput, NotFound
from bp_common.events.outbox import Outbox
from bp_common.pagination import Page, cursor_text, page_of, read_cursor
from bp_common.revisions import Precondition
from bp_common.types import is_country_code
from meetings_api.organisations.events import OrganisationRegisteredV1, OrganisationUpdatedV1
from meetings_api.organisations.models import Organisation, OrganisationType
from meetings_api.organisations.repository import OrganisationRepository
from meetings_api.organisations.schemas import (
    OrganisationCreate,
    OrganisationOut,
    OrganisationUpdate,
)


class OrganisationNotFound(NotFound):
    code = "organisation_not_found"


class OrganisationExists(Conflict):
    code = "organisation_exists"


class IatiIdTaken(Conflict):
    code = "iati_id_taken"


class OrganisationService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.organisations = OrganisationRepository(session)

    async def register(self, data: OrganisationCreate) -> Organisation:
        # A delegation names a state by its country code: an acronym equal to one would hide it.
        if is_country_code(data.acronym):
            message = f"'{data.acronym}' is a country code; an organisation needs another acronym."
            raise InvalidInput(
                message,
                code="acronym_is_country_code",
                errors=[
                    FieldError(
                        loc=["body", "acronym"], code="acronym_is_country_code", message=message
                    )
                ],
            )
        if await self.organisations.get(data.acronym) is not None:
            raise OrganisationExists(f"The acronym {data.acronym} is already registered.")
        if data.iati_id and await self.organisations.by_iati_id(data.iati_id) is not None:
            raise OrganisationExists(f"The IATI identifier {data.iati_id} is already registered.")
        organisation = Organisation(**data.model_dump(), announced_at=datetime.now(UTC))
        self.organisations.add(organisation)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # registered concurrently
            raise OrganisationExists(f"{data.acronym} was registered meanwhile.") from exc
        await self.outbox.emit(self.session, OrganisationRegisteredV1.of(organisation))
        return organisation

    async def get(self, acronym: str) -> Organisation:
        return await self.get_or_raise(acronym)

    async def get_or_raise(self, acronym: str, *, for_update: bool = False) -> Organisation:
        organisation = await self.organisations.get(acronym.strip().upper(), for_update=for_update)
        if organisation is None:
            raise OrganisationNotFound(f"No organisation with the acronym {acronym}.")
        return organisation

    async def update(
        self, acronym: str, data: OrganisationUpdate, precondition: Precondition
    ) -> Organisation:
        """Changes the fields sent and publishes the whole entry (``updated.v1``, which also
        announces an organisation the registry never published). A repeated request changes
        nothing and publishes nothing."""
        organisation = await self.get_or_raise(acronym, for_update=True)
        precondition.check(organisation.revision, "organisation")
        changes = {
            field: value
            for field, value in data.model_dump(exclude_unset=True).items()
            if getattr(organisation, field) != value
        }
        if not changes:
            return organisation
        iati_id = changes.get("iati_id")
        if iati_id is not None and await self.organisations.by_iati_id(iati_id) is not None:
            raise IatiIdTaken(f"The IATI identifier {iati_id} is another organisation's.")
        for field, value in changes.items():
            setattr(organisation, field, value)
        organisation.announced_at = organisation.announced_at or datetime.now(UTC)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the identifier taken concurrently
            raise IatiIdTaken(f"The IATI identifier {iati_id} was registered meanwhile.") from exc
        await self.outbox.emit(
            self.session, OrganisationUpdatedV1.of(organisation, changed=sorted(changes))
        )
        return organisation

    async def announce_unannounced(self) -> list[str]:
        """Publishes (``registered.v1``) each organisation the registry never published: those
        the migrations seeded. Marked in the same transaction as the outbox rows, so each is
        announced once, whatever restarts or replays follow; the acronyms announced."""
        organisations = await self.organisations.unannounced()
        for organisation in organisations:
            await self.outbox.emit(self.session, OrganisationRegisteredV1.of(organisation))
        await self.organisations.mark_announced([o.id for o in organisations], datetime.now(UTC))
        return [o.acronym for o in organisations]

    async def list(
        self, type_: OrganisationType | None, limit: int, cursor: str | None
    ) -> Page[OrganisationOut]:
        after = read_cursor(cursor, cursor_text)
        rows = await self.organisations.list(type_, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda o: (o.acronym,), OrganisationOut.model_validate)
