"""The demo data: the Istanbul Senior Officials Meeting of 4-5 December 2019 and what surrounds
it (the 2020-2024 plan under six goals and its activities, the three EU-funded projects and
their partners, a results framework and plausible results), loaded through the public API as
the people of the story would: the Secretariat, member states and partner organisations.

The story runs in the order things happened, waiting at each step for the events to reach the
other services (as a person would refresh a page), so it works on the in-process bus and on
Kafka alike."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

import meetings_api.demo as meeting_story

GOALS = [
    "Prevent and counteract irregular migration, facilitate return, readmission and "
    "reintegration of irregular migrants, and combat migrant smuggling networks",
    "Promote legal migration and mobility",
    "Promote the integration of migrants, counteracting discrimination, racism and xenophobia",
    "Strengthen the positive impact of migration on development, including diaspora engagement",
    "Prevent and combat trafficking in persons",
    "Promote international protection",
]

# The plan's activities: those offered for 2020 at the meeting, and the rest of the five years.
OFFERED_2020: dict[str, dict[str, Any]] = {
    "BG": {
        "title": "Black Sea working group meeting on return and reintegration",
        "goal": 1,
        "kind": "meeting",
        "year": 2020,
        "quarter": 2,
        "working_group": "Black Sea",
    },
    "LV": {
        "title": "Thematic meeting on legal migration and labour mobility",
        "goal": 2,
        "kind": "meeting",
        "year": 2020,
        "quarter": 3,
    },
    "AZ": {
        "title": "Silk Routes working group meeting on migrant smuggling",
        "goal": 1,
        "kind": "meeting",
        "year": 2020,
        "quarter": 4,
        "working_group": "Silk Routes",
    },
}
OTHER_ACTIVITIES: list[dict[str, Any]] = [
    {
        "title": "South East Europe working group meeting",
        "goal": 3,
        "kind": "meeting",
        "year": 2020,
        "quarter": 2,
        "working_group": "South East Europe",
    },
    {
        "title": "Training on identifying victims of trafficking",
        "goal": 5,
        "kind": "training",
        "year": 2021,
        "quarter": 1,
    },
    {
        "title": "Study visit on integration programmes",
        "goal": 3,
        "kind": "study_visit",
        "year": 2021,
    },
    {
        "title": "Research on diaspora engagement along the Silk Routes",
        "goal": 4,
        "kind": "research",
        "year": 2022,
    },
    {
        "title": "Capacity building on asylum procedures",
        "goal": 6,
        "kind": "capacity_building",
        "year": 2023,
    },
]
# Offered later through the API by Bulgaria's own key, as a member state would.
BULGARIA_LATER = "Training on identifying victims of trafficking"

SILK_ROUTES = ["AF", "PK", "IQ"]
PROJECTS: list[dict[str, Any]] = [
    {
        "code": "IMM-SILK-ROUTES",
        "title": "Improving Migration Management in the Silk Routes Region",
        "donor": "European Union",
        "budget": {"amount": 12_000_000, "currency": "EUR"},
        "implementing_organisations": ["ICMPD", "IOM"],
        "countries": SILK_ROUTES,
        "goals": [1, 2, 3, 4, 5, 6],
        "starts_on": "2019-01-01",
        "ends_on": "2023-12-31",
        "components": [
            {"code": "SR-FACILITY", "title": "Silk Routes Facility", "kind": "facility"},
            *(
                {
                    "code": f"SR-GRANT-{goal}",
                    "title": f"Facility grant under goal {goal}",
                    "kind": "grant",
                    "goal": goal,
                    "parent": "SR-FACILITY",
                }
                for goal in range(1, 7)
            ),
            {"code": "SR-MRC", "title": "Migrant Resource Centres", "kind": "flagship"},
            {"code": "SR-MIGRAP", "title": "MIGRAP", "kind": "flagship"},
            {"code": "SR-RELEC", "title": "RELEC", "kind": "flagship"},
        ],
    },
    {
        "code": "IBM-SILK-ROUTES",
        "title": "Integrated Border Management in the Silk Routes Countries",
        "donor": "European Union",
        "budget": {"amount": 12_000_000, "currency": "EUR"},
        "implementing_organisations": ["ICMPD"],
        "countries": SILK_ROUTES,
        "goals": [1],
        "starts_on": "2019-01-01",
        "ends_on": "2023-12-31",
    },
    {
        "code": "GLO.ACT",
        "title": "Global Action against Trafficking in Persons and the Smuggling of Migrants",
        "donor": "European Union",
        "budget": {"amount": 12_000_000, "currency": "EUR"},
        "implementing_organisations": ["UNODC", "IOM"],
        "countries": SILK_ROUTES,
        "goals": [1, 5],
        "starts_on": "2018-06-01",
        "ends_on": "2023-06-30",
    },
]


def _indicator(code: str, title: str, goal: int, **fields: Any) -> dict[str, Any]:
    return {
        "code": code,
        "title": title,
        "level": "output",
        "goal": goal,
        "measure": "unit",
        "ascending": True,
        "aggregation": "sum",
        "cumulative": False,
        "source": "reported",
    } | fields


INDICATORS = [
    _indicator(
        "MRC-COUNSELLED",
        "Migrants and potential migrants counselled at Migrant Resource Centres",
        2,
        baseline={"year": 2019, "value": 0},
        targets=[{"year": 2019, "value": 4000}, {"year": 2020, "value": 9000}],
        disaggregations=["sex"],
    ),
    _indicator(
        "GLOACT-TRAINED",
        "Officials trained on trafficking and smuggling cases",
        5,
        targets=[{"year": 2019, "value": 300}, {"year": 2020, "value": 600}],
    ),
    _indicator(
        "FACILITY-SATISFACTION",
        "Partners satisfied with the Facility's support",
        1,
        measure="percentage",
        aggregation="mean",
        level="outcome",
        targets=[{"year": 2019, "value": 80}],
    ),
    _indicator(
        "BP-MEETINGS-HELD",
        "Meetings of the dialogue held",
        1,
        source="meetings_held",
        targets=[{"year": 2019, "value": 6}],
    ),
    _indicator(
        "BP-PARTICIPANTS", "Participants in the dialogue's meetings", 1, source="participants"
    ),
    _indicator(
        "BP-COUNTRIES",
        "Countries represented at the dialogue's meetings",
        1,
        source="countries_represented",
        aggregation="max",
    ),
    _indicator(
        "BP-ACTIVITIES-HOSTED",
        "Activities of the plan hosted by participating states",
        1,
        source="activities_hosted",
        targets=[{"year": 2020, "value": 4}],
    ),
]


def reported_results() -> dict[str, list[dict[str, Any]]]:
    """Plausible 2019 results, by reporting organisation (seeded: the same on every load)."""
    rng = random.Random(20191205)
    iom = [
        {
            "external_id": f"IOM-MRC-{country}-{quarter}-{sex}",
            "project": "IMM-SILK-ROUTES",
            "indicator": "MRC-COUNSELLED",
            "period": f"2019-Q{quarter}",
            "country": country,
            "disaggregation": {"sex": sex},
            "value": rng.randint(80, 420),
        }
        for country in SILK_ROUTES
        for quarter in range(1, 5)
        for sex in ("female", "male")
    ]
    iom += [
        {
            "external_id": f"IOM-SAT-{country}",
            "project": "IMM-SILK-ROUTES",
            "indicator": "FACILITY-SATISFACTION",
            "period": "2019",
            "country": country,
            "value": rng.randint(70, 95),
        }
        for country in SILK_ROUTES
    ]
    unodc = [
        {
            "external_id": f"UNODC-TRAINED-{country}-{quarter}",
            "project": "GLO.ACT",
            "indicator": "GLOACT-TRAINED",
            "period": f"2019-Q{quarter}",
            "country": country,
            "value": rng.randint(10, 60),
        }
        for country in SILK_ROUTES
        for quarter in range(1, 5)
    ]
    return {"IOM": iom, "UNODC": unodc}


class StoryError(RuntimeError):
    """A step of the story was refused or its effect did not arrive in time."""


@dataclass
class Demo:
    plan_id: str = ""
    meeting_id: str = ""
    activities: dict[str, str] = field(default_factory=dict)  # title -> id
    keys: dict[str, str] = field(default_factory=dict)  # who -> API key
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)


class Story:
    def __init__(self, client: httpx.AsyncClient, admin_key: str, *, within_s: float = 30) -> None:
        self.client = client
        self.admin = {"Authorization": f"Bearer {admin_key}"}
        self.within_s = within_s
        self.demo = Demo()
        self.refs: meeting_story.PlanRefs | None = None

    async def send(
        self, method: str, path: str, body: Any = None, *, key: str | None = None, **params: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else self.admin
        response = await self.client.request(
            method, path, json=body, headers=headers, params=params or None
        )
        if response.status_code >= 400:
            raise StoryError(f"{method} {path} refused: {response.status_code} {response.text}")
        return response.json() if response.content else None

    async def until(self, what: str, check: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + self.within_s
        while not await check():
            if time.monotonic() > deadline:
                raise StoryError(f"{what}: not seen within {self.within_s} s")
            await asyncio.sleep(0.05)

    async def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        page = await self.send("GET", path, limit=500, **params)
        items: list[dict[str, Any]] = page["items"]
        return items

    # -- the story ----------------------------------------------------------------------------

    async def run(self) -> Demo:
        await self.issue_keys()
        await self.draft_and_circulate_the_plan()
        await self.set_up_the_results_framework()
        await self.meet_in_istanbul()
        await self.decide_what_was_asked()
        await self.endorse_the_revised_plan()
        await self.bulgaria_offers_again()
        await self.partners_report_results()
        return self.demo

    async def issue_keys(self) -> None:
        for who, body in {
            "IOM": {"role": "partner", "organisation": "IOM"},
            "UNODC": {"role": "partner", "organisation": "UNODC"},
            "BG": {"role": "member", "country": "BG"},
            "dashboard": {"role": "viewer"},
        }.items():
            issued = await self.send("POST", "/v1/api-keys", {"name": f"demo: {who}"} | body)
            self.demo.keys[who] = issued["key"]

    async def draft_and_circulate_the_plan(self) -> None:
        plan = await self.send(
            "POST",
            "/v1/plans",
            {
                "title": "Strategic Document and Implementation Plan of the Istanbul "
                "Commitments: A Call for Action - a five year plan",
                "period_start": 2020,
                "period_end": 2024,
                "goals": [{"number": n, "title": t} for n, t in enumerate(GOALS, 1)],
            },
        )
        self.demo.plan_id = plan["id"]
        for activity in [*OFFERED_2020.values(), *OTHER_ACTIVITIES]:
            created = await self.send("POST", f"/v1/plans/{plan['id']}/activities", activity)
            self.demo.activities[activity["title"]] = created["id"]
        await self.send("POST", f"/v1/plans/{plan['id']}/versions")

    async def set_up_the_results_framework(self) -> None:
        for project in PROJECTS:
            await self.send("POST", "/v1/projects", project)
        for indicator in INDICATORS:
            await self.send("POST", "/v1/indicators", indicator)

    async def meet_in_istanbul(self) -> None:
        refs = meeting_story.PlanRefs(
            plan_id=uuid.UUID(self.demo.plan_id),
            circulated_version=1,
            revised_version=2,
            offered={
                country: uuid.UUID(self.demo.activities[activity["title"]])
                for country, activity in OFFERED_2020.items()
            },
        )
        # The decisions wait for the revised version: recorded after it is circulated.
        entered = await meeting_story.enter_som_istanbul_2019(
            self.client, self.admin, refs, hold=False, decide=False
        )
        self.demo.meeting_id = entered.meeting["id"]
        self.refs = refs

    async def decide_what_was_asked(self) -> None:
        plan = f"/v1/plans/{self.demo.plan_id}"

        async def requests_arrived() -> bool:
            return len(await self.items(f"{plan}/amendments", status="proposed")) >= 4

        await self.until("the amendment requests in plan-api", requests_arrived)
        for amendment in await self.items(f"{plan}/amendments", status="proposed"):
            await self.send("POST", f"/v1/amendments/{amendment['id']}/accept")
        for title in (a["title"] for a in OFFERED_2020.values()):
            activity_id = self.demo.activities[title]

            async def offered(activity_id: str = activity_id) -> bool:
                return bool(await self.items(f"/v1/activities/{activity_id}/hosting-offers"))

            await self.until(f"the offer to host {title}", offered)
            [offer] = await self.items(f"/v1/activities/{activity_id}/hosting-offers")
            await self.send("POST", f"/v1/hosting-offers/{offer['id']}/accept")
        await self.send("POST", f"{plan}/versions")

    async def endorse_the_revised_plan(self) -> None:
        assert self.refs is not None, "the meeting comes first"
        meeting = f"/v1/meetings/{self.demo.meeting_id}"
        for body in meeting_story.decisions(self.refs):
            await self.send("POST", f"{meeting}/decisions", body)
        await self.send("POST", f"{meeting}/hold")

        async def endorsed() -> bool:
            plan = await self.send("GET", f"/v1/plans/{self.demo.plan_id}")
            return bool(plan.get("endorsement")) and plan["endorsement"]["version"] == 2

        await self.until("the endorsement of version 2", endorsed)

    async def bulgaria_offers_again(self) -> None:
        activity_id = self.demo.activities[BULGARIA_LATER]
        offer = await self.send(
            "POST",
            f"/v1/activities/{activity_id}/hosting-offers",
            {"country": "BG", "year": 2021, "note": "Sofia, first quarter."},
            key=self.demo.keys["BG"],
        )
        await self.send("POST", f"/v1/hosting-offers/{offer['id']}/accept")

    async def partners_report_results(self) -> None:
        for organisation, rows in reported_results().items():
            self.demo.imports[organisation] = await self.send(
                "POST", "/v1/results/import", {"results": rows}, key=self.demo.keys[organisation]
            )


async def load_demo(client: httpx.AsyncClient, admin_key: str, *, within_s: float = 30) -> Demo:
    """Tell the whole story through ``client`` (the gateway). Raises :class:`StoryError`."""
    return await Story(client, admin_key, within_s=within_s).run()


async def is_empty(client: httpx.AsyncClient, admin_key: str) -> bool:
    """Nothing entered yet: the demo is loaded only into an empty platform."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    meetings = await client.get("/v1/meetings", params={"limit": 1}, headers=headers)
    plans = await client.get("/v1/plans", params={"limit": 1}, headers=headers)
    return not meetings.json()["items"] and not plans.json()["items"]
