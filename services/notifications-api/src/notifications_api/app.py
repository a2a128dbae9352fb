from __future__ import annotations

from functools import partial
from pathlib import Path

from bp_common.app import ServiceSpec, create_service_app
from notifications_api.base import SERVICE_NAME, Base, messaging
from notifications_api.event_log import api as history_api
from notifications_api.event_log import handlers as event_log_handlers
from notifications_api.settings import NotificationsSettings
from notifications_api.stream import api as stream_api
from notifications_api.stream.hub import StreamHub
from notifications_api.webhooks import api as webhooks_api
from notifications_api.webhooks import events as webhook_events
from notifications_api.webhooks.dispatcher import Dispatcher

MIGRATIONS = Path(__file__).parent / "migrations"

SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="Budapest Process — notifications-api",
    metadata=Base.metadata,
    messaging=messaging,
    migrations=MIGRATIONS,
    settings_class=NotificationsSettings,
    routers=[
        webhooks_api.router,
        webhooks_api.deliveries_router,
        stream_api.router,
        history_api.router,
    ],
    handlers=event_log_handlers.HANDLERS,
    publishes=[webhook_events.TOPIC],
    events=webhook_events.EVENTS,
    # None: the log is this service's own record (its positions, its deliveries); a replay of
    # the topics finds every event already stored and neither renumbers nor re-delivers it.
    reset_read_models=None,
    workers=[Dispatcher.of, StreamHub.of],
)


create_app = partial(create_service_app, SPEC)
