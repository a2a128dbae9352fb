from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, exists, select

from bp_common.errors import NotFound
from bp_common.pagination import seek
from bp_common.repository import Repository
from plan_api.activities.models import Activity, ActivityStatus
from plan_api.activities.schemas import ActivityFilters
from plan_api.hosting.models import HostingOffer, OfferStatus


class ActivityNotFound(NotFound):
    code = "activity_not_found"


class ActivityRepository(Repository[Activity]):
    model = Activity
    not_found = ActivityNotFound
    noun = "activity"

    async def page(
        self,
        plan_id: uuid.UUID,
        filters: ActivityFilters,
        *,
        limit: int,
        after: Sequence[Any] | None = None,
    ) -> list[Activity]:
        statement = self._filtered(select(Activity).where(Activity.plan_id == plan_id), filters)
        statement = seek(statement, [Activity.year, Activity.id], after).limit(limit)
        return list((await self.session.scalars(statement)).all())

    async def in_plan(self, plan_id: uuid.UUID) -> list[Activity]:
        """The plan's content: every activity that is not cancelled."""
        statement = select(Activity).where(
            Activity.plan_id == plan_id, Activity.status != ActivityStatus.CANCELLED
        )
        return list((await self.session.scalars(statement)).all())

    async def scheduled_by_meeting(self, meeting_id: uuid.UUID) -> list[uuid.UUID]:
        statement = select(Activity.id).where(
            Activity.meeting_id == meeting_id, Activity.status == ActivityStatus.SCHEDULED
        )
        return list((await self.session.scalars(statement.order_by(Activity.id))).all())

    async def any_under_goal(self, plan_id: uuid.UUID, goal: int) -> bool:
        statement = select(exists().where(Activity.plan_id == plan_id, Activity.goal == goal))
        return bool((await self.session.execute(statement)).scalar())

    @staticmethod
    def _filtered(statement: Select[Any], filters: ActivityFilters) -> Select[Any]:
        if filters.goal is not None:
            statement = statement.where(Activity.goal == filters.goal)
        if filters.year is not None:
            statement = statement.where(Activity.year == filters.year)
        if filters.status is not None:
            statement = statement.where(Activity.status == filters.status)
        if filters.kind is not None:
            statement = statement.where(Activity.kind == filters.kind)
        if filters.host is not None:
            # The accepted offers are the record behind host_countries.
            statement = statement.where(
                exists().where(
                    HostingOffer.activity_id == Activity.id,
                    HostingOffer.country == filters.host,
                    HostingOffer.status == OfferStatus.ACCEPTED,
                )
            )
        return statement
