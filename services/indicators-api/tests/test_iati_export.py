"""IATI 2.03 export: valid against the official schema, and a round trip through a second
platform (same framework and projects, no results) gives back the same document."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import identity_headers, running
from indicators_api.app import create_app
from indicators_api.settings import IndicatorsSettings

from .conftest import SECRETARIAT, VIEWER, Api, seed_framework
from .iati_documents import schema_errors
from .test_import import valid_row

GENERATED = re.compile(rb'generated-datetime="[^"]*"')


@pytest.fixture
async def second(tmp_path: Path) -> AsyncIterator[Api]:
    """Another platform, on its own database (SQLite whatever the first runs on)."""
    bus = InMemoryBus()
    settings = IndicatorsSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/second.db", outbox_poll_interval_s=0.05
    )
    async with running(create_app(settings, bus=bus, migrate=True)) as client:
        await bus.start()
        yield Api(client, bus)
        await bus.stop()


def distinct_rows(count: int) -> list[dict[str, Any]]:
    """Valid rows of the import tests, one per IATI figure (project, indicator, period, country,
    slice): IATI has no id for an actual, so two rows of one figure would be one actual."""
    rng = random.Random(20)
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    index = 0
    while len(rows) < count:
        row = valid_row(rng, index)
        index += 1
        key = (row["indicator"], row["period"], row.get("country"), str(row.get("disaggregation")))
        rows.setdefault(key, row)
    return list(rows.values())


def registered(
    acronym: str,
    iati_id: str | None,
    *,
    revision: int | None = None,
    name: str | None = None,
    updated: bool = False,
) -> CloudEvent:
    """meetings-api's event, as its registry publishes it (without a revision: as published
    before revisions)."""
    data = {
        "organisation_id": str(uuid.uuid5(uuid.NAMESPACE_URL, acronym)),
        "acronym": acronym,
        "name": name or f"The {acronym}",
        "organisation_type": "un_agency",
        "iati_id": iati_id,
    }
    if revision is not None:
        data["revision"] = revision
    if updated:
        data["changed"] = ["iati_id", "name"]
    return CloudEvent(
        type=f"meetings.organisation.{'updated' if updated else 'registered'}.v1",
        source="/meetings",
        subject=data["organisation_id"],
        data=data,
    )


async def export(api: Api, **params: str) -> bytes:
    answer = await api.client.get("/v1/iati/activities.xml", params=params, headers=VIEWER)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    return answer.content


async def test_the_export_validates_and_round_trips_through_another_platform(
    api: Api, second: Api
) -> None:
    await seed_framework(api)
    imported = await api.import_rows(distinct_rows(120))
    assert imported.json()["created"] == 120, imported.text
    first = await export(api)
    assert schema_errors(first) == []
    assert first.count(b"<actual") == 120

    await seed_framework(second)
    answer = await second.client.post(
        "/v1/iati/import",
        content=first,
        params={"organisation": "ICMPD"},
        headers=SECRETARIAT | {"content-type": "application/xml"},
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["created"], answer.json()["errors"]) == (120, [])
    again = await export(second)
    assert GENERATED.sub(b"", again) == GENERATED.sub(b"", first)

    replayed = await second.client.post(
        "/v1/iati/import",
        content=again,
        params={"organisation": "ICMPD"},
        headers=SECRETARIAT | {"content-type": "application/xml"},
    )
    assert (replayed.json()["unchanged"], replayed.json()["created"]) == (120, 0)


async def test_one_project_or_an_empty_platform_exports_a_valid_document(api: Api) -> None:
    empty = await api.client.get("/v1/iati/activities.xml", headers=VIEWER)
    assert (empty.status_code, empty.json()["code"]) == (404, "no_activities")
    await seed_framework(api)
    await api.import_rows(distinct_rows(10))
    one = await export(api, project="IMM-SR")
    assert schema_errors(one) == []
    assert one.count(b"<iati-activity>") == 1
    assert b"<iati-identifier>XI-IATI-ICMPD-IMM-SR</iati-identifier>" in one


async def test_an_organisation_exports_under_its_registered_identifier_and_reimports(
    api: Api, second: Api
) -> None:
    for platform in (api, second):
        await seed_framework(platform)
        await platform.publish(registered("IOM", "XM-DAC-47066"), registered("UNODC", None))
    await api.import_rows(distinct_rows(40))
    first = await export(api, organisation="IOM")
    assert schema_errors(first) == []
    assert b'<reporting-org ref="XM-DAC-47066" type="40"><narrative>The IOM</narrative>' in first
    assert b"<iati-identifier>XM-DAC-47066-IMM-SR</iati-identifier>" in first
    assert b'<participating-org role="4" ref="XM-DAC-47066"><narrative>IOM' in first

    iom = identity_headers(Role.PARTNER, organisation="IOM")
    answer = await second.client.post(
        "/v1/iati/import", content=first, headers=iom | {"content-type": "application/xml"}
    )
    assert (answer.json()["created"], answer.json()["errors"]) == (40, []), answer.text
    assert {r["organisation"] for r in await second.results()} == {"IOM"}
    assert GENERATED.sub(b"", await export(second, organisation="IOM")) == GENERATED.sub(b"", first)

    # Under another organisation's identifier the document is not IOM's to import.
    unodc = await second.client.post(
        "/v1/iati/import",
        content=first.replace(b'ref="XM-DAC-47066" type="40"', b'ref="XM-DAC-47067" type="40"'),
        headers=iom | {"content-type": "application/xml"},
    )
    assert [e["code"] for e in unodc.json()["errors"]] == ["reporting_org_not_organisation"]

    unknown = await api.client.get(
        "/v1/iati/activities.xml", params={"organisation": "UNODC"}, headers=VIEWER
    )
    assert (unknown.status_code, unknown.json()["code"]) == (
        409,
        "organisation_iati_identifier_unknown",
    )


async def test_the_copy_of_the_registry_follows_updates_and_ignores_older_news(
    api: Api,
) -> None:
    await seed_framework(api)
    await api.import_rows(distinct_rows(5))
    await api.publish(registered("UNODC", None))
    unknown = await api.client.get(
        "/v1/iati/activities.xml", params={"organisation": "UNODC"}, headers=VIEWER
    )
    assert unknown.status_code == 409
    given = registered("UNODC", "XM-DAC-41121", revision=2, name="UNODC", updated=True)
    await api.publish(given)
    document = await export(api, organisation="UNODC")
    assert schema_errors(document) == []
    assert b'<reporting-org ref="XM-DAC-41121" type="40"><narrative>UNODC<' in document
    # A registration redelivered or replayed after the update, an older update: kept out.
    older = registered("UNODC", "XM-DAC-99999", revision=1, name="Old", updated=True)
    await api.publish(registered("UNODC", None, revision=1), older)
    assert GENERATED.sub(b"", await export(api, organisation="UNODC")) == GENERATED.sub(
        b"", document
    )
