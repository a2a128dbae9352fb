from __future__ import annotations

from functools import partial
from pathlib import Path

from bp_common.app import ServiceSpec, create_service_app
from plan_api.activities import api as activities_api
from plan_api.activities import events as activity_events
from plan_api.amendments import api as amendments_api
from plan_api.amendments import events as amendment_events
from plan_api.base import SERVICE_NAME, Base, messaging
from plan_api.handlers import HANDLERS
from plan_api.hosting import api as hosting_api
from plan_api.hosting import events as hosting_events
from plan_api.plans import api as plans_api
from plan_api.plans import events as plan_events
from plan_api.plans.events import TOPIC
from plan_api.settings import PlanSettings
from plan_api.versions import api as versions_api
from plan_api.versions import events as version_events

MIGRATIONS = Path(__file__).parent / "migrations"

SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="Budapest Process — plan-api",
    metadata=Base.metadata,
    messaging=messaging,
    migrations=MIGRATIONS,
    settings_class=PlanSettings,
    routers=[
        plans_api.router,
        activities_api.router,
        hosting_api.router,
        versions_api.router,
        amendments_api.router,
    ],
    handlers=HANDLERS,
    publishes=[TOPIC],
    events=[
        *plan_events.EVENTS,
        *activity_events.EVENTS,
        *hosting_events.EVENTS,
        *version_events.EVENTS,
        *amendment_events.EVENTS,
    ],
)


create_app = partial(create_service_app, SPEC)
