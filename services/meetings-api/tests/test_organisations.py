import httpx
import pytest

from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import identity_headers

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
    registered = [e for e in bus.log["meetings.events"] if "organisation" in e.type]
    assert [(e.type, e.data["acronym"], e.data["iati_id"]) for e in registered] == [
        ("meetings.organisation.registered.v1", "UNHCR", "XM-DAC-41121")
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
