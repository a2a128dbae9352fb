"""Acceptance: the Senior Officials Meeting of the source document, entered as it happened."""

import uuid
from collections.abc import Awaitable, Callable

import httpx

from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import identity_headers
from meetings_api.demo import (
    AGENDA,
    COUNTRY_HEADCOUNTS,
    DELEGATIONS,
    GOALS_COVERED,
    ORGANISATION_HEADCOUNTS,
    PlanRefs,
    enter_som_istanbul_2019,
)

Settle = Callable[[], Awaitable[None]]
SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)
PLAN = PlanRefs(
    plan_id=uuid.uuid4(),
    circulated_version=1,
    revised_version=2,
    offered={country: uuid.uuid4() for country in ("BG", "LV", "AZ")},
)


async def listed(client: httpx.AsyncClient, path: str, **params: object) -> list[dict[str, object]]:
    response = await client.get(path, params={"limit": 500, **params}, headers=VIEWER)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_the_story_data_adds_up_to_the_summary() -> None:
    assert (len(COUNTRY_HEADCOUNTS), len(ORGANISATION_HEADCOUNTS)) == (37, 11)
    assert sum(d["headcount"] for d in DELEGATIONS) == 82


async def test_the_meeting_is_entered_exactly_as_it_happened(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle
) -> None:
    entered = await enter_som_istanbul_2019(client, SECRETARIAT, PLAN)
    meeting = entered.meeting
    path = f"/v1/meetings/{meeting['id']}"
    assert meeting["status"] == "held"
    assert meeting["attendance"] == {"participants": 82, "countries": 37, "organisations": 11}
    assert (await client.get(path, headers=VIEWER)).json() == meeting

    agenda = await listed(client, f"{path}/agenda-items")
    assert [(i["day"], i["title"]) for i in agenda] == [
        (item["day"], item["title"]) for item in AGENDA.values()
    ]
    assert meeting["goals"] == GOALS_COVERED == [1, 3, 5]

    offers = await listed(client, f"{path}/interventions", kind="offer_to_host")
    assert [(o["delegation"], o["activity_id"], o["year"]) for o in offers] == [
        (country, str(PLAN.offered[country]), 2020) for country in ("BG", "LV", "AZ")
    ]
    requests = await listed(client, f"{path}/interventions", kind="amendment_request")
    assert [(r["delegation"], r["plan_version"]) for r in requests] == [("MK", 1)] * 3 + [("RS", 1)]
    serbia = requests[3]["amendment"]
    assert isinstance(serbia, dict)
    assert serbia["target"] == {"type": "goal", "ref": "1"}
    assert "prevention" in str(requests[3]["text"])
    commitments = await listed(client, f"{path}/interventions", kind="commitment")
    assert [c["delegation"] for c in commitments] == ["SE", "LV", "AZ", "HU", "CZ", "NL"]
    support = await listed(client, f"{path}/interventions", kind="support")
    assert [s["delegation"] for s in support] == ["BG", "AF", "PK", "PL", "EC"]
    plenary = await listed(
        client, f"{path}/interventions", agenda_item_id=entered.agenda_ids["plenary"]
    )
    assert len(plenary) == 18

    decisions = await listed(client, f"{path}/decisions", kind="endorsement")
    assert [(d["plan_id"], d["plan_version"], d["reservations"]) for d in decisions] == [
        (str(PLAN.plan_id), 2, ["CZ"])
    ]

    await settle()
    # The meeting's own events: the registry's seeded organisations are announced beside them,
    # by a worker that runs whenever it starts.
    published = [
        event
        for event in bus.log["meetings.events"]
        if not event.type.startswith("meetings.organisation.")
    ]
    types = [event.type for event in published]
    assert types.count("meetings.intervention.recorded.v1") == len(entered.interventions) == 30
    assert types.count("meetings.decision.recorded.v1") == 2
    assert (types[0], types[-1]) == ("meetings.meeting.scheduled.v1", "meetings.meeting.held.v1")
    held = published[-1].data
    assert held["attendance"] == {"participants": 82, "countries": 37, "organisations": 11}
    assert held["goals"] == [1, 3, 5]
    endorsement = next(e for e in published if e.type == "meetings.decision.recorded.v1")
    assert endorsement.data["kind"] == "endorsement"
    assert endorsement.data["reservations"] == ["CZ"]
