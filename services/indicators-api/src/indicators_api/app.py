from __future__ import annotations

from functools import partial
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.app import ServiceSpec, create_service_app
from bp_common.events.contract import merge_handler_tables
from indicators_api.base import SERVICE_NAME, Base, messaging
from indicators_api.dashboard import api as dashboard_api
from indicators_api.dashboard import handlers as dashboard_handlers
from indicators_api.event_metrics import api as event_metrics_api
from indicators_api.event_metrics import handlers as event_metrics_handlers
from indicators_api.framework import api as framework_api
from indicators_api.framework import events as framework_events
from indicators_api.framework import handlers as framework_handlers
from indicators_api.iati import api as iati_api
from indicators_api.iati import handlers as iati_handlers
from indicators_api.projects import api as projects_api
from indicators_api.projects import events as project_events
from indicators_api.results import api as results_api
from indicators_api.results import events as results_events
from indicators_api.rollups import api as rollups_api
from indicators_api.rollups import events as rollup_events
from indicators_api.rollups import handlers as rollup_handlers
from indicators_api.settings import IndicatorsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def reset_read_models(session: AsyncSession) -> None:
    """What a replay rebuilds: the event-fed metrics with their rollups, and the dashboard."""
    await event_metrics_handlers.reset_read_models(session)
    await dashboard_handlers.reset_read_models(session)


SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="Budapest Process — indicators-api",
    metadata=Base.metadata,
    messaging=messaging,
    migrations=MIGRATIONS,
    settings_class=IndicatorsSettings,
    routers=[
        projects_api.router,
        framework_api.indicators_router,
        framework_api.framework_router,
        results_api.router,
        rollups_api.router,
        event_metrics_api.router,
        dashboard_api.router,
        iati_api.router,
    ],
    # A meeting held is counted first, then the rollups (with it) are frozen for that meeting.
    handlers=merge_handler_tables(
        event_metrics_handlers.HANDLERS,
        framework_handlers.HANDLERS,
        rollup_handlers.HANDLERS,
        dashboard_handlers.HANDLERS,
        iati_handlers.HANDLERS,
    ),
    # The framework's and the meetings' rollup snapshots are kept: each froze what stood at its
    # endorsement or meeting, which a replay today could not reproduce.
    reset_read_models=reset_read_models,
    publishes=[results_events.TOPIC],
    events=[
        *results_events.EVENTS,
        *rollup_events.EVENTS,
        *project_events.EVENTS,
        *framework_events.EVENTS,
    ],
)


create_app = partial(create_service_app, SPEC)
