from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from bp_common.app import ServiceSpec, create_service_app
from bp_common.events.bus import EventBus
from bp_common.settings import ServiceSettings
from meetings_api.base import Base, messaging
from meetings_api.meetings import api as meetings_api
from meetings_api.meetings import events as meeting_events
from meetings_api.settings import MeetingsSettings

MIGRATIONS = Path(__file__).parent / "migrations"

SPEC = ServiceSpec(
    name="meetings",
    title="Budapest Process — meetings-api",
    metadata=Base.metadata,
    messaging=messaging,
    migrations=MIGRATIONS,
    routers=[meetings_api.router],
    publishes=[meeting_events.TOPIC],
)


def create_app(
    settings: ServiceSettings | None = None,
    *,
    bus: EventBus | None = None,
    migrate: bool | None = None,
) -> FastAPI:
    return create_service_app(SPEC, settings or MeetingsSettings(), bus=bus, migrate=migrate)
