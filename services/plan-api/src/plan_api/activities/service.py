"""Activities under a plan's goals and their lifecycle
``proposed -> host_offered -> hosted -> scheduled -> held | cancelled``. Every status change goes
through :meth:`ActivityService._move`, which refuses what the transition table does not allow, and
is checked before anything is changed, so a refusal stores nothing. Every change that shows in the
activity's event payload, or that the Secretariat edits, is announced with the activity as it now
is and its revision bumped, so consumers (the calendar) can order what they hear."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, InvalidInput
from bp_common.events.outbox import Outbox
from bp_common.pagination import Page, cursor_int, cursor_uuid, page_of, read_cursor
from bp_common.revisions import Precondition
from bp_common.types import quarter_of
from plan_api.activities import events
from plan_api.activities.models import CLOSED, TRANSITIONS, Activity, ActivityStatus
from plan_api.activities.repository import ActivityRepository
from plan_api.activities.schemas import ActivityCreate, ActivityFilters, ActivityOut, ActivityUpdate
from plan_api.hosting.repository import OfferRepository
from plan_api.plans.models import Plan
from plan_api.plans.repository import PlanRepository

logger = logging.getLogger(__name__)


class UnknownGoal(InvalidInput):
    code = "unknown_goal"


class YearOutsidePlan(InvalidInput):
    code = "year_outside_plan_period"


class InvalidSchedule(InvalidInput):
    code = "invalid_schedule"


class ActivityClosed(Conflict):
    code = "activity_closed"


class ActivityTransitionNotAllowed(Conflict):
    code = "activity_transition_not_allowed"


@dataclass(frozen=True)
class MeetingNews:
    """What a meetings-api event says about the meeting that carries out an activity."""

    meeting_id: uuid.UUID
    revision: int
    starts_on: date
    ends_on: date


class ActivityService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.activities = ActivityRepository(session)
        self.plans = PlanRepository(session)
        self.offers = OfferRepository(session)
        self.outbox = outbox

    # -- reading ---------------------------------------------------------------------------
    async def get(self, activity_id: uuid.UUID) -> Activity:
        return await self.activities.get_or_raise(activity_id)

    async def locked(self, activity_id: uuid.UUID) -> Activity:
        return await self.activities.get_or_raise(activity_id, for_update=True)

    async def page(
        self, plan_id: uuid.UUID, filters: ActivityFilters, limit: int, cursor: str | None
    ) -> Page[ActivityOut]:
        await self.plans.get_or_raise(plan_id)
        after = read_cursor(cursor, cursor_int, cursor_uuid)
        rows = await self.activities.page(plan_id, filters, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda a: (a.year, str(a.id)), ActivityOut.model_validate)

    # -- the Secretariat's edits -------------------------------------------------------------
    async def create(self, plan_id: uuid.UUID, data: ActivityCreate) -> Activity:
        plan = await self.plans.get_or_raise(plan_id)
        await self._ensure_goal(plan.id, data.goal)
        _ensure_in_period(plan, data.year)
        activity = Activity(
            plan_id=plan.id,
            **data.model_dump(),
            status=ActivityStatus.PROPOSED,
            host_countries=[],
            revision=0,
        )
        self.activities.add(activity)
        await self.session.flush()
        await self._emit(events.ActivityProposedV1, activity)
        return activity

    async def update(
        self,
        activity_id: uuid.UUID,
        patch: ActivityUpdate,
        precondition: Precondition = Precondition(None),
    ) -> Activity:
        activity = await self.locked(activity_id)
        precondition.check(activity.revision, "activity")
        self.ensure_open(activity)
        changes = patch.model_dump(exclude_unset=True)
        dated = "starts_on" in changes or "ends_on" in changes
        starts_on: date | None = changes.pop("starts_on", activity.starts_on)
        ends_on: date | None = changes.pop("ends_on", activity.ends_on)
        if "goal" in changes:
            await self._ensure_goal(activity.plan_id, changes["goal"])
        if dated:
            starts_on, ends_on = _schedule_dates(starts_on, ends_on)
        if starts_on is not None:
            # A dated activity's year and quarter are those of its dates.
            derived = {"year": starts_on.year, "quarter": quarter_of(starts_on)}
            for name, value in derived.items():
                if name in changes and changes[name] != value:
                    raise InvalidSchedule(
                        f"{name} must match the dates ({value}); change starts_on instead."
                    )
            changes |= derived
        if changes.get("year", activity.year) != activity.year:
            _ensure_in_period(await self.plans.get_or_raise(activity.plan_id), changes["year"])
        rescheduled = dated and (
            (starts_on, ends_on) != (activity.starts_on, activity.ends_on)
            or activity.status is not ActivityStatus.SCHEDULED
        )
        if rescheduled and activity.status is not ActivityStatus.SCHEDULED:
            self._ensure_transition(activity, ActivityStatus.SCHEDULED)
        changes |= {"starts_on": starts_on, "ends_on": ends_on}
        changed = {k: v for k, v in changes.items() if getattr(activity, k) != v}
        if not changed and not rescheduled:
            return activity
        for name, value in changed.items():
            setattr(activity, name, value)
        if rescheduled:
            activity.status = ActivityStatus.SCHEDULED
        activity.revision += 1
        await self.session.flush()
        if rescheduled:
            await self._emit(events.ActivityScheduledV1, activity)
        else:
            await self._emit(events.ActivityUpdatedV1, activity, changed=sorted(changed))
        return activity

    async def cancel(self, activity_id: uuid.UUID) -> Activity:
        activity = await self.locked(activity_id)
        await self.cancel_activity(activity)
        return activity

    async def cancel_activity(self, activity: Activity) -> None:
        await self._move(activity, ActivityStatus.CANCELLED)
        await self._emit(events.ActivityCancelledV1, activity)

    async def describe(self, activity: Activity, description: str) -> None:
        self.ensure_open(activity)
        if activity.description == description:
            return
        activity.description = description
        activity.revision += 1
        await self.session.flush()
        await self._emit(events.ActivityUpdatedV1, activity, changed=["description"])

    # -- hosting (driven by the hosting context) ---------------------------------------------
    def ensure_open(self, activity: Activity) -> None:
        if activity.status in CLOSED:
            raise ActivityClosed(f"The activity is {activity.status.value}; it cannot change.")

    async def offered(self, activity: Activity) -> None:
        """A host was offered: a proposed activity now has an offer to decide on."""
        self.ensure_open(activity)
        if activity.status is ActivityStatus.PROPOSED:
            await self._move(activity, ActivityStatus.HOST_OFFERED)
            await self._emit(events.ActivityUpdatedV1, activity, changed=["status"])

    async def offers_withdrawn(self, activity: Activity, *, pending: bool) -> None:
        """An offer was declined or withdrawn: without any other pending offer, no host is on
        offer any more."""
        if activity.status is ActivityStatus.HOST_OFFERED and not pending:
            await self._move(activity, ActivityStatus.PROPOSED)
            await self._emit(events.ActivityUpdatedV1, activity, changed=["status"])

    async def host(
        self,
        activity: Activity,
        country: str,
        offer_id: uuid.UUID,
        *,
        intervention_id: uuid.UUID | None = None,
    ) -> None:
        self.ensure_open(activity)
        if country not in activity.host_countries:
            # A new list, so the JSON column is seen as changed.
            activity.host_countries = [*activity.host_countries, country]
        if activity.status in (ActivityStatus.PROPOSED, ActivityStatus.HOST_OFFERED):
            activity.status = ActivityStatus.HOSTED
        activity.revision += 1
        await self.session.flush()
        await self._emit(
            events.ActivityHostedV1,
            activity,
            offer_id=offer_id,
            country=country,
            intervention_id=intervention_id,
        )

    # -- meetings (driven by meetings-api's events) --------------------------------------------
    async def schedule_for_meeting(self, activity_id: uuid.UUID, news: MeetingNews) -> None:
        activity = await self.locked(activity_id)
        if activity.status in CLOSED:
            logger.info("activity %s is %s; meeting news ignored", activity.id, activity.status)
            return
        seen = activity.meeting_revision if activity.meeting_id == news.meeting_id else None
        if seen is not None and seen >= news.revision:
            return  # already applied (a replay), or older than what was applied
        if activity.status is not ActivityStatus.SCHEDULED:
            self._ensure_transition(activity, ActivityStatus.SCHEDULED)
        self._take_meeting(activity, news)
        activity.status = ActivityStatus.SCHEDULED
        activity.revision += 1
        await self.session.flush()
        await self._emit(events.ActivityScheduledV1, activity)

    async def hold_for_meeting(self, activity_id: uuid.UUID, news: MeetingNews) -> None:
        activity = await self.locked(activity_id)
        if activity.status is ActivityStatus.HELD:
            return  # a replay, or a second meeting for the same activity
        self._ensure_transition(activity, ActivityStatus.HELD)
        self._take_meeting(activity, news)
        await self._move(activity, ActivityStatus.HELD)
        await self._emit(events.ActivityHeldV1, activity, meeting_id=news.meeting_id)

    async def release_meeting(self, news: MeetingNews, *, keep: uuid.UUID | None) -> None:
        """The meeting now carries out another activity (``keep``) or none: the activities it
        scheduled go back as when it is cancelled."""
        for activity_id in await self.activities.scheduled_by_meeting(news.meeting_id):
            if activity_id != keep:
                await self.unschedule_for_meeting(activity_id, news)

    async def unschedule_for_meeting(self, activity_id: uuid.UUID, news: MeetingNews) -> None:
        """The meeting that was to carry the activity out is cancelled, or now carries out
        another one. The activity stays in the plan: it goes back to where it stood before
        (hosted with accepted hosts, else host_offered with an offer pending, else proposed),
        loses the meeting's dates and keeps their year and quarter as its tentative timing. A
        meeting the activity does not follow (another one took it over, or none ever did)
        changes nothing."""
        activity = await self.locked(activity_id)
        if activity.meeting_id != news.meeting_id:
            return
        if activity.meeting_revision is not None and activity.meeting_revision >= news.revision:
            return  # already applied (a replay), or older than what was applied
        if activity.status is not ActivityStatus.SCHEDULED:
            logger.info(
                "activity %s is %s; meeting cancellation ignored", activity.id, activity.status
            )
            return
        if activity.host_countries:
            earlier = ActivityStatus.HOSTED
        elif await self.offers.any_pending(activity.id):
            earlier = ActivityStatus.HOST_OFFERED
        else:
            earlier = ActivityStatus.PROPOSED
        self._ensure_transition(activity, earlier)
        previous = events.PreviousDatesV1(starts_on=activity.starts_on, ends_on=activity.ends_on)
        activity.starts_on = activity.ends_on = None
        activity.meeting_revision = news.revision
        await self._move(activity, earlier)
        await self._emit(
            events.ActivityUnscheduledV1, activity, meeting_id=news.meeting_id, previous=previous
        )

    # -- internals --------------------------------------------------------------------------
    @staticmethod
    def _take_meeting(activity: Activity, news: MeetingNews) -> None:
        activity.starts_on, activity.ends_on = news.starts_on, news.ends_on
        activity.year, activity.quarter = news.starts_on.year, quarter_of(news.starts_on)
        activity.meeting_id, activity.meeting_revision = news.meeting_id, news.revision

    @staticmethod
    def _ensure_transition(activity: Activity, target: ActivityStatus) -> None:
        if target not in TRANSITIONS[activity.status]:
            raise ActivityTransitionNotAllowed(
                f"The activity is {activity.status.value}; it cannot become {target.value}."
            )

    async def _move(self, activity: Activity, target: ActivityStatus) -> None:
        self._ensure_transition(activity, target)
        activity.status = target
        activity.revision += 1
        await self.session.flush()

    async def _emit(self, event: type[events.ActivityV1], activity: Activity, **extra: Any) -> None:
        await self.outbox.emit(self.session, event.of(activity, **extra))

    async def _ensure_goal(self, plan_id: uuid.UUID, goal: int) -> None:
        if await self.plans.goal(plan_id, goal) is None:
            raise UnknownGoal(f"The plan has no goal {goal}.")


def _ensure_in_period(plan: Plan, year: int) -> None:
    if not plan.period_start <= year <= plan.period_end:
        raise YearOutsidePlan(
            f"{year} is outside the plan's period {plan.period_start}-{plan.period_end}."
        )


def _schedule_dates(starts_on: date | None, ends_on: date | None) -> tuple[date, date]:
    """The dates a PATCH schedules; an undated activity given only starts_on lasts one day."""
    if starts_on is None:
        raise InvalidSchedule("Give starts_on to schedule the activity.")
    if ends_on is None:
        ends_on = starts_on
    if ends_on < starts_on:
        raise InvalidSchedule("ends_on is before starts_on; give both dates.")
    return starts_on, ends_on
