"""The identity the gateway forwards is addressed to one service: each service accepts a token
that names it and refuses one for another service, or one that has expired."""

import time
from pathlib import Path

import httpx
import time_machine

from bp_common.security import IDENTITY_LEEWAY_S, IDENTITY_MAX_AGE_S, Role
from bp_common.testing import identity_headers, running
from bpctl.embedded import EmbeddedPlatform
from gateway.routing import Upstream

KEY = "bp_admin_audience-key"
A_READ = {
    Upstream.MEETINGS: "/v1/meetings",
    Upstream.PLAN: "/v1/plans",
    Upstream.INDICATORS: "/v1/projects",
}


async def test_each_service_accepts_an_identity_for_itself_alone(tmp_path: Path) -> None:
    platform = EmbeddedPlatform(tmp_path, KEY, load_demo_data=False)
    async with running(platform.gateway) as gateway:
        for upstream, path in A_READ.items():
            # What the gateway signs for each service is accepted there.
            through = await gateway.get(path, headers={"Authorization": f"Bearer {KEY}"})
            assert through.status_code == 200, (upstream, through.text)
            transport = httpx.ASGITransport(app=platform.services[upstream])
            async with httpx.AsyncClient(transport=transport, base_url="http://s") as direct:
                own = identity_headers(Role.VIEWER, audience=upstream.service_name)
                assert (await direct.get(path, headers=own)).status_code == 200
                for other in set(Upstream) - {upstream}:
                    foreign = identity_headers(Role.VIEWER, audience=other.service_name)
                    refused = await direct.get(path, headers=foreign)
                    assert refused.status_code == 401
                    assert refused.headers["content-type"] == "application/problem+json"
                    assert refused.json()["code"] == "identity_for_another_service"
                # Signed by a clock set past the lifetime and the leeway.
                with time_machine.travel(time.time() - IDENTITY_MAX_AGE_S - IDENTITY_LEEWAY_S - 1):
                    # Read here: the helper's headers sign when they are read.
                    stale = dict(identity_headers(Role.VIEWER, audience=upstream.service_name))
                expired = await direct.get(path, headers=stale)
                assert expired.status_code == 401
                assert expired.json()["code"] == "identity_expired"
