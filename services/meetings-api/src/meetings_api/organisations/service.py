"""The registry of organisations that may send delegations, named by acronym."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, FieldError, InvalidInput, NotFound
from bp_common.events.outbox import Outbox
from bp_common.pagination import Page, cursor_text, page_of, read_cursor
from bp_common.types import is_country_code
from meetings_api.organisations.events import OrganisationRegisteredV1
from meetings_api.organisations.models import Organisation, OrganisationType
from meetings_api.organisations.repository import OrganisationRepository
from meetings_api.organisations.schemas import OrganisationCreate, OrganisationOut


class OrganisationNotFound(NotFound):
    code = "organisation_not_found"


class OrganisationExists(Conflict):
    code = "organisation_exists"


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
        organisation = Organisation(**data.model_dump())
        self.organisations.add(organisation)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # registered concurrently
            raise OrganisationExists(f"{data.acronym} was registered meanwhile.") from exc
        await self.outbox.emit(self.session, OrganisationRegisteredV1.of(organisation))
        return organisation

    async def get(self, acronym: str) -> Organisation:
        organisation = await self.organisations.get(acronym.strip().upper())
        if organisation is None:
            raise OrganisationNotFound(f"No organisation with the acronym {acronym}.")
        return organisation

    async def list(
        self, type_: OrganisationType | None, limit: int, cursor: str | None
    ) -> Page[OrganisationOut]:
        after = read_cursor(cursor, cursor_text)
        rows = await self.organisations.list(type_, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda o: (o.acronym,), OrganisationOut.model_validate)
