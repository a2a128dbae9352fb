"""Consumer of plan-api's endorsement: the framework's goals follow the endorsed plan."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.envelope import CloudEvent
from indicators_api.base import handler_outbox
from indicators_api.framework.schemas import PlanEndorsed
from indicators_api.framework.service import FrameworkService

PLAN_ENDORSED = "plan.endorsed.v1"


async def on_plan_endorsed(session: AsyncSession, event: CloudEvent) -> None:
    plan = PlanEndorsed.model_validate(event.data)
    await FrameworkService(session, handler_outbox).endorse(plan, event.time)


HANDLERS = {PLAN_ENDORSED: on_plan_endorsed}
