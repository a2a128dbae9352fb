"""Consumer of plan-api's endorsement: the framework's goals follow the endorsed plan."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import consumes
from bp_common.events.envelope import CloudEvent
from indicators_api.base import handler_outbox
from indicators_api.framework.schemas import PlanEndorsed
from indicators_api.framework.service import FrameworkService


async def on_plan_endorsed(session: AsyncSession, plan: PlanEndorsed, event: CloudEvent) -> None:
    await FrameworkService(session, handler_outbox).endorse(plan, event.time)


# plan-api's event by its type string; the contract tests check the reader against its schema.
HANDLERS = {"plan.endorsed.v1": consumes(PlanEndorsed, on_plan_endorsed)}
