"""The registry's organisations reach indicators-api on a fresh platform: the seeded ones are
announced at meetings-api's first start, so an organisation's IATI export answers without any
registration; a correction of the registry (PATCH) follows into the export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bp_common.testing import current_if_match, eventually, running
from bpctl.embedded import EmbeddedPlatform

KEY = "bp_admin_registry-key"
ADMIN = {"Authorization": f"Bearer {KEY}"}
PROJECT = {
    "code": "REG-IOM-1",
    "title": "Assisted voluntary return along the Silk Routes",
    "implementing_organisations": ["IOM"],
    "countries": ["AF", "PK"],
    "goals": [5],
    "starts_on": "2019-01-01",
    "ends_on": "2030-12-31",
}


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    platform = EmbeddedPlatform(tmp_path, KEY, load_demo_data=False)
    async with running(platform.gateway) as client:
        yield client


async def export_of(client: httpx.AsyncClient, organisation: str) -> httpx.Response:
    return await client.get(
        "/v1/iati/activities.xml", params={"organisation": organisation}, headers=ADMIN
    )


async def test_a_fresh_platform_exports_a_seeded_organisation_and_follows_its_correction(
    gateway: httpx.AsyncClient,
) -> None:
    created = await gateway.post("/v1/projects", json=PROJECT, headers=ADMIN)
    assert created.status_code == 201, created.text

    async def iom_known() -> bool:
        return (await export_of(gateway, "IOM")).status_code == 200

    await eventually(iom_known)
    document = (await export_of(gateway, "IOM")).content
    assert b'<reporting-org ref="XM-DAC-47066" type="40"><narrative>International Organization' in (
        document
    )

    path = "/v1/organisations/IOM"
    renamed = {"name": "IOM, the UN Migration Agency"}
    corrected = await gateway.patch(
        path, json=renamed, headers=ADMIN | await current_if_match(gateway, path, ADMIN)
    )
    assert corrected.status_code == 200, corrected.text

    async def renamed_in_export() -> bool:
        return (
            b"<narrative>IOM, the UN Migration Agency</narrative>"
            in (await export_of(gateway, "IOM")).content
        )

    await eventually(renamed_in_export)
