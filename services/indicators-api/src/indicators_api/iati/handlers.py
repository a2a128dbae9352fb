"""Consumer of meetings-api's registry: the organisations' IATI identifiers, kept as a copy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import consumes
from bp_common.events.envelope import CloudEvent
from indicators_api.iati.repository import IatiRepository
from indicators_api.iati.schemas import OrganisationRegistered


async def on_organisation(
    session: AsyncSession, organisation: OrganisationRegistered, _: CloudEvent
) -> None:
    await IatiRepository(session).save_organisation(
        organisation.acronym.upper(), organisation.iati_id, organisation.name
    )


HANDLERS = {
    "meetings.organisation.registered.v1": consumes(OrganisationRegistered, on_organisation)
}
