from __future__ import annotations

from functools import partial
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.app import ServiceSpec, create_service_app
from bp_common.events.contract import merge_handler_tables
from meetings_api.base import Base, messaging
from meetings_api.calendar import api as calendar_api
from meetings_api.calendar import handlers as calendar_handlers
from meetings_api.meetings import api as meetings_api
from meetings_api.meetings import events as meeting_events
from meetings_api.organisations import api as organisations_api
from meetings_api.organisations import events as organisation_events
from meetings_api.organisations.announcer import Announcer
from meetings_api.plan_facts import handlers as plan_facts_handlers
from meetings_api.proceedings import api as proceedings_api
from meetings_api.proceedings import events as proceedings_events
from meetings_api.reports import api as reports_api
from meetings_api.reports import handlers as report_handlers
from meetings_api.settings import MeetingsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def reset_read_models(session: AsyncSession) -> None:
    """What a replay rebuilds: the calendar and what plan-api made final."""
    await calendar_handlers.reset_read_models(session)
    await plan_facts_handlers.reset_read_models(session)


SPEC = ServiceSpec(
    name="meetings",
    title="Budapest Process — meetings-api",
    metadata=Base.metadata,
    messaging=messaging,
    migrations=MIGRATIONS,
    settings_class=MeetingsSettings,
    routers=[
        meetings_api.router,
        meetings_api.agenda_items_router,
        proceedings_api.router,
        proceedings_api.interventions_router,
        proceedings_api.decisions_router,
        organisations_api.router,
        calendar_api.router,
        reports_api.router,
    ],
    # The calendar consumes plan.events and this service's own meetings.events; the reports
    # keep indicators-api's snapshot of the results presented at each meeting; plan_facts
    # keeps the offers plan-api accepted and the versions it endorsed.
    handlers=merge_handler_tables(
        calendar_handlers.HANDLERS, report_handlers.HANDLERS, plan_facts_handlers.HANDLERS
    ),
    # The results snapshots are kept through a replay: each is what its meeting saw.
    reset_read_models=reset_read_models,
    publishes=[meeting_events.TOPIC],
    events=[*meeting_events.EVENTS, *proceedings_events.EVENTS, *organisation_events.EVENTS],
    # Publishes the seeded organisations once (indicators-api keeps a copy of the registry).
    workers=[Announcer.of],
)


create_app = partial(create_service_app, SPEC)
