"""The Senior Officials Meeting of Istanbul, 4-5 December 2019, as plan-api lives it: the updated
Implementation Plan is circulated, commented on (Serbia's 'prevention', North Macedonia's three
regional points), revised, endorsed by the meeting's decision; Bulgaria, Latvia and Azerbaijan
offer to host in 2020 and are accepted. Meetings-api's side arrives as events on the bus."""

import dataclasses
import uuid
from typing import Any

import httpx

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import eventually, identity_headers, settle

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)
SERBIA = identity_headers(Role.MEMBER, country="RS")
BULGARIA = identity_headers(Role.MEMBER, country="BG")
IOM = identity_headers(Role.PARTNER, organisation="IOM")

GOAL_1_DRAFT = (
    "Counteract irregular migration, facilitate return, readmission and reintegration, "
    "combat smuggling networks"
)
GOAL_1_WITH_PREVENTION = (
    "Prevent and counteract irregular migration, facilitate return, readmission and "
    "reintegration, combat smuggling networks"
)
GOALS = [
    {"number": 1, "title": GOAL_1_DRAFT, "action_points": ["Cooperation on return"]},
    {"number": 2, "title": "Legal migration and mobility"},
    {
        "number": 3,
        "title": "Integration of migrants, counteracting discrimination, racism and xenophobia",
    },
    {"number": 4, "title": "Migration and development (including diaspora engagement)"},
    {"number": 5, "title": "Prevent and combat trafficking in persons"},
    {"number": 6, "title": "Promote international protection"},
]
MACEDONIAN_POINTS = [
    (
        {"type": "plan", "ref": None},
        "Regional priorities of the South East European working group, Skopje",
    ),
    ({"type": "goal", "ref": 1}, "Regional cooperation on border management in South East Europe"),
    ({"type": "goal", "ref": 5}, "Joint investigations against trafficking in the region"),
]
SOM_ISTANBUL = str(uuid.uuid4())


def intervention(delegation: str, kind: str, text: str, **fields: Any) -> CloudEvent:
    data = {
        "intervention_id": str(uuid.uuid4()),
        "meeting_id": SOM_ISTANBUL,
        "delegation": delegation,
        "delegation_type": "organisation" if len(delegation) > 2 else "state",
        "kind": kind,
        "text": text,
        "agenda_item_id": None,
        "plan_id": None,
        "plan_version": None,
        "activity_id": None,
        "year": None,
        "amendment": None,
    } | fields
    return CloudEvent(
        type="meetings.intervention.recorded.v1",
        source="/meetings",
        subject=SOM_ISTANBUL,
        data=data,
    )


def endorsement(plan_id: str, version: int) -> CloudEvent:
    return CloudEvent(
        type="meetings.decision.recorded.v1",
        source="/meetings",
        subject=SOM_ISTANBUL,
        data={
            "decision_id": str(uuid.uuid4()),
            "meeting_id": SOM_ISTANBUL,
            "kind": "endorsement",
            "text": "The Chair and participating countries endorsed the Implementation Plan.",
            "plan_id": plan_id,
            "plan_version": version,
            "reservations": [],
        },
    )


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def conflict(response: httpx.Response, code: str) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def state(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    """Everything plan-api knows about the plan, through its API."""
    get = SECRETARIAT
    activities = (await client.get(f"/v1/plans/{plan_id}/activities", headers=get)).json()
    offers = {
        a["id"]: (await client.get(f"/v1/activities/{a['id']}/hosting-offers", headers=get)).json()
        for a in activities["items"]
    }
    return {
        "plan": (await client.get(f"/v1/plans/{plan_id}", headers=get)).json(),
        "versions": (await client.get(f"/v1/plans/{plan_id}/versions", headers=get)).json(),
        "amendments": (await client.get(f"/v1/plans/{plan_id}/amendments", headers=get)).json(),
        "activities": activities,
        "offers": offers,
    }


async def plan_events(bus: InMemoryBus, count: int) -> list[CloudEvent]:
    async def published() -> bool:
        return len(bus.log["plan.events"]) >= count

    await eventually(published)
    return bus.log["plan.events"]


async def test_the_plan_is_commented_revised_endorsed_and_hosted(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    # The Secretariat drafts the plan and its activities, and circulates it ahead of the SOM.
    plan = await ok(
        await client.post(
            "/v1/plans",
            headers=SECRETARIAT,
            json={
                "title": "Strategic Document and Implementation Plan",
                "period_start": 2020,
                "period_end": 2024,
                "goals": GOALS,
            },
        ),
        201,
    )
    plan_id = plan["id"]
    assert [g["number"] for g in plan["goals"]] == [1, 2, 3, 4, 5, 6]
    assert plan["current_version"] is None

    async def activity(title: str, goal: int, year: int, **extra: Any) -> dict[str, Any]:
        body = {"title": title, "goal": goal, "kind": "meeting", "year": year} | extra
        return await ok(
            await client.post(f"/v1/plans/{plan_id}/activities", headers=SECRETARIAT, json=body),
            201,
        )

    black_sea = await activity(
        "Black Sea working group meeting", 1, 2020, working_group="Black Sea"
    )
    returns = await activity("Thematic meeting on return and reintegration", 1, 2020)
    pathways = await activity("Thematic meeting on legal pathways for migration", 2, 2020)
    minors = await activity("Meeting on unaccompanied minors and vulnerable groups", 6, 2021)
    assert black_sea["status"] == "proposed"

    v1 = await ok(await client.post(f"/v1/plans/{plan_id}/versions", headers=SECRETARIAT), 201)
    assert (v1["number"], v1["status"], v1["changelog"]) == (1, "circulated", [])
    assert v1["content"]["goals"][0]["title"] == GOAL_1_DRAFT

    # Day one. Serbia proposes 'prevention' through its own key...
    serbia = await ok(
        await client.post(
            f"/v1/plans/{plan_id}/amendments",
            headers=SERBIA,
            json={
                "version": 1,
                "proposer": "RS",
                "target": {"type": "goal", "ref": 1},
                "action": "modify",
                "text": GOAL_1_WITH_PREVENTION,
                "rationale": "Add the word 'prevention' when mentioning counteracting.",
            },
        ),
        201,
    )
    assert serbia["status"] == "proposed"

    # ...and the floor is recorded by meetings-api: North Macedonia's three regional points (one
    # without a version: the latest circulated one), offers to host, and interventions plan-api
    # has nothing to do with.
    consumed = [
        intervention(
            "MK",
            "amendment_request",
            "Three points from Skopje",
            plan_id=plan_id,
            plan_version=None if index == 0 else 1,
            amendment={"target": target, "action": "add", "text": text},
        )
        for index, (target, text) in enumerate(MACEDONIAN_POINTS)
    ]
    consumed += [
        intervention(
            country,
            "offer_to_host",
            f"{country} is willing to host in 2020",
            activity_id=activity_id,
            year=2020,
        )
        for country, activity_id in [
            ("BG", black_sea["id"]),
            ("LV", returns["id"]),
            ("AZ", pathways["id"]),
        ]
    ]
    consumed += [
        intervention(
            "SE", "commitment", "Knowledge for the meeting on minors", activity_id=minors["id"]
        ),
        intervention("EC", "statement", "A stronger link with the projects", plan_id=plan_id),
    ]
    await bus.publish(consumed)
    await bus.wait_idle()
    assert bus.dead_letters == []

    proposed = await ok(
        await client.get(
            f"/v1/plans/{plan_id}/amendments", params={"status": "proposed"}, headers=VIEWER
        )
    )
    assert [(a["proposer"], a["version"]) for a in proposed["items"]] == [
        ("RS", 1),
        ("MK", 1),
        ("MK", 1),
        ("MK", 1),
    ]
    macedonian = proposed["items"][1:]
    assert {a["meeting_id"] for a in macedonian} == {SOM_ISTANBUL}
    assert [a["target"] for a in macedonian] == [t for t, _ in MACEDONIAN_POINTS]

    offers = {}
    for country, hosted in [("BG", black_sea), ("LV", returns), ("AZ", pathways)]:
        listed = await ok(
            await client.get(f"/v1/activities/{hosted['id']}/hosting-offers", headers=VIEWER)
        )
        [offer] = listed["items"]
        assert (offer["country"], offer["year"], offer["status"]) == (country, 2020, "offered")
        offers[country] = offer
        current = await ok(await client.get(f"/v1/activities/{hosted['id']}", headers=VIEWER))
        assert current["status"] == "host_offered"
    untouched = await ok(await client.get(f"/v1/activities/{minors['id']}", headers=VIEWER))
    assert untouched["status"] == "proposed"

    # Day two: the Secretariat takes in the comments and the offers, and shares the revision.
    for amendment in proposed["items"]:
        decided = await client.post(f"/v1/amendments/{amendment['id']}/accept", headers=SECRETARIAT)
        assert (await ok(decided))["status"] == "accepted"
    for offer in offers.values():
        await ok(await client.post(f"/v1/hosting-offers/{offer['id']}/accept", headers=SECRETARIAT))

    v2 = await ok(await client.post(f"/v1/plans/{plan_id}/versions", headers=SECRETARIAT), 201)
    assert v2["number"] == 2
    assert [(e["proposer"], e["action"], e["target"]) for e in v2["changelog"]] == [
        ("RS", "modify", {"type": "goal", "ref": 1}),
        *[("MK", "add", target) for target, _ in MACEDONIAN_POINTS],
    ]
    assert [e["amendment_id"] for e in v2["changelog"]] == [a["id"] for a in proposed["items"]]
    content = v2["content"]
    assert content["goals"][0]["title"] == GOAL_1_WITH_PREVENTION
    assert [p["text"] for p in content["action_points"]] == [MACEDONIAN_POINTS[0][1]]
    assert [p["text"] for p in content["goals"][0]["action_points"]] == [
        "Cooperation on return",
        MACEDONIAN_POINTS[1][1],
    ]
    assert [p["text"] for p in content["goals"][4]["action_points"]] == [MACEDONIAN_POINTS[2][1]]
    hosts = {a["title"]: a["host_countries"] for a in content["activities"]}
    assert hosts[black_sea["title"]] == ["BG"]
    assert hosts[returns["title"]] == ["LV"]
    assert hosts[pathways["title"]] == ["AZ"]

    diff = await ok(
        await client.get(
            f"/v1/plans/{plan_id}/versions/2/diff", params={"against": 1}, headers=VIEWER
        )
    )
    goal_change = next(c for c in diff["changes"] if c["item"] == "goal")
    assert goal_change == {
        "item": "goal",
        "ref": 1,
        "change": "modified",
        "fields": [{"field": "title", "before": GOAL_1_DRAFT, "after": GOAL_1_WITH_PREVENTION}],
        "before": None,
        "after": None,
    }
    added = [c["after"]["text"] for c in diff["changes"] if c["change"] == "added"]
    assert added == [text for _, text in MACEDONIAN_POINTS]
    hosted_fields = {
        c["ref"]: {f["field"]: f["after"] for f in c["fields"]}
        for c in diff["changes"]
        if c["item"] == "activity"
    }
    assert hosted_fields[black_sea["id"]] == {"status": "hosted", "host_countries": ["BG"]}
    assert minors["id"] not in hosted_fields

    # The meeting endorses version 2 (meetings-api records the decision).
    decision = endorsement(plan_id, 2)
    await bus.publish([decision])
    await bus.wait_idle()
    consumed.append(decision)
    endorsed = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    assert endorsed["current_version"] == {"number": 2, "status": "endorsed"}
    assert endorsed["endorsement"]["version"] == 2
    assert endorsed["endorsement"]["meeting_id"] == SOM_ISTANBUL
    assert endorsed["goals"][0]["title"] == GOAL_1_WITH_PREVENTION
    versions = await ok(await client.get(f"/v1/plans/{plan_id}/versions", headers=VIEWER))
    assert [(v["number"], v["status"]) for v in versions["items"]] == [
        (1, "superseded"),
        (2, "endorsed"),
    ]

    async def endorsement_published() -> bool:
        return any(e.type == "plan.endorsed.v1" for e in bus.log["plan.events"])

    # The relay publishes in outbox order: what came before the endorsement is out too.
    await eventually(endorsement_published)
    published = list(bus.log["plan.events"])
    [endorsed_event] = [e for e in published if e.type == "plan.endorsed.v1"]
    assert endorsed_event.subject == plan_id
    data = endorsed_event.data
    assert (data["version"], data["meeting_id"], data["period_start"], data["period_end"]) == (
        2,
        SOM_ISTANBUL,
        2020,
        2024,
    )
    assert data["goals"][0] == {"number": 1, "title": GOAL_1_WITH_PREVENTION}
    assert len(data["goals"]) == 6
    assert {a["activity_id"]: a["host_countries"] for a in data["activities"]} == {
        black_sea["id"]: ["BG"],
        returns["id"]: ["LV"],
        pathways["id"]: ["AZ"],
        minors["id"]: [],
    }
    assert set(data["activities"][0]) == {
        "activity_id",
        "plan_id",
        "title",
        "goal",
        "kind",
        "working_group",
        "year",
        "quarter",
        "starts_on",
        "ends_on",
        "status",
        "host_countries",
        "revision",
    }
    assert [e.type for e in published].count("plan.activity.hosted.v1") == 3
    assert [e.type for e in published].count("plan.hosting.offered.v1") == 3
    assert [e.type for e in published].count("plan.amendment.decided.v1") == 4
    assert [e.type for e in published].count("plan.version.circulated.v1") == 2

    # What may not happen, and changes nothing when tried.
    before = await state(client, plan_id)
    await conflict(
        await client.post(
            f"/v1/plans/{plan_id}/amendments",
            headers=SECRETARIAT,
            json={
                "version": 2,
                "proposer": "EC",
                "target": {"type": "plan"},
                "action": "add",
                "text": "A stronger link with the projects",
            },
        ),
        "version_endorsed",
    )
    await conflict(
        await client.post(f"/v1/plans/{plan_id}/versions/2/endorse", headers=SECRETARIAT),
        "version_already_endorsed",
    )
    await conflict(
        await client.post(f"/v1/plans/{plan_id}/versions/1/endorse", headers=SECRETARIAT),
        "version_superseded",
    )
    await conflict(
        await client.post(f"/v1/hosting-offers/{offers['BG']['id']}/accept", headers=SECRETARIAT),
        "offer_already_decided",
    )
    await conflict(
        await client.post(f"/v1/amendments/{serbia['id']}/reject", headers=SECRETARIAT),
        "amendment_already_decided",
    )
    assert await state(client, plan_id) == before

    # An offer left pending on an activity that is then cancelled cannot be accepted.
    await ok(
        await client.post(
            f"/v1/activities/{minors['id']}/hosting-offers",
            headers=SECRETARIAT,
            json={"country": "SE", "note": "Sweden could host"},
        ),
        201,
    )
    await ok(await client.post(f"/v1/activities/{minors['id']}/cancel", headers=SECRETARIAT))
    before = await state(client, plan_id)
    [pending] = before["offers"][minors["id"]]["items"]
    await conflict(
        await client.post(f"/v1/hosting-offers/{pending['id']}/accept", headers=SECRETARIAT),
        "activity_closed",
    )
    assert await state(client, plan_id) == before

    # Who may write. A member speaks for its own country only; viewers and partners read.
    refusals = [
        (
            BULGARIA,
            f"/v1/activities/{returns['id']}/hosting-offers",
            {"country": "LV"},
            "not_own_country",
        ),
        (
            SERBIA,
            f"/v1/plans/{plan_id}/amendments",
            {
                "version": 2,
                "proposer": "MK",
                "target": {"type": "plan"},
                "action": "add",
                "text": "Not Serbia's to propose",
            },
            "not_own_country",
        ),
        (
            VIEWER,
            f"/v1/activities/{returns['id']}/hosting-offers",
            {"country": "LV"},
            "read_only_key",
        ),
        (VIEWER, "/v1/plans", {}, "secretariat_only"),
        (
            IOM,
            f"/v1/activities/{returns['id']}/hosting-offers",
            {"country": "LV"},
            "plan_write_forbidden",
        ),
        (
            IOM,
            f"/v1/plans/{plan_id}/amendments",
            {
                "version": 2,
                "proposer": "IOM",
                "target": {"type": "plan"},
                "action": "add",
                "text": "More on labour migration",
            },
            "plan_write_forbidden",
        ),
        (IOM, f"/v1/plans/{plan_id}/versions", None, "secretariat_only"),
        (BULGARIA, f"/v1/hosting-offers/{pending['id']}/decline", None, "secretariat_only"),
        (BULGARIA, f"/v1/amendments/{serbia['id']}/reject", None, "secretariat_only"),
    ]
    for headers, path, body, code in refusals:
        refused = await client.post(path, headers=headers, json=body)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == code
    assert await state(client, plan_id) == before
    for headers in (VIEWER, IOM, BULGARIA):
        assert (await client.get(f"/v1/plans/{plan_id}", headers=headers)).status_code == 200

    # Replaying every consumed event, as they were and as new deliveries of the same facts,
    # changes nothing and publishes nothing (24 events: the plan's creation, then the story's).
    sent = len(await plan_events(bus, 24))
    await bus.publish(consumed)
    await bus.publish([dataclasses.replace(e, id=str(uuid.uuid4())) for e in consumed])
    await bus.wait_idle()
    assert bus.dead_letters == []
    assert await state(client, plan_id) == before
    # Whatever the handlers emitted is in the outbox once they are idle: published, it is counted.
    await settle(client._transport.app, bus)  # type: ignore[attr-defined]
    assert len(bus.log["plan.events"]) == sent == 24
