"""The embedded mode: the gateway and the four services in one process, each service with its
own SQLite file, all sharing the in-process bus. Outbox, inbox and migrations are still in use,
so this runs the same code paths as the distributed mode."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from bp_common.events.memory_bus import InMemoryBus
from bp_common.settings import BusKind, Environment
from bpctl.demo import is_empty, load_demo
from gateway.app import create_gateway_app
from gateway.asgi import StreamingASGITransport
from gateway.routing import Upstream
from gateway.settings import GatewaySettings
from indicators_api.app import create_app as create_indicators_app
from indicators_api.settings import IndicatorsSettings
from meetings_api.app import create_app as create_meetings_app
from meetings_api.settings import MeetingsSettings
from notifications_api.app import create_app as create_notifications_app
from notifications_api.settings import NotificationsSettings
from plan_api.app import create_app as create_plan_app
from plan_api.settings import PlanSettings

ADMIN_KEY_FILE = "admin-api-key"
logger = logging.getLogger(__name__)


def admin_key_for(var_dir: Path, configured: str | None) -> tuple[str, bool]:
    """The configured key, else the one generated on an earlier start, else a new one.
    Returns the key and whether it was generated now."""
    if configured:
        return configured, False
    key_file = var_dir / ADMIN_KEY_FILE
    if key_file.exists():
        return key_file.read_text().strip(), False
    key = "bp_admin_" + secrets.token_urlsafe(32)
    var_dir.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key, True


class EmbeddedPlatform:
    def __init__(
        self,
        var_dir: Path,
        admin_api_key: str,
        *,
        load_demo_data: bool = True,
        gateway_options: Mapping[str, Any] | None = None,
        notifications_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.var_dir = var_dir
        self.admin_api_key = admin_api_key
        self.load_demo_data = load_demo_data
        self.bus = InMemoryBus()
        common = {"environment": Environment.DEVELOPMENT, "bus": BusKind.MEMORY}

        def sqlite(name: str) -> str:
            return f"sqlite+aiosqlite:///{var_dir / name}.db"

        self.services: dict[Upstream, FastAPI] = {
            Upstream.MEETINGS: create_meetings_app(
                MeetingsSettings(database_url=sqlite("meetings"), **common), bus=self.bus
            ),
            Upstream.PLAN: create_plan_app(
                PlanSettings(database_url=sqlite("plan"), **common), bus=self.bus
            ),
            Upstream.INDICATORS: create_indicators_app(
                IndicatorsSettings(database_url=sqlite("indicators"), **common), bus=self.bus
            ),
            Upstream.NOTIFICATIONS: create_notifications_app(
                NotificationsSettings(
                    database_url=sqlite("notifications"), **common, **(notifications_options or {})
                ),
                bus=self.bus,
            ),
        }
        clients = {
            name: httpx.AsyncClient(
                # The stream never ends: its answer must be relayed as it comes.
                transport=StreamingASGITransport(app)
                if name is Upstream.NOTIFICATIONS
                else httpx.ASGITransport(app=app),
                base_url=f"http://{name.value}",
            )
            for name, app in self.services.items()
        }
        self.gateway = create_gateway_app(
            GatewaySettings(
                database_url=sqlite("gateway"),
                admin_api_key=SecretStr(admin_api_key),
                **common,
                **(gateway_options or {}),
            ),
            clients=clients,
            around=self._services_running(),
        )

    @contextlib.asynccontextmanager
    async def _services_running(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in self.services.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            await self.bus.start()
            stack.push_async_callback(self.bus.stop)
            if self.load_demo_data:
                await self._load_demo_if_empty()
            yield

    async def _load_demo_if_empty(self) -> None:
        """A newcomer's first look: the Istanbul story, entered through the gateway's API."""
        transport = httpx.ASGITransport(app=self.gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            if await is_empty(client, self.admin_api_key):
                logger.info("empty platform: loading the Istanbul 2019 demo data")
                await load_demo(client, self.admin_api_key)
                logger.info("demo data loaded")
