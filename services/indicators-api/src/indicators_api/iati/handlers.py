"""Consumer of meetings-api's registry: the organisations' IATI identifiers, kept as a copy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import consumes
from bp_common.events.envelope import CloudEvent
from indicators_api.iati.repository import IatiRepository
from indicators_api.iati.schemas import OrganisationPublished


async def on_organisation(
    session: AsyncSession, organisation: OrganisationPublished, _: CloudEvent
) -> None:
    """Registered or updated: the whole entry, kept unless the copy is at its revision already
    (a redelivery, a replay, news overtaken by a later one)."""
    await IatiRepository(session).save_organisation(
        organisation.acronym.upper(),
        organisation.iati_id,
        organisation.name,
        organisation.revision,
    )


HANDLERS = {
    "meetings.organisation.registered.v1": consumes(OrganisationPublished, on_organisation),
    "meetings.organisation.updated.v1": consumes(OrganisationPublished, on_organisation),
}
