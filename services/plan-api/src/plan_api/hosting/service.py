"""Offers to host an activity, and the Secretariat's decision on each. An offer is identified by
(activity, country, year): offering again, through the API or a replayed meeting event, never
creates a second one."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, NotFound
from bp_common.events.outbox import Outbox
from bp_common.orm import utcnow
from bp_common.pagination import Page, cursor_int, cursor_text, page_of, read_cursor
from plan_api.activities.models import Activity
from plan_api.activities.service import ActivityService
from plan_api.hosting import events
from plan_api.hosting.models import HostingOffer, OfferStatus
from plan_api.hosting.repository import OfferRepository
from plan_api.hosting.schemas import OfferCreate, OfferOut


class OfferNotFound(NotFound):
    code = "offer_not_found"


class DuplicateOffer(Conflict):
    code = "duplicate_offer"


class OfferAlreadyDecided(Conflict):
    code = "offer_already_decided"


class HostingService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.offers = OfferRepository(session)
        self.activities = ActivityService(session, outbox)
        self.outbox = outbox

    async def get(self, offer_id: uuid.UUID) -> HostingOffer:
        offer = await self.offers.get(offer_id)
        if offer is None:
            raise OfferNotFound(f"No hosting offer with id {offer_id}.")
        return offer

    async def page(self, activity_id: uuid.UUID, limit: int, cursor: str | None) -> Page[OfferOut]:
        await self.activities.get(activity_id)
        after = read_cursor(cursor, cursor_int, cursor_text)
        rows = await self.offers.page(activity_id, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda o: (o.year, o.country), OfferOut.model_validate)

    async def offer(self, activity_id: uuid.UUID, data: OfferCreate) -> HostingOffer:
        activity = await self.activities.locked(activity_id)
        year = activity.year if data.year is None else data.year
        if await self.offers.find(activity.id, data.country, year) is not None:
            raise DuplicateOffer(f"{data.country} has already offered to host it in {year}.")
        return await self._record(activity, data.country, year, data.note)

    async def offer_from_meeting(
        self,
        activity_id: uuid.UUID,
        country: str,
        year: int | None,
        note: str | None,
        *,
        meeting_id: uuid.UUID,
        intervention_id: uuid.UUID,
    ) -> None:
        """An offer made at a meeting; a replay (same intervention, or the same offer already
        recorded another way) changes nothing."""
        if await self.offers.by_intervention(intervention_id) is not None:
            return
        activity = await self.activities.locked(activity_id)
        year = activity.year if year is None else year
        if await self.offers.find(activity.id, country, year) is not None:
            return
        await self._record(
            activity, country, year, note, meeting_id=meeting_id, intervention_id=intervention_id
        )

    async def accept(self, offer_id: uuid.UUID) -> HostingOffer:
        offer = await self._pending(offer_id)
        activity = await self.activities.locked(offer.activity_id)
        # Refuses a cancelled or held activity before anything changes.
        await self.activities.host(activity, offer.country, offer.id)
        offer.status, offer.decided_at = OfferStatus.ACCEPTED, utcnow()
        await self.session.flush()
        return offer

    async def decline(self, offer_id: uuid.UUID) -> HostingOffer:
        offer = await self._pending(offer_id)
        offer.status, offer.decided_at = OfferStatus.DECLINED, utcnow()
        await self.session.flush()
        activity = await self.activities.locked(offer.activity_id)
        pending = await self.offers.any_pending(activity.id)
        await self.activities.offers_withdrawn(activity, pending=pending)
        return offer

    async def _record(
        self,
        activity: Activity,
        country: str,
        year: int,
        note: str | None,
        *,
        meeting_id: uuid.UUID | None = None,
        intervention_id: uuid.UUID | None = None,
    ) -> HostingOffer:
        await self.activities.offered(activity)
        offer = HostingOffer(
            activity_id=activity.id,
            country=country,
            year=year,
            note=note,
            status=OfferStatus.OFFERED,
            meeting_id=meeting_id,
            intervention_id=intervention_id,
        )
        self.offers.add(offer)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent identical offer won the race
            raise DuplicateOffer(f"{country} has already offered to host it in {year}.") from exc
        await self.outbox.emit(
            self.session,
            events.HostingOfferedV1(
                offer_id=offer.id,
                activity_id=activity.id,
                plan_id=activity.plan_id,
                country=offer.country,
                year=offer.year,
                note=offer.note,
                status=offer.status,
            ),
        )
        return offer

    async def _pending(self, offer_id: uuid.UUID) -> HostingOffer:
        offer = await self.offers.get(offer_id, for_update=True)
        if offer is None:
            raise OfferNotFound(f"No hosting offer with id {offer_id}.")
        if offer.status is not OfferStatus.OFFERED:
            raise OfferAlreadyDecided(f"The offer was already {offer.status.value}.")
        return offer
