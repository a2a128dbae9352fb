from __future__ import annotations

from fastapi import APIRouter

from bp_common.app import IdentityDep, OutboxDep, SessionDep
from bp_common.orm import utcnow
from indicators_api.dashboard.schemas import DashboardSummary
from indicators_api.dashboard.service import DashboardService

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])


@router.get("/summary", response_model=DashboardSummary)
async def get_dashboard_summary(
    session: SessionDep, outbox: OutboxDep, _: IdentityDep
) -> DashboardSummary:
    """The dashboard's front page across the three services: meetings by status, participants
    of the meetings held and the next planned meeting; the latest plan, its version and its
    activities by status and host; results, reporting organisations and indicators on or off
    track. A read model fed by the services' events: its cost does not grow with the data, and
    `as_of` tells how fresh it is."""
    return await DashboardService(session, outbox).summary(utcnow().date())
