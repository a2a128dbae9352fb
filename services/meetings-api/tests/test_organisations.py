from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import eventually, identity_headers, running
from meetings_api.app import create_app
from meetings_api.organisations.announcer import Announcer
from meetings_api.settings import MeetingsSettings

from .conftest import Settle

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)

SOURCE_DOCUMENT_ORGANISATIONS = {
    "EC",
    "CEU",
    "EEAS",
    "EASO",
    "FRONTEX",
    "BSEC",
    "ICMPD",
    "ILO",
    "IOM",
    "UNODC",
    "UNDP",
}


async def all_organisations(client: httpx.AsyncClient, **params: object) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        query = {"limit": 4, **params} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/organisations", params=query, headers=VIEWER)).json()
        seen += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return seen


async def test_the_eleven_organisations_of_the_source_document_are_registered(
    client: httpx.AsyncClient,
) -> None:
    organisations = await all_organisations(client)
    assert {o["acronym"] for o in organisations} == SOURCE_DOCUMENT_ORGANISATIONS
    assert [o["acronym"] for o in organisations] == sorted(o["acronym"] for o in organisations)
    iom = (await client.get("/v1/organisations/iom", headers=VIEWER)).json()
    assert (iom["name"], iom["type"], iom["iati_id"]) == (
        "International Organization for Migration",
        "un_agency",
        "XM-DAC-47066",
    )
    eu = await all_organisations(client, type="eu_institution")
    assert {o["acronym"] for o in eu} == {"EC", "CEU", "EEAS", "EASO", "FRONTEX"}


async def test_the_secretariat_registers_an_organisation(
    client: httpx.AsyncClient, settle: Settle, bus: InMemoryBus
) -> None:
    body = {
        "acronym": "unhcr",
        "name": "United Nations High Commissioner for Refugees",
        "type": "un_agency",
        "iati_id": "XM-DAC-41121",
    }
    created = await client.post("/v1/organisations", json=body, headers=SECRETARIAT)
    assert created.status_code == 201, created.text
    assert created.json()["acronym"] == "UNHCR"
    fetched = await client.get("/v1/organisations/UNHCR", headers=VIEWER)
    assert fetched.json() == created.json()
    again = await client.post("/v1/organisations", json=body, headers=SECRETARIAT)
    assert again.status_code == 409
    await settle()  # published for the services keeping a copy (indicators-api: IATI ids)
    registered = [e for e in organisation_events(bus) if e.data["acronym"] == "UNHCR"]
    assert [(e.type, e.data["iati_id"], e.data["revision"]) for e in registered] == [
        ("meetings.organisation.registered.v1", "XM-DAC-41121", 1)
    ]
    assert again.json()["code"] == "organisation_exists"
    same_iati = body | {"acronym": "UNHCR2"}
    refused = await client.post("/v1/organisations", json=same_iati, headers=SECRETARIAT)
    assert refused.status_code == 409


@pytest.mark.parametrize(
    ("override", "status", "code"),
    [
        ({"acronym": "AT"}, 422, "acronym_is_country_code"),
        ({"acronym": "A"}, 422, "validation_failed"),
        ({"acronym": "NO SPACES"}, 422, "validation_failed"),
        ({"type": "ngo"}, 422, "validation_failed"),
        ({"iati_id": "not an id"}, 422, "validation_failed"),
        ({"name": "\x00"}, 422, "validation_failed"),
        ({"name": "   "}, 422, "validation_failed"),
        ({"founded": 1993}, 422, "validation_failed"),
    ],
)
async def test_invalid_organisations_are_refused(
    client: httpx.AsyncClient, override: dict[str, object], status: int, code: str
) -> None:
    body = {"acronym": "MPI", "name": "Migration Policy Institute", "type": "other"} | override
    refused = await client.post("/v1/organisations", json=body, headers=SECRETARIAT)
    assert refused.status_code == status
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == code
    assert len(await all_organisations(client)) == len(SOURCE_DOCUMENT_ORGANISATIONS)


async def test_only_the_secretariat_registers(client: httpx.AsyncClient) -> None:
    body = {"acronym": "MPI", "name": "Migration Policy Institute", "type": "other"}
    member = identity_headers(Role.MEMBER, country="BG")
    assert (await client.post("/v1/organisations", json=body, headers=member)).status_code == 403


async def test_an_unknown_organisation_is_a_404(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/organisations/NOPE", headers=VIEWER)
    assert missing.status_code == 404
    assert missing.json()["code"] == "organisation_not_found"


def organisation_events(bus: InMemoryBus) -> list[CloudEvent]:
    return [e for e in bus.log.get("meetings.events", []) if e.type.startswith("meetings.org")]


async def seed_announced(bus: InMemoryBus) -> list[CloudEvent]:
    """The registry's start-up announcement of the seeded organisations, once published."""

    async def published() -> bool:
        return len(organisation_events(bus)) >= len(SOURCE_DOCUMENT_ORGANISATIONS)

    await eventually(published)
    return organisation_events(bus)


async def test_the_seeded_organisations_are_announced_once_across_restarts(
    tmp_path: Path, client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle
) -> None:
    """Seeded by a migration, they were never published: the first start announces each, so
    indicators-api's copy (the IATI export's reporting-org) knows them on a fresh platform."""
    announced = await seed_announced(bus)
    assert {e.type for e in announced} == {"meetings.organisation.registered.v1"}
    assert sorted(e.data["acronym"] for e in announced) == sorted(SOURCE_DOCUMENT_ORGANISATIONS)
    iom = next(e.data for e in announced if e.data["acronym"] == "IOM")
    assert (iom["iati_id"], iom["revision"]) == ("XM-DAC-47066", 1)
    body = {"acronym": "MPI", "name": "Migration Policy Institute", "type": "other"}
    assert (await client.post("/v1/organisations", json=body, headers=SECRETARIAT)).is_success
    await settle()

    # Another start on the same database (a restart, a second instance): nothing again.
    settings = MeetingsSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/meetings.db")
    again_bus = InMemoryBus()
    restarted: FastAPI = create_app(settings, bus=again_bus)
    async with running(restarted) as again:
        await again_bus.start()
        assert (await again.get("/v1/organisations/MPI", headers=VIEWER)).status_code == 200
        await restarted.state.runtime.worker(Announcer).wait()
        await again_bus.stop()
    assert organisation_events(again_bus) == []
    # Announcing is no change of an entry: its revision (its ETag) stays.
    iom_now = await client.get("/v1/organisations/IOM", headers=VIEWER)
    assert (iom_now.json()["revision"], iom_now.headers["etag"]) == (1, '"1"')


async def test_the_secretariat_corrects_an_organisation_and_publishes_it(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle
) -> None:
    await seed_announced(bus)
    read = await client.get("/v1/organisations/EASO", headers=VIEWER)
    assert read.headers["etag"] == '"1"'
    renamed = {"name": "European Union Agency for Asylum"}
    path = "/v1/organisations/easo"

    missing = await client.patch(path, json=renamed, headers=SECRETARIAT)
    assert (missing.status_code, missing.json()["code"]) == (428, "if_match_required")
    stale = await client.patch(path, json=renamed, headers=SECRETARIAT | {"If-Match": '"7"'})
    assert (stale.status_code, stale.json()["code"]) == (412, "stale_revision")
    assert stale.headers["etag"] == '"1"'
    assert (await client.get(path, headers=VIEWER)).json() == read.json()

    corrected = await client.patch(path, json=renamed, headers=SECRETARIAT | {"If-Match": '"1"'})
    assert corrected.status_code == 200, corrected.text
    assert corrected.headers["etag"] == '"2"'
    assert (corrected.json()["acronym"], corrected.json()["name"]) == (
        "EASO",
        "European Union Agency for Asylum",
    )
    assert corrected.json()["revision"] == 2
    # The same request again (a retry) changes nothing and publishes nothing.
    repeated = await client.patch(path, json=renamed, headers=SECRETARIAT | {"If-Match": '"2"'})
    assert (repeated.status_code, repeated.headers["etag"]) == (200, '"2"')
    await settle()
    updates = [e for e in organisation_events(bus) if e.type.endswith(".updated.v1")]
    assert [(e.data["acronym"], e.data["name"], e.data["revision"]) for e in updates] == [
        ("EASO", "European Union Agency for Asylum", 2)
    ]
    assert updates[0].data["changed"] == ["name"]
    assert updates[0].data["iati_id"] is None

    # An IATI identifier given, then removed.
    given = await client.patch(
        "/v1/organisations/ICMPD",
        json={"iati_id": "XI-IATI-TEST1"},
        headers=SECRETARIAT | {"If-Match": "*"},
    )
    assert (given.status_code, given.json()["iati_id"]) == (200, "XI-IATI-TEST1")
    removed = await client.patch(
        "/v1/organisations/ICMPD", json={"iati_id": None}, headers=SECRETARIAT | {"If-Match": '"2"'}
    )
    assert (removed.status_code, removed.json()["iati_id"]) == (200, None)


@pytest.mark.parametrize(
    ("acronym", "body", "status", "code"),
    [
        ("ICMPD", {"iati_id": "XM-DAC-47066"}, 409, "iati_id_taken"),  # IOM's
        ("ICMPD", {"acronym": "ICMPD2"}, 422, "validation_failed"),  # the key stays
        ("ICMPD", {"name": None}, 422, "validation_failed"),
        ("ICMPD", {"type": "ngo"}, 422, "validation_failed"),
        ("ICMPD", {"iati_id": "not an id"}, 422, "validation_failed"),
        ("NOPE", {"name": "Nobody"}, 404, "organisation_not_found"),
    ],
)
async def test_bad_corrections_are_refused_and_change_nothing(
    client: httpx.AsyncClient, acronym: str, body: dict[str, object], status: int, code: str
) -> None:
    before = await client.get("/v1/organisations/ICMPD", headers=VIEWER)
    refused = await client.patch(
        f"/v1/organisations/{acronym}", json=body, headers=SECRETARIAT | {"If-Match": "*"}
    )
    assert (refused.status_code, refused.json()["code"]) == (status, code)
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/organisations/ICMPD", headers=VIEWER)).json() == before.json()


async def test_only_the_secretariat_corrects(client: httpx.AsyncClient) -> None:
    for role, extra in ((Role.VIEWER, {}), (Role.MEMBER, {"country": "BG"})):
        headers = identity_headers(role, **extra) | {"If-Match": "*"}  # type: ignore[arg-type]
        refused = await client.patch("/v1/organisations/IOM", json={"name": "X"}, headers=headers)
        assert refused.status_code == 403
    partner = identity_headers(Role.PARTNER, organisation="IOM") | {"If-Match": "*"}
    refused = await client.patch("/v1/organisations/IOM", json={"name": "X"}, headers=partner)
    assert refused.status_code == 403
