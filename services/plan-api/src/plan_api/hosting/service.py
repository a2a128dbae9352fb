"""Offers to host an activity, and the Secretariat's decision on each. A standing offer is
identified by (activity, country, year): offering again, through the API or a replayed meeting
event, never creates a second one. An offer not accepted may be withdrawn (a tombstone); an
accepted one is final: the activity is hosted."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict
from bp_common.events.outbox import Outbox
from bp_common.orm import utcnow
from bp_common.pagination import Page, cursor_int, cursor_text, cursor_uuid, page_of, read_cursor
from bp_common.revisions import Precondition
from bp_common.security import Identity
from plan_api.access import ensure_speaks_for
from plan_api.activities.models import Activity
from plan_api.activities.service import ActivityService
from plan_api.hosting import events
from plan_api.hosting.models import HostingOffer, OfferStatus
from plan_api.hosting.repository import OfferRepository
from plan_api.hosting.schemas import OfferCreate, OfferOut

if TYPE_CHECKING:
    from plan_api.hosting.handlers import OfferToHostPayload


class DuplicateOffer(Conflict):
    code = "duplicate_offer"


class OfferAlreadyDecided(Conflict):
    code = "offer_already_decided"


class OfferAccepted(Conflict):
    code = "offer_accepted"


logger = logging.getLogger(__name__)


class HostingService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.offers = OfferRepository(session)
        self.activities = ActivityService(session, outbox)
        self.outbox = outbox

    async def get(self, offer_id: uuid.UUID) -> HostingOffer:
        return await self.offers.get_or_raise(offer_id)

    async def page(
        self,
        activity_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        *,
        include_withdrawn: bool = False,
    ) -> Page[OfferOut]:
        await self.activities.get(activity_id)
        after = read_cursor(cursor, cursor_int, cursor_text, cursor_uuid)
        rows = await self.offers.page(
            activity_id, limit=limit + 1, after=after, include_withdrawn=include_withdrawn
        )
        return page_of(
            rows, limit, lambda o: (o.year, o.country, str(o.id)), OfferOut.model_validate
        )

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
        await self.activities.host(
            activity, offer.country, offer.id, intervention_id=offer.intervention_id
        )
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

    # -- withdrawals -------------------------------------------------------------------------
    async def withdraw(
        self, offer_id: uuid.UUID, precondition: Precondition, identity: Identity, reason: str
    ) -> HostingOffer:
        """The offering state (or the Secretariat) takes its offer back."""
        offer = await self._locked(offer_id)
        ensure_speaks_for(identity, offer.country)
        precondition.check(offer.revision, "hosting offer")
        await self._withdraw(offer, by=identity.principal, reason=reason)
        return offer

    async def withdraw_for_intervention(
        self, intervention_id: uuid.UUID, *, by: str, reason: str
    ) -> None:
        """The meeting's intervention that made the offer was withdrawn or corrected. An offer
        accepted meanwhile (meetings-api could not know yet) stays: the activity is hosted and an
        accepted offer is final; the Secretariat sees the warning."""
        offer = await self.offers.by_intervention(intervention_id, for_update=True)
        if offer is None:
            return
        if offer.status is OfferStatus.ACCEPTED:
            logger.warning(
                "intervention %s withdrawn or corrected, but its hosting offer %s was accepted "
                "already: the offer stays (%s)",
                intervention_id,
                offer.id,
                reason,
            )
            return
        await self._withdraw(offer, by=by, reason=reason)

    async def follow_intervention(
        self,
        intervention_id: uuid.UUID,
        country: str | None,
        wanted: OfferToHostPayload | None,
        *,
        by: str,
        reason: str,
    ) -> None:
        """The intervention was corrected: its offer follows. Still the same offer (activity,
        country, year): nothing changes. Another one, or no offer to host any more: the
        standing offer is withdrawn and the new one (if any) recorded. An accepted offer stays
        (logged), and no second offer is made for the intervention."""
        offer = await self.offers.by_intervention(intervention_id, for_update=True)
        if wanted is None or country is None:
            await self.withdraw_for_intervention(intervention_id, by=by, reason=reason)
            return
        if offer is not None:
            year = wanted.year
            if year is None:
                year = (await self.activities.get(wanted.activity_id)).year
            if (offer.activity_id, offer.country, offer.year) == (
                wanted.activity_id,
                country,
                year,
            ):
                return
            if offer.status is OfferStatus.ACCEPTED:
                await self.withdraw_for_intervention(intervention_id, by=by, reason=reason)
                return
            await self._withdraw(offer, by=by, reason=reason)
        await self.offer_from_meeting(
            wanted.activity_id,
            country,
            wanted.year,
            wanted.text,
            meeting_id=wanted.meeting_id,
            intervention_id=intervention_id,
        )

    async def _withdraw(self, offer: HostingOffer, *, by: str, reason: str) -> None:
        if offer.status is OfferStatus.ACCEPTED:
            raise OfferAccepted(
                f"The offer was accepted: {offer.country} hosts the activity, and an accepted "
                "offer is not withdrawn. Nothing was changed."
            )
        offer.withdraw(by=by, reason=reason, what="hosting offer")
        await self.session.flush()
        activity = await self.activities.locked(offer.activity_id)
        pending = await self.offers.any_pending(activity.id)
        await self.activities.offers_withdrawn(activity, pending=pending)
        await self.outbox.emit(
            self.session,
            events.HostingWithdrawnV1.of(offer, activity.plan_id),
        )

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
                intervention_id=offer.intervention_id,
                meeting_id=offer.meeting_id,
                revision=offer.revision,
            ),
        )
        return offer

    async def _locked(self, offer_id: uuid.UUID) -> HostingOffer:
        return await self.offers.get_or_raise(offer_id, for_update=True)

    async def _pending(self, offer_id: uuid.UUID) -> HostingOffer:
        offer = await self._locked(offer_id)
        offer.refuse_if_withdrawn("hosting offer")
        if offer.status is not OfferStatus.OFFERED:
            raise OfferAlreadyDecided(f"The offer was already {offer.status.value}.")
        return offer
