from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from bp_common.app import ServiceSpec, create_service_app
from bp_common.events.bus import EventBus
from bp_common.settings import ServiceSettings
from indicators_api.base import Base, messaging
from indicators_api.event_metrics import api as event_metrics_api
from indicators_api.event_metrics import handlers as event_metrics_handlers
from indicators_api.settings import IndicatorsSettings

MIGRATIONS = Path(__file__).parent / "migrations"

SPEC = ServiceSpec(
    name="indicators",
    title="Budapest Process — indicators-api",
    metadata=Base.metadata,
    messaging=messaging,
    migrations=MIGRATIONS,
    routers=[event_metrics_api.router],
    handlers={**event_metrics_handlers.HANDLERS},
    publishes=["indicators.events"],
)


def create_app(
    settings: ServiceSettings | None = None,
    *,
    bus: EventBus | None = None,
    migrate: bool | None = None,
) -> FastAPI:
    return create_service_app(SPEC, settings or IndicatorsSettings(), bus=bus, migrate=migrate)
