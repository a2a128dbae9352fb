"""Fixtures for tests against the real PostgreSQL and Kafka that `make test` starts (deploy/).

Each test gets fresh databases and its own Kafka namespace (topic and group prefix), so runs
never see each other's data. If a server is unreachable the tests fail, never skip."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from bp_common.settings import BusKind, Environment, ServiceSettings
from bp_common.testing import delete_namespace, drop_database, running
from indicators_api.app import create_app as create_indicators_app
from indicators_api.settings import IndicatorsSettings
from meetings_api.app import create_app as create_meetings_app
from meetings_api.settings import MeetingsSettings

from .platform import Platform

PG_URL = os.environ.get("BP_TEST_PG_URL", "postgresql://budapest:budapest@127.0.0.1:5432")
KAFKA = os.environ.get("BP_TEST_KAFKA", "127.0.0.1:9092")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The hook sees the whole session's items: mark only this folder's.
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    """A fresh topic and group prefix; its topics and groups are deleted after the test (after
    the fixtures that use it, so once their consumers have stopped)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    yield prefix
    await delete_namespace(KAFKA, prefix)


@pytest.fixture
async def fresh_database() -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Creates throwaway PostgreSQL databases; returns their SQLAlchemy URLs."""
    created: list[str] = []
    try:
        admin = await asyncpg.connect(f"{PG_URL}/postgres", timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL} ({exc!r}); run deploy/postgres.sh")

    async def create(name: str) -> str:
        database = f"t_{name}_{uuid.uuid4().hex[:10]}"
        await admin.execute(f'CREATE DATABASE "{database}"')
        created.append(database)
        return f"{PG_URL.replace('postgresql://', 'postgresql+asyncpg://')}/{database}"

    yield create
    for database in created:
        await drop_database(admin, database)
    await admin.close()


def kafka_settings(
    settings_cls: type[ServiceSettings], database_url: str, namespace: str
) -> ServiceSettings:
    return settings_cls(
        environment=Environment.TEST,
        database_url=database_url,
        bus=BusKind.KAFKA,
        kafka_bootstrap_servers=KAFKA,
        kafka_namespace=namespace,
        kafka_request_timeout_s=5,
        outbox_poll_interval_s=0.5,
        outbox_max_backoff_s=2,
        consumer_retry_backoff_s=0.05,
    )


@pytest.fixture
async def platform(
    fresh_database: Callable[[str], Awaitable[str]], namespace: str
) -> AsyncIterator[Platform]:
    meetings = create_meetings_app(
        kafka_settings(MeetingsSettings, await fresh_database("meetings"), namespace), migrate=True
    )
    indicators = create_indicators_app(
        kafka_settings(IndicatorsSettings, await fresh_database("indicators"), namespace),
        migrate=True,
    )
    async with running(meetings) as meetings_client, running(indicators) as indicators_client:
        yield Platform(meetings_client, indicators_client)
