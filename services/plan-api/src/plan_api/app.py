from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from bp_common.app import ServiceSpec, create_service_app
from bp_common.events.bus import EventBus
from bp_common.settings import ServiceSettings
from plan_api.base import Base, messaging
from plan_api.settings import PlanSettings

MIGRATIONS = Path(__file__).parent / "migrations"

# The plan's bounded contexts (plans, activities, hosting, versions, amendments) arrive with
# their issue; the service already runs with its database, outbox, inbox and migrations.
SPEC = ServiceSpec(
    name="plan",
    title="Budapest Process — plan-api",
    metadata=Base.metadata,
    messaging=messaging,
    migrations=MIGRATIONS,
    routers=[],
    publishes=["plan.events"],
)


def create_app(
    settings: ServiceSettings | None = None,
    *,
    bus: EventBus | None = None,
    migrate: bool | None = None,
) -> FastAPI:
    return create_service_app(SPEC, settings or PlanSettings(), bus=bus, migrate=migrate)
