"""The Annual Senior Officials Meeting of the Budapest Process (Istanbul, 4-5 December 2019),
entered as its summary tells it: "82 participants from 37 countries as well as 11
organisations", its agenda, the delegations' interventions and the endorsement of the plan.

The bodies follow the API; :func:`enter_som_istanbul_2019` sends them through any client of it
(the gateway with a bearer key, or the service with a signed identity), so the demo data and the
tests tell the same story. The split of the 82 participants over the delegations is made up."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

MEETING: dict[str, Any] = {
    "title": "Budapest Process Annual Senior Officials Meeting",
    "kind": "senior_officials_meeting",
    "starts_on": "2019-12-04",
    "ends_on": "2019-12-05",
    "city": "Istanbul",
    "country": "TR",
    "chair": "Turkey",
    "co_chair": "Hungary",
}

# The 37 countries in the order of the summary, with their headcounts (55 people).
COUNTRY_HEADCOUNTS: dict[str, int] = {
    "AF": 2,  # Afghanistan
    "AM": 1,  # Armenia
    "AT": 1,  # Austria
    "AZ": 1,  # Azerbaijan
    "BY": 1,  # Belarus
    "BE": 1,  # Belgium
    "BG": 2,  # Bulgaria
    "CZ": 2,  # Czech Republic
    "DK": 1,  # Denmark
    "FI": 1,  # Finland
    "GE": 1,  # Georgia
    "DE": 1,  # Germany
    "GR": 1,  # Greece
    "HU": 3,  # Hungary, Co-Chair
    "IQ": 2,  # Iraq
    "IT": 1,  # Italy
    "KG": 1,  # Kyrgyzstan
    "LV": 1,  # Latvia
    "MD": 1,  # Moldova
    "ME": 1,  # Montenegro
    "NL": 2,  # the Netherlands
    "MK": 2,  # North Macedonia
    "NO": 1,  # Norway
    "PK": 2,  # Pakistan
    "PL": 1,  # Poland
    "PT": 1,  # Portugal
    "RO": 1,  # Romania
    "RU": 1,  # Russian Federation
    "RS": 2,  # Serbia
    "SI": 1,  # Slovenia
    "ES": 1,  # Spain
    "SE": 2,  # Sweden
    "CH": 1,  # Switzerland
    "TJ": 1,  # Tajikistan
    "TR": 8,  # Turkey, Chair and host
    "UA": 1,  # Ukraine
    "GB": 1,  # the United Kingdom
}

# The 11 organisations (acronyms of the registry), 27 people.
ORGANISATION_HEADCOUNTS: dict[str, int] = {
    "EC": 3,
    "CEU": 1,
    "EEAS": 1,
    "EASO": 1,
    "FRONTEX": 1,
    "BSEC": 1,
    "ICMPD": 12,  # the Secretariat
    "ILO": 2,
    "IOM": 2,
    "UNODC": 2,
    "UNDP": 1,
}

HEADS_OF_DELEGATION = {
    "TR": "Abdullah Ayaz, Director General for Migration Management",
    "HU": "Ferenc Dancs, Deputy State Secretary, Ministry of Foreign Affairs",
    "EC": "Silvena Pesta, Deputy Head of Unit",
    "ICMPD": "Martijn Pluim, Director for Migration Dialogues and Cooperation",
}

DELEGATIONS: list[dict[str, Any]] = [
    {"participant": participant, "headcount": headcount}
    | (
        {"head_of_delegation": HEADS_OF_DELEGATION[participant]}
        if participant in HEADS_OF_DELEGATION
        else {}
    )
    for participant, headcount in (COUNTRY_HEADCOUNTS | ORGANISATION_HEADCOUNTS).items()
]

PARTICIPANTS = sum(COUNTRY_HEADCOUNTS.values()) + sum(ORGANISATION_HEADCOUNTS.values())

# Agenda items by a key the interventions refer to.
AGENDA: dict[str, dict[str, Any]] = {
    "opening": {
        "day": 1,
        "position": 1,
        "title": "Opening by the Chair, the Co-Chair, the European Commission and the Secretariat",
        "presenter": "Turkey (Chair)",
        "duration_minutes": 45,
    },
    "silk_routes_project": {
        "day": 1,
        "position": 2,
        "title": "Improving Migration Management in the Silk Routes Region: the Silk Routes "
        "Facility, its six grants, Migrant Resource Centres, MIGRAP and RELEC",
        "presenter": "ICMPD",
        "duration_minutes": 40,
        "project_code": "IMM-SILK-ROUTES",
    },
    "ibm_project": {
        "day": 1,
        "position": 3,
        "title": "Integrated Border Management in the Silk Routes Countries: the first year",
        "presenter": "ICMPD",
        "duration_minutes": 30,
        "project_code": "IBM-SILK-ROUTES",
        "goal": 1,
    },
    "plan": {
        "day": 1,
        "position": 4,
        "title": "The updated Strategic Document and Implementation Plan",
        "presenter": "ICMPD (Secretariat)",
        "duration_minutes": 30,
        "plan_item": "Strategic Document and Implementation Plan",
    },
    "plenary": {
        "day": 1,
        "position": 5,
        "title": "Plenary: comments on the Implementation Plan",
        "presenter": "Turkey (Chair)",
        "duration_minutes": 90,
        "plan_item": "Strategic Document and Implementation Plan",
    },
    "revised_plan": {
        "day": 2,
        "position": 1,
        "title": "The revised Implementation Plan and the activities of 2020 and their hosts",
        "presenter": "ICMPD (Secretariat)",
        "duration_minutes": 30,
        "plan_item": "Strategic Document and Implementation Plan",
    },
    "glo_act": {
        "day": 2,
        "position": 2,
        "title": "GLO.ACT: countering trafficking in persons and the smuggling of migrants",
        "presenter": "UNODC",
        "duration_minutes": 30,
        "project_code": "GLO.ACT",
        "goal": 5,
    },
    "eu_silk_routes": {
        "day": 2,
        "position": 3,
        "title": "The European Union's involvement in the Silk Routes countries",
        "presenter": "European Commission",
        "duration_minutes": 20,
    },
    "decent_work": {
        "day": 2,
        "position": 4,
        "title": "Access of migrants and refugees to decent work in Turkey",
        "presenter": "ILO Turkey",
        "duration_minutes": 20,
        "goal": 3,
    },
    "learning_tool": {
        "day": 2,
        "position": 5,
        "title": "The Results-oriented Learning Tool",
        "presenter": "ICMPD (Secretariat)",
        "duration_minutes": 30,
    },
    "endorsement": {
        "day": 2,
        "position": 6,
        "title": "Endorsement of the Strategic Document and Implementation Plan",
        "presenter": "Turkey (Chair)",
        "duration_minutes": 15,
        "plan_item": "Strategic Document and Implementation Plan",
    },
    "closing": {
        "day": 2,
        "position": 7,
        "title": "Closing remarks",
        "presenter": "Turkey (Chair)",
        "duration_minutes": 15,
    },
}

GOALS_COVERED = sorted({item["goal"] for item in AGENDA.values() if "goal" in item})
HOSTS_2020 = ("BG", "LV", "AZ")
# North Macedonia's three regional points (the summary names them only as "three points").
SOUTH_EAST_EUROPE_POINTS = (
    "South East Europe: regional cooperation on return and readmission.",
    "South East Europe: joint training on identifying vulnerable migrants on the Western "
    "Balkans route.",
    "South East Europe: information exchange between the border authorities of the region.",
)


@dataclass(frozen=True)
class PlanRefs:
    """What lives in plan-api: the plan, its versions and the 2020 activities offered."""

    plan_id: uuid.UUID
    # Shared ahead of the meeting, and commented on.
    circulated_version: int
    # With North Macedonia's points, shared and endorsed on the second day.
    revised_version: int
    # The activity each of Bulgaria, Latvia and Azerbaijan offered to host in 2020.
    offered: Mapping[str, uuid.UUID]


def interventions(plan: PlanRefs) -> list[dict[str, Any]]:
    """Each intervention's body, in the order of the summary; ``agenda`` names its item."""
    plan_id = str(plan.plan_id)
    on_the_plan = {"plan_id": plan_id}
    on_the_draft = {"plan_id": plan_id, "plan_version": plan.circulated_version}

    def offer(country: str) -> dict[str, Any]:
        return {
            "agenda": "plenary",
            "delegation": country,
            "kind": "offer_to_host",
            "text": "Willing to host a meeting of the implementation plan in 2020.",
            "plan_id": plan_id,
            "activity_id": str(plan.offered[country]),
            "year": 2020,
        }

    return [
        {
            "agenda": "opening",
            "delegation": "TR",
            "kind": "statement",
            "text": "Engagement and partnership between all participating countries matter.",
        },
        {
            "agenda": "opening",
            "delegation": "HU",
            "kind": "statement",
            "text": "Respect of different opinions in a dialogue context is crucial.",
        },
        {
            "agenda": "opening",
            "delegation": "EC",
            "kind": "statement",
            "text": "Migration remains a priority for the new College of Commissioners: a fresh "
            "start, a comprehensive approach, partnerships with countries of origin, transit "
            "and destination.",
        },
        {
            "agenda": "opening",
            "delegation": "ICMPD",
            "kind": "statement",
            "text": "Welcomes the new ideas of the updated plan: forecasting migration trends, "
            "engaging diaspora organisations.",
        },
        {
            "agenda": "silk_routes_project",
            "delegation": "ICMPD",
            "kind": "presentation",
            "text": "Results in 2019 of Improving Migration Management in the Silk Routes Region.",
        },
        {
            "agenda": "ibm_project",
            "delegation": "ICMPD",
            "kind": "presentation",
            "text": "First year of Integrated Border Management in the Silk Routes Countries.",
        },
        {
            "agenda": "plan",
            "delegation": "ICMPD",
            "kind": "presentation",
            "text": "The updated plan: leaner, more action-oriented, with a tentative timeline.",
            **on_the_draft,
        },
        {
            "agenda": "plenary",
            "delegation": "BG",
            "kind": "support",
            "text": "The plan is ambitious; Bulgaria supports the dialogue as Chair of the Black "
            "Sea Regional Working Group.",
            **on_the_plan,
        },
        offer("BG"),
        {
            "agenda": "plenary",
            "delegation": "AF",
            "kind": "support",
            "text": "As Co-Chair of the Silk Routes Regional Working Group, ready to support the "
            "implementation of the plan.",
            **on_the_plan,
        },
        {
            "agenda": "plenary",
            "delegation": "PK",
            "kind": "support",
            "text": "The plan should remain flexible, a blueprint for future activities.",
            **on_the_plan,
        },
        {
            "agenda": "plenary",
            "delegation": "SE",
            "kind": "commitment",
            "text": "Will contribute knowledge to the meeting on unaccompanied minors and "
            "vulnerable groups.",
            **on_the_plan,
        },
        {
            "agenda": "plenary",
            "delegation": "LV",
            "kind": "commitment",
            "text": "Committed to the dialogue.",
            **on_the_plan,
        },
        offer("LV"),
        {
            "agenda": "plenary",
            "delegation": "AZ",
            "kind": "commitment",
            "text": "Committed to the dialogue.",
            **on_the_plan,
        },
        offer("AZ"),
        {
            "agenda": "plenary",
            "delegation": "PL",
            "kind": "support",
            "text": "Supports the activities of the South East European Regional Working Group.",
        },
        *(
            {
                "agenda": "plenary",
                "delegation": "MK",
                "kind": "amendment_request",
                "text": "As Chair of the South East European Regional Working Group, asks that "
                "the regional priorities discussed in Skopje be added before the endorsement: "
                f"point {number} of 3.",
                **on_the_draft,
                "amendment": {
                    "target": {"type": "plan"},
                    "action": "add",
                    "text": point,
                    "rationale": "The regional priorities discussed in Skopje.",
                },
            }
            for number, point in enumerate(SOUTH_EAST_EUROPE_POINTS, 1)
        ),
        {
            "agenda": "plenary",
            "delegation": "HU",
            "kind": "commitment",
            "text": "Will contribute to activities on border management, smuggling and "
            "trafficking, return and reintegration.",
            **on_the_plan,
        },
        {
            "agenda": "plenary",
            "delegation": "CZ",
            "kind": "commitment",
            "text": "Reaffirms its commitments to the plan despite not adopting the declaration.",
            **on_the_plan,
        },
        {
            "agenda": "plenary",
            "delegation": "EC",
            "kind": "support",
            "text": "Supports the action plan; asks for a stronger link between the projects "
            "under way, the future activities and the Call for Action.",
            **on_the_plan,
        },
        {
            "agenda": "plenary",
            "delegation": "NL",
            "kind": "commitment",
            "text": "Welcomes the balance among the priority areas; will contribute to the "
            "actions on return and reintegration.",
            **on_the_plan,
        },
        {
            "agenda": "plenary",
            "delegation": "RS",
            "kind": "amendment_request",
            "text": "Proposes to add the word 'prevention' when mentioning counteracting "
            "irregular migration.",
            **on_the_draft,
            "amendment": {
                "target": {"type": "goal", "ref": "1"},
                "action": "modify",
                "text": "Prevent and counteract irregular migration.",
            },
        },
        {
            "agenda": "revised_plan",
            "delegation": "ICMPD",
            "kind": "presentation",
            "text": "The revised plan with North Macedonia's points; the activities of 2020 and "
            "their hosts: return, reintegration, smuggling, legal pathways.",
            "plan_id": plan_id,
            "plan_version": plan.revised_version,
        },
        {
            "agenda": "glo_act",
            "delegation": "UNODC",
            "kind": "presentation",
            "text": "GLO.ACT: prevention, protection, prosecution and partnership through six "
            "pillars over four years.",
        },
        {
            "agenda": "eu_silk_routes",
            "delegation": "EC",
            "kind": "presentation",
            "text": "Three regional projects of 12 M EUR each; 300 M EUR mobilised for the Silk "
            "Routes region since 2016.",
        },
        {
            "agenda": "decent_work",
            "delegation": "ILO",
            "kind": "presentation",
            "text": "Access of migrants and refugees to decent work; the Refugee Response "
            "Programme.",
        },
        {
            "agenda": "learning_tool",
            "delegation": "ICMPD",
            "kind": "presentation",
            "text": "First steps of the Results-oriented Learning Tool, used at the Senior "
            "Officials Meeting of 2020.",
        },
    ]


def decisions(plan: PlanRefs) -> list[dict[str, Any]]:
    return [
        {
            "kind": "endorsement",
            "text": "The Chair and the participating countries endorse the Strategic Document "
            "and Implementation Plan, committed to update it as necessary.",
            "plan_id": str(plan.plan_id),
            "plan_version": plan.revised_version,
            "reservations": ["CZ"],
        },
        {
            "kind": "other",
            "text": "The Chair will share the final version of the documents and a calendar of "
            "the meetings and activities of 2020 before the end of the year.",
        },
    ]


@dataclass
class EnteredMeeting:
    meeting: dict[str, Any]
    agenda_ids: dict[str, str] = field(default_factory=dict)
    interventions: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)


async def enter_som_istanbul_2019(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    plan: PlanRefs,
    *,
    hold: bool = True,
    decide: bool = True,
) -> EnteredMeeting:
    """Enter the meeting through the API; raises on any refusal."""

    async def send(method: str, path: str, body: Any = None) -> Any:
        response = await client.request(method, path, json=body, headers=dict(headers))
        response.raise_for_status()
        return response.json()

    meeting = await send("POST", "/v1/meetings", MEETING)
    base = f"/v1/meetings/{meeting['id']}"
    entered = EnteredMeeting(meeting)
    await send("PUT", f"{base}/delegations", DELEGATIONS)
    for key, item in AGENDA.items():
        entered.agenda_ids[key] = (await send("POST", f"{base}/agenda-items", item))["id"]
    for intervention in interventions(plan):
        body = {k: v for k, v in intervention.items() if k != "agenda"}
        body["agenda_item_id"] = entered.agenda_ids[intervention["agenda"]]
        entered.interventions.append(await send("POST", f"{base}/interventions", body))
    # The endorsement names the revised version: a caller may record it once that exists.
    for body in decisions(plan) if decide else []:
        entered.decisions.append(await send("POST", f"{base}/decisions", body))
    entered.meeting = await send("POST", f"{base}/hold") if hold else await send("GET", base)
    return entered
