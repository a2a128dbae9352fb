"""Every write endpoint of the API against every role, through the gateway: exactly the
combinations API.md allows succeed; every refusal is a 403 problem that leaves the resource as
it was. Plus the cross-organisation and cross-country writes a bound key must not make."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bp_common.testing import current_if_match, eventually, running
from bpctl.embedded import EmbeddedPlatform

ADMIN_KEY = "bp_admin_matrix-key"
ROLES = ("secretariat", "partner", "member", "viewer")
GOALS = [{"number": n, "title": f"Goal {n}"} for n in range(1, 7)]
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


@dataclass
class World:
    client: httpx.AsyncClient
    keys: dict[str, str]

    def auth(self, role: str) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.client.request(
            method, path, json=body, headers=self.auth("secretariat")
        )
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    # Fresh targets, made by the Secretariat, one per attempt.
    async def meeting(self) -> str:
        meeting = await self.admin(
            "POST",
            "/v1/meetings",
            {
                "title": "Working group meeting",
                "kind": "working_group_meeting",
                "starts_on": "2020-05-04",
                "ends_on": "2020-05-05",
                "city": "Sofia",
                "country": "BG",
            },
        )
        await self.admin(
            "PUT",
            f"/v1/meetings/{meeting['id']}/delegations",
            [{"participant": "BG", "headcount": 3}, {"participant": "IOM", "headcount": 1}],
        )
        return str(meeting["id"])

    async def plan(self) -> str:
        plan = await self.admin(
            "POST",
            "/v1/plans",
            {"title": "Plan", "period_start": 2020, "period_end": 2024, "goals": GOALS},
        )
        return str(plan["id"])

    async def activity(self, plan_id: str | None = None) -> str:
        plan_id = plan_id or await self.plan()
        activity = await self.admin(
            "POST",
            f"/v1/plans/{plan_id}/activities",
            {"title": "Thematic meeting", "goal": 1, "kind": "meeting", "year": 2021},
        )
        return str(activity["id"])

    async def offer(self) -> str:
        offer = await self.admin(
            "POST", f"/v1/activities/{await self.activity()}/hosting-offers", {"country": "LV"}
        )
        return str(offer["id"])

    async def circulated_plan(self) -> str:
        plan_id = await self.plan()
        await self.activity(plan_id)
        await self.admin("POST", f"/v1/plans/{plan_id}/versions")
        return plan_id

    async def amendment(self) -> str:
        plan_id = await self.circulated_plan()
        amendment = await self.admin(
            "POST",
            f"/v1/plans/{plan_id}/amendments",
            {
                "version": 1,
                "proposer": "RS",
                "target": {"type": "goal", "ref": "1"},
                "action": "modify",
                "text": "Prevent and counteract irregular migration",
            },
        )
        return str(amendment["id"])

    async def etag(self, path: str) -> dict[str, str]:
        """The If-Match of a correction against the record as the Secretariat reads it now."""
        return await current_if_match(self.client, path, self.auth("secretariat"))

    async def api_key(self) -> str:
        issued = await self.admin("POST", "/v1/api-keys", {"name": unique("key"), "role": "viewer"})
        return str(issued["id"])


@dataclass(frozen=True)
class Attempt:
    method: str
    path: str
    body: Any
    # Read (as the Secretariat) before and after a refusal: it must not change.
    probe: str
    # Sent besides the role's credentials: a correction's If-Match.
    headers: Mapping[str, str] = field(default_factory=dict)


Case = Callable[[World, str], Awaitable[Attempt]]


def results_body(role: str) -> dict[str, Any]:
    row = {
        "external_id": unique("r"),
        "project": "MATRIX-IOM",
        "indicator": "MATRIX-IND",
        "period": "2020-Q1",
        "country": "AF",
        "value": 5,
    }
    return {"results": [row]} | ({"organisation": "IOM"} if role == "secretariat" else {})


CASES: dict[str, tuple[frozenset[str], Case]] = {}


def case(name: str, *allowed: str) -> Callable[[Case], Case]:
    def register(build: Case) -> Case:
        CASES[name] = (frozenset(("secretariat", *allowed)), build)
        return build

    return register


@case("POST /v1/meetings")
async def _(w: World, role: str) -> Attempt:
    body = {
        "title": "Thematic meeting",
        "kind": "thematic_meeting",
        "starts_on": "2020-09-01",
        "ends_on": "2020-09-02",
        "city": "Baku",
        "country": "AZ",
    }
    return Attempt("POST", "/v1/meetings", body, "/v1/meetings?country=AZ")


@case("PATCH /v1/meetings/{id}")
async def _(w: World, role: str) -> Attempt:
    meeting = await w.meeting()
    return Attempt("PATCH", f"/v1/meetings/{meeting}", {"city": "Varna"}, f"/v1/meetings/{meeting}")


@case("POST /v1/meetings/{id}/hold")
async def _(w: World, role: str) -> Attempt:
    meeting = await w.meeting()
    return Attempt("POST", f"/v1/meetings/{meeting}/hold", None, f"/v1/meetings/{meeting}")


@case("POST /v1/meetings/{id}/cancel")
async def _(w: World, role: str) -> Attempt:
    meeting = await w.meeting()
    return Attempt("POST", f"/v1/meetings/{meeting}/cancel", None, f"/v1/meetings/{meeting}")


@case("PUT /v1/meetings/{id}/delegations")
async def _(w: World, role: str) -> Attempt:
    meeting = await w.meeting()
    body = [{"participant": "TR", "headcount": 8}]
    return Attempt(
        "PUT", f"/v1/meetings/{meeting}/delegations", body, f"/v1/meetings/{meeting}/delegations"
    )


@case("POST /v1/meetings/{id}/agenda-items")
async def _(w: World, role: str) -> Attempt:
    meeting = await w.meeting()
    return Attempt(
        "POST",
        f"/v1/meetings/{meeting}/agenda-items",
        {"position": 1, "title": "Opening"},
        f"/v1/meetings/{meeting}/agenda-items",
    )


@case("POST /v1/meetings/{id}/interventions")
async def _(w: World, role: str) -> Attempt:
    meeting = await w.meeting()
    body = {"delegation": "BG", "kind": "statement", "text": "Bulgaria supports the plan."}
    return Attempt(
        "POST",
        f"/v1/meetings/{meeting}/interventions",
        body,
        f"/v1/meetings/{meeting}/interventions",
    )


@case("POST /v1/meetings/{id}/decisions")
async def _(w: World, role: str) -> Attempt:
    meeting = await w.meeting()
    return Attempt(
        "POST",
        f"/v1/meetings/{meeting}/decisions",
        {"kind": "take_note", "text": "The meeting takes note."},
        f"/v1/meetings/{meeting}/decisions",
    )


async def meeting_record(w: World, collection: str, body: Any) -> str:
    """The by-id path of a new record of a fresh meeting (an agenda item, an intervention...)."""
    meeting = await w.meeting()
    record = await w.admin("POST", f"/v1/meetings/{meeting}/{collection}", body)
    return f"/v1/{collection}/{record['id']}"


MEETING_RECORDS = {
    "agenda-items": ({"position": 1, "title": "Opening"}, {"title": "Opening session"}),
    "interventions": (
        {"delegation": "BG", "kind": "statement", "text": "Bulgaria supports the plan."},
        {"text": "Bulgaria fully supports the plan."},
    ),
    "decisions": (
        {"kind": "take_note", "text": "The meeting takes note."},
        {"reservations": ["BG"]},
    ),
}


def _meeting_record_cases(collection: str) -> None:
    body, change = MEETING_RECORDS[collection]

    @case(f"PATCH /v1/{collection}/{{id}}")
    async def _(w: World, role: str) -> Attempt:
        path = await meeting_record(w, collection, body)
        return Attempt("PATCH", path, change, path, await w.etag(path))

    @case(f"DELETE /v1/{collection}/{{id}}")
    async def _(w: World, role: str) -> Attempt:
        path = await meeting_record(w, collection, body)
        return Attempt("DELETE", f"{path}?reason=Entered+twice.", None, path, await w.etag(path))


for _collection in MEETING_RECORDS:
    _meeting_record_cases(_collection)


@case("PATCH /v1/meetings/{id}/delegations/{participant}")
async def _(w: World, role: str) -> Attempt:
    path = f"/v1/meetings/{await w.meeting()}/delegations/BG"
    return Attempt("PATCH", path, {"headcount": 4}, path, await w.etag(path))


@case("DELETE /v1/meetings/{id}/delegations/{participant}")
async def _(w: World, role: str) -> Attempt:
    path = f"/v1/meetings/{await w.meeting()}/delegations/BG"
    return Attempt("DELETE", f"{path}?reason=Absent.", None, path, await w.etag(path))


@case("POST /v1/organisations")
async def _(w: World, role: str) -> Attempt:
    body = {"acronym": unique("ORGX"), "name": "A new organisation", "type": "other"}
    return Attempt("POST", "/v1/organisations", body, "/v1/organisations?limit=500")


@case("PATCH /v1/organisations/{acronym}")
async def _(w: World, role: str) -> Attempt:
    acronym = unique("ORGP")
    body = {"acronym": acronym, "name": "An organisation to rename", "type": "other"}
    await w.admin("POST", "/v1/organisations", body)
    path = f"/v1/organisations/{acronym}"
    renamed = {"name": "An organisation renamed"}
    return Attempt("PATCH", path, renamed, path, await w.etag(path))


@case("POST /v1/plans")
async def _(w: World, role: str) -> Attempt:
    body = {"title": unique("Plan "), "period_start": 2025, "period_end": 2029, "goals": GOALS}
    return Attempt("POST", "/v1/plans", body, "/v1/plans?limit=500")


@case("POST /v1/plans/{id}/activities")
async def _(w: World, role: str) -> Attempt:
    plan = await w.plan()
    body = {"title": "Training", "goal": 5, "kind": "training", "year": 2022}
    return Attempt("POST", f"/v1/plans/{plan}/activities", body, f"/v1/plans/{plan}/activities")


@case("PATCH /v1/activities/{id}")
async def _(w: World, role: str) -> Attempt:
    activity = await w.activity()
    return Attempt(
        "PATCH",
        f"/v1/activities/{activity}",
        {"description": "Updated."},
        f"/v1/activities/{activity}",
    )


@case("POST /v1/activities/{id}/cancel")
async def _(w: World, role: str) -> Attempt:
    activity = await w.activity()
    return Attempt("POST", f"/v1/activities/{activity}/cancel", None, f"/v1/activities/{activity}")


@case("POST /v1/activities/{id}/hosting-offers", "member")
async def _(w: World, role: str) -> Attempt:
    activity = await w.activity()
    return Attempt(
        "POST",
        f"/v1/activities/{activity}/hosting-offers",
        {"country": "BG"},
        f"/v1/activities/{activity}/hosting-offers",
    )


@case("POST /v1/hosting-offers/{id}/accept")
async def _(w: World, role: str) -> Attempt:
    offer = await w.offer()
    return Attempt(
        "POST", f"/v1/hosting-offers/{offer}/accept", None, f"/v1/hosting-offers/{offer}"
    )


@case("POST /v1/hosting-offers/{id}/decline")
async def _(w: World, role: str) -> Attempt:
    offer = await w.offer()
    return Attempt(
        "POST", f"/v1/hosting-offers/{offer}/decline", None, f"/v1/hosting-offers/{offer}"
    )


@case("POST /v1/plans/{id}/versions")
async def _(w: World, role: str) -> Attempt:
    plan = await w.plan()
    await w.activity(plan)
    return Attempt("POST", f"/v1/plans/{plan}/versions", None, f"/v1/plans/{plan}/versions")


@case("POST /v1/plans/{id}/versions/{n}/endorse")
async def _(w: World, role: str) -> Attempt:
    plan = await w.circulated_plan()
    return Attempt(
        "POST", f"/v1/plans/{plan}/versions/1/endorse", {}, f"/v1/plans/{plan}/versions/1"
    )


@case("POST /v1/plans/{id}/amendments", "member")
async def _(w: World, role: str) -> Attempt:
    plan = await w.circulated_plan()
    body = {
        "version": 1,
        "proposer": "BG",
        "target": {"type": "plan"},
        "action": "add",
        "text": "Bulgaria proposes a regional point.",
    }
    return Attempt("POST", f"/v1/plans/{plan}/amendments", body, f"/v1/plans/{plan}/amendments")


@case("POST /v1/amendments/{id}/accept")
async def _(w: World, role: str) -> Attempt:
    amendment = await w.amendment()
    return Attempt(
        "POST", f"/v1/amendments/{amendment}/accept", None, f"/v1/amendments/{amendment}"
    )


@case("POST /v1/amendments/{id}/reject")
async def _(w: World, role: str) -> Attempt:
    amendment = await w.amendment()
    return Attempt(
        "POST", f"/v1/amendments/{amendment}/reject", None, f"/v1/amendments/{amendment}"
    )


@case("POST /v1/hosting-offers/{id}/withdraw", "member")
async def _(w: World, role: str) -> Attempt:
    # Bulgaria's offer: the member key is Bulgaria's.
    activity = await w.activity()
    offer = await w.admin("POST", f"/v1/activities/{activity}/hosting-offers", {"country": "BG"})
    path = f"/v1/hosting-offers/{offer['id']}"
    return Attempt(
        "POST", f"{path}/withdraw", {"reason": "Offered twice"}, path, await w.etag(path)
    )


@case("POST /v1/amendments/{id}/withdraw", "member")
async def _(w: World, role: str) -> Attempt:
    # Bulgaria's proposal: the member key is Bulgaria's (a partner key withdraws only its
    # organisation's: see the test below).
    plan = await w.circulated_plan()
    body = {
        "version": 1,
        "proposer": "BG",
        "target": {"type": "plan"},
        "action": "add",
        "text": "Bulgaria proposes a regional point.",
    }
    amendment = await w.admin("POST", f"/v1/plans/{plan}/amendments", body)
    path = f"/v1/amendments/{amendment['id']}"
    return Attempt(
        "POST", f"{path}/withdraw", {"reason": "Proposed by mistake"}, path, await w.etag(path)
    )


@case("PATCH /v1/plans/{id}/goals/{number}")
async def _(w: World, role: str) -> Attempt:
    path = f"/v1/plans/{await w.plan()}/goals/1"
    return Attempt("PATCH", path, {"title": "Goal 1, corrected"}, path, await w.etag(path))


@case("PATCH /v1/plans/{id}/action-points/{point_id}")
async def _(w: World, role: str) -> Attempt:
    plan = await w.admin(
        "POST",
        "/v1/plans",
        {
            "title": "Plan",
            "period_start": 2020,
            "period_end": 2024,
            "goals": [{"number": 1, "title": "Goal 1", "action_points": ["Point 1.1"]}],
        },
    )
    point = plan["goals"][0]["action_points"][0]["id"]
    path = f"/v1/plans/{plan['id']}/action-points/{point}"
    return Attempt("PATCH", path, {"text": "Point 1.1, corrected"}, path, await w.etag(path))


@case("POST /v1/projects")
async def _(w: World, role: str) -> Attempt:
    code = unique("PRJ-")
    body = {
        "code": code,
        "title": "A project",
        "implementing_organisations": ["IOM"],
        "countries": ["AF"],
        "goals": [1],
        "starts_on": "2020-01-01",
        "ends_on": "2022-12-31",
    }
    return Attempt("POST", "/v1/projects", body, "/v1/projects?limit=500")


@case("POST /v1/indicators")
async def _(w: World, role: str) -> Attempt:
    body = {
        "code": unique("IND-"),
        "title": "An indicator",
        "level": "output",
        "goal": 1,
        "measure": "unit",
        "aggregation": "sum",
    }
    return Attempt("POST", "/v1/indicators", body, "/v1/indicators?limit=500")


@case("PATCH /v1/projects/{code}")
async def _(w: World, role: str) -> Attempt:
    path = "/v1/projects/MATRIX-IOM"
    body = {"title": unique("IOM's project, corrected ")}
    return Attempt("PATCH", path, body, path, await w.etag(path))


@case("PATCH /v1/indicators/{code}")
async def _(w: World, role: str) -> Attempt:
    path = "/v1/indicators/MATRIX-IND"
    body = {"title": unique("People reached, corrected ")}
    return Attempt("PATCH", path, body, path, await w.etag(path))


@case("POST /v1/results/import", "partner")
async def _(w: World, role: str) -> Attempt:
    return Attempt("POST", "/v1/results/import", results_body(role), "/v1/results?limit=500")


@case("POST /v1/results/withdraw", "partner")
async def _(w: World, role: str) -> Attempt:
    # A result of IOM's (the partner key's organisation) to withdraw.
    pushed = results_body("secretariat")
    await w.admin("POST", "/v1/results/import", pushed)
    body = {
        "external_ids": [pushed["results"][0]["external_id"]],
        "reason": "Reported twice.",
    } | ({"organisation": "IOM"} if role == "secretariat" else {})
    return Attempt("POST", "/v1/results/withdraw", body, "/v1/results?limit=500")


IATI_DOCUMENT = b"""<iati-activities version="2.03"><iati-activity>
<iati-identifier>XM-DAC-47066-MATRIX-IOM</iati-identifier>
<reporting-org ref="XM-DAC-47066" type="40"><narrative>IOM</narrative></reporting-org>
<title><narrative>IOM's project</narrative></title>
<description><narrative>-</narrative></description><participating-org role="4"/>
<activity-status code="2"/><activity-date type="1" iso-date="2020-01-01"/>
<result type="1"><title><narrative>People reached</narrative></title>
<indicator measure="1"><title><narrative>People reached</narrative></title>
<reference vocabulary="99" code="MATRIX-IND"
 indicator-uri="https://budapestprocess.org/iati/indicators"/>
<period><period-start iso-date="2020-01-01"/><period-end iso-date="2020-12-31"/>
<actual value="%d"><dimension name="country" value="AF"/></actual></period></indicator></result>
</iati-activity></iati-activities>"""


@case("POST /v1/iati/import", "partner")
async def _(w: World, role: str) -> Attempt:
    query = "?organisation=IOM" if role == "secretariat" else ""
    body = IATI_DOCUMENT % int(unique(""))  # a value of its own: a write, not a no-op
    return Attempt("POST", f"/v1/iati/import{query}", body, "/v1/results?limit=500")


@case("PUT /v1/iati/mappings/{organisation}", "partner")
async def _(w: World, role: str) -> Attempt:
    body = {"indicators": {unique("1:"): "MATRIX-IND"}}
    return Attempt("PUT", "/v1/iati/mappings/IOM", body, "/v1/iati/mappings/IOM")


@case("POST /v1/api-keys")
async def _(w: World, role: str) -> Attempt:
    return Attempt(
        "POST", "/v1/api-keys", {"name": unique("k"), "role": "viewer"}, "/v1/api-keys?limit=500"
    )


@case("PATCH /v1/api-keys/{id}")
async def _(w: World, role: str) -> Attempt:
    key = await w.api_key()
    body = {"rate_limit_per_minute": 5000}
    return Attempt("PATCH", f"/v1/api-keys/{key}", body, f"/v1/api-keys/{key}")


@case("DELETE /v1/api-keys/{id}")
async def _(w: World, role: str) -> Attempt:
    key = await w.api_key()
    return Attempt("DELETE", f"/v1/api-keys/{key}", None, f"/v1/api-keys/{key}")


async def seed(world: World) -> None:
    """The projects and the indicator the results cases report on."""
    for organisation in ("IOM", "UNODC"):
        await world.admin(
            "POST",
            "/v1/projects",
            {
                "code": f"MATRIX-{organisation}",
                "title": f"{organisation}'s project",
                "implementing_organisations": [organisation],
                "countries": ["AF"],
                "goals": [1],
                "starts_on": "2020-01-01",
                "ends_on": "2022-12-31",
            },
        )
    await world.admin(
        "POST",
        "/v1/indicators",
        {
            "code": "MATRIX-IND",
            "title": "People reached",
            "level": "output",
            "goal": 1,
            "measure": "unit",
            "aggregation": "sum",
        },
    )


# Webhook endpoints: secretariat keys manage any, partner keys their organisation's, member keys
# their country's; viewers none. Each role acts on an endpoint it registered itself (another
# organisation's is not found, which the notifications tests cover); the viewer on one of the
# Secretariat's.
WEBHOOK_URL = "https://hooks.example.org/in"


async def endpoint_for(w: World, role: str) -> str:
    owner = "secretariat" if role == "viewer" else role
    response = await w.client.post(
        "/v1/webhooks",
        json={"url": WEBHOOK_URL, "event_types": ["meetings.*"]},
        headers=w.auth(owner),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@case("POST /v1/webhooks", "partner", "member")
async def _(w: World, role: str) -> Attempt:
    body = {"url": WEBHOOK_URL, "event_types": ["meetings.*"]}
    return Attempt("POST", "/v1/webhooks", body, "/v1/webhooks?limit=500")


@case("PATCH /v1/webhooks/{id}", "partner", "member")
async def _(w: World, role: str) -> Attempt:
    endpoint = await endpoint_for(w, role)
    body = {"description": "changed"}
    return Attempt("PATCH", f"/v1/webhooks/{endpoint}", body, f"/v1/webhooks/{endpoint}")


@case("DELETE /v1/webhooks/{id}", "partner", "member")
async def _(w: World, role: str) -> Attempt:
    endpoint = await endpoint_for(w, role)
    return Attempt("DELETE", f"/v1/webhooks/{endpoint}", None, f"/v1/webhooks/{endpoint}")


@case("POST /v1/webhooks/{id}/rotate-secret", "partner", "member")
async def _(w: World, role: str) -> Attempt:
    endpoint = await endpoint_for(w, role)
    path = f"/v1/webhooks/{endpoint}"
    return Attempt("POST", f"{path}/rotate-secret", None, path)


async def attempted(w: World, endpoint: str) -> None:
    """Until each delivery of ``endpoint`` has had its first attempt (the dispatcher works in the
    background; the next retry is seconds away): a probe read then does not move by itself."""

    async def settled() -> bool:
        response = await w.client.get(
            f"/v1/webhooks/{endpoint}/deliveries", headers=w.auth("secretariat")
        )
        return all(d["attempts"] for d in response.json()["items"])

    await eventually(settled, every_s=0.05)


@case("POST /v1/webhooks/{id}/ping", "partner", "member")
async def _(w: World, role: str) -> Attempt:
    endpoint = await endpoint_for(w, role)
    path = f"/v1/webhooks/{endpoint}"
    await attempted(w, endpoint)
    return Attempt("POST", f"{path}/ping", None, f"{path}/deliveries")


@case("POST /v1/deliveries/{id}/redeliver", "partner", "member")
async def _(w: World, role: str) -> Attempt:
    endpoint = await endpoint_for(w, role)
    owner = "secretariat" if role == "viewer" else role
    delivery = (await w.client.post(f"/v1/webhooks/{endpoint}/ping", headers=w.auth(owner))).json()
    await attempted(w, endpoint)
    return Attempt(
        "POST",
        f"/v1/deliveries/{delivery['id']}/redeliver",
        None,
        f"/v1/webhooks/{endpoint}/deliveries",
    )


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    platform = EmbeddedPlatform(
        tmp_path_factory.mktemp("matrix"),
        ADMIN_KEY,
        load_demo_data=False,
        # One client writing as fast as it can; rate limits have their own test.
        gateway_options={"rate_limit_per_minute": 10**9, "rate_limit_burst": 10**6},
        # No delivery is attempted while the matrix runs: a refused write is checked by reading
        # the endpoint before and after, which a delivery attempt in between would change.
        notifications_options={"webhook_retry_schedule_s": [3600]},
    )
    async with running(platform.gateway) as client:
        world = World(client, {"secretariat": ADMIN_KEY})
        for role, binding in (
            ("partner", {"organisation": "IOM"}),
            ("member", {"country": "BG"}),
            ("viewer", {}),
        ):
            issued = await world.admin(
                "POST", "/v1/api-keys", {"name": role, "role": role} | binding
            )
            world.keys[role] = issued["key"]
        await seed(world)
        yield world


async def test_every_write_operation_of_the_merged_openapi_is_in_the_matrix(world: World) -> None:
    document = (await world.client.get("/v1/openapi.json")).json()
    writes = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("post", "put", "patch", "delete")
    }
    normalised = {_shape(operation) for operation in writes}
    assert normalised == {_shape(name) for name in CASES}


def _shape(operation: str) -> str:
    """``POST /v1/meetings/{meeting_id}/hold`` and ``.../{id}/hold`` are the same operation."""
    method, path = operation.split(" ", 1)
    return method + " " + "/".join("{}" if p.startswith("{") else p for p in path.split("/"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(CASES))
async def test_exactly_the_allowed_roles_can_write(world: World, operation: str, role: str) -> None:
    await check_write(world, operation, role)


async def check_write(world: World, operation: str, role: str) -> None:
    """``role`` attempts ``operation``: done if the role is allowed, else a 403 problem that
    leaves the resource as it was."""
    allowed, build = CASES[operation]
    attempt = await build(world, role)
    before = await world.client.get(attempt.probe, headers=world.auth("secretariat"))
    if isinstance(attempt.body, bytes):  # an IATI document
        sent: dict[str, Any] = {
            "content": attempt.body,
            "headers": {**world.auth(role), **attempt.headers, "content-type": "application/xml"},
        }
    else:
        sent = {"json": attempt.body, "headers": {**world.auth(role), **attempt.headers}}
    response = await world.client.request(attempt.method, attempt.path, **sent)
    if role in allowed:
        assert response.status_code < 300, f"{role} refused: {response.text}"
        return
    assert response.status_code == 403, f"{role} got {response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    after = await world.client.get(attempt.probe, headers=world.auth("secretariat"))
    assert after.json() == before.json(), "a refused write changed something"


async def test_a_partner_cannot_report_for_a_project_it_does_not_implement(world: World) -> None:
    before = (await world.admin("GET", "/v1/results?limit=500"))["items"]
    rows = [
        {
            "external_id": unique("x"),
            "project": project,
            "indicator": "MATRIX-IND",
            "period": "2020",
            "country": "AF",
            "value": 1,
        }
        for project in ("MATRIX-IOM", "MATRIX-UNODC")
    ]
    refused = await world.client.post(
        "/v1/results/import", json={"results": rows}, headers=world.auth("partner")
    )
    assert refused.status_code == 403
    assert (await world.admin("GET", "/v1/results?limit=500"))["items"] == before


async def test_a_partner_cannot_withdraw_another_organisations_results(world: World) -> None:
    pushed = results_body("secretariat") | {"organisation": "UNODC"}
    pushed["results"][0]["project"] = "MATRIX-UNODC"
    await world.admin("POST", "/v1/results/import", pushed)
    external_id = pushed["results"][0]["external_id"]
    before = (await world.admin("GET", "/v1/results?limit=500"))["items"]
    named = await world.client.post(
        "/v1/results/withdraw",
        json={"organisation": "UNODC", "external_ids": [external_id], "reason": "Not ours."},
        headers=world.auth("partner"),
    )
    assert named.status_code == 403
    # Without naming it, the partner's own organisation is meant: UNODC's id is unknown there.
    implied = await world.client.post(
        "/v1/results/withdraw",
        json={"external_ids": [external_id], "reason": "Not ours."},
        headers=world.auth("partner"),
    )
    assert implied.json()["errors"][0]["code"] == "unknown_external_id"
    assert (await world.admin("GET", "/v1/results?limit=500"))["items"] == before


async def test_a_member_acts_only_in_its_own_countrys_name(world: World) -> None:
    activity = await world.activity()
    offers = f"/v1/activities/{activity}/hosting-offers"
    for_latvia = await world.client.post(
        offers, json={"country": "LV"}, headers=world.auth("member")
    )
    assert for_latvia.status_code == 403
    assert (await world.admin("GET", offers))["items"] == []

    plan = await world.circulated_plan()
    as_serbia = {
        "version": 1,
        "proposer": "RS",
        "target": {"type": "plan"},
        "action": "add",
        "text": "Not Bulgaria's to propose.",
    }
    refused = await world.client.post(
        f"/v1/plans/{plan}/amendments", json=as_serbia, headers=world.auth("member")
    )
    assert refused.status_code == 403
    assert (await world.admin("GET", f"/v1/plans/{plan}/amendments"))["items"] == []


async def test_a_bound_key_withdraws_only_its_own_partys_offers_and_amendments(
    world: World,
) -> None:
    """A member key withdraws its country's offers and amendments, a partner key its
    organisation's amendments (an organisation proposes at meetings, and hosts nothing)."""
    activity = await world.activity()
    latvian = await world.admin(
        "POST", f"/v1/activities/{activity}/hosting-offers", {"country": "LV"}
    )
    path = f"/v1/hosting-offers/{latvian['id']}"
    before = await world.admin("GET", path)
    for role in ("member", "partner"):
        refused = await world.client.post(
            f"{path}/withdraw",
            json={"reason": "Not ours"},
            headers={**world.auth(role), **await world.etag(path)},
        )
        assert refused.status_code == 403, refused.text
    assert await world.admin("GET", path) == before

    plan = await world.circulated_plan()
    by_party = {}
    for proposer in ("IOM", "RS"):
        body = {
            "version": 1,
            "proposer": proposer,
            "target": {"type": "plan"},
            "action": "add",
            "text": f"{proposer} proposes a point.",
        }
        by_party[proposer] = await world.admin("POST", f"/v1/plans/{plan}/amendments", body)
    attempts = [("member", "IOM", 403), ("partner", "RS", 403), ("member", "RS", 403)]
    attempts.append(("partner", "IOM", 200))
    for role, proposer, status in attempts:
        path = f"/v1/amendments/{by_party[proposer]['id']}"
        answer = await world.client.post(
            f"{path}/withdraw",
            json={"reason": "Withdrawn"},
            headers={**world.auth(role), **await world.etag(path)},
        )
        assert answer.status_code == status, f"{role} on {proposer}'s: {answer.text}"
    assert (await world.admin("GET", f"/v1/amendments/{by_party['RS']['id']}"))[
        "withdrawn_at"
    ] is None


async def test_a_revoked_key_is_refused_on_its_next_request(world: World) -> None:
    issued = await world.admin("POST", "/v1/api-keys", {"name": "short-lived", "role": "viewer"})
    headers = {"Authorization": f"Bearer {issued['key']}"}
    assert (await world.client.get("/v1/meetings", headers=headers)).status_code == 200
    await world.admin("DELETE", f"/v1/api-keys/{issued['id']}")
    assert (await world.client.get("/v1/meetings", headers=headers)).status_code == 401
