"""Corrections of projects and indicators by the Secretariat: `PATCH` against the revision read
(`If-Match`, required: 412 stale, 428 missing, nothing changed), checked as a whole and against
the results reported, announced by events; an indicator's rollups follow its rule in the same
transaction, and the snapshots frozen before never change."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.security import Role
from bp_common.testing import identity_headers

from .conftest import Api, answered_rollups, expected_rollups

IOM = identity_headers(Role.PARTNER, organisation="IOM")


async def patch(
    api: Api, path: str, body: dict[str, Any], if_match: str | None = '"1"', **headers: str
) -> Any:
    sent = dict(headers or api.SECRETARIAT)
    if if_match is not None:
        sent["If-Match"] = if_match
    return await api.client.patch(path, json=body, headers=sent)


def row(external_id: str, period: str = "2020", value: float = 10, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "project": "IMM-SR",
        "indicator": "1.SUM",
        "period": period,
        "country": "AF",
        "value": value,
    } | fields


async def held(api: Api) -> str:
    meeting_id = str(uuid.uuid4())
    await api.publish(
        CloudEvent(
            type="meetings.meeting.held.v1",
            source="/meetings",
            subject=meeting_id,
            data={
                "meeting_id": meeting_id,
                "status": "held",
                "title": "Senior Officials Meeting",
                "starts_on": "2020-06-01",
                "city": "Istanbul",
                "country": "TR",
                "revision": 2,
            },
        )
    )
    await api.settle()
    return meeting_id


async def snapshot(api: Api, meeting_id: str) -> Any:
    answer = await api.client.get(
        "/v1/rollups/snapshots", params={"meeting": meeting_id}, headers=api.VIEWER
    )
    return answer.json()


# -- projects ----------------------------------------------------------------------------------


async def test_a_project_is_corrected_against_the_revision_read(api: Api) -> None:
    created = await api.client.post("/v1/projects", json=api.PROJECT, headers=api.SECRETARIAT)
    assert created.headers["etag"] == '"1"'
    read = await api.client.get("/v1/projects/IMM-SR", headers=api.VIEWER)
    assert (read.headers["etag"], read.json()) == ('"1"', created.json())

    missing = await patch(api, "/v1/projects/IMM-SR", {"ends_on": "2024-06-30"}, if_match=None)
    assert (missing.status_code, missing.json()["code"]) == (428, "if_match_required")
    stale = await patch(api, "/v1/projects/IMM-SR", {"ends_on": "2024-06-30"}, if_match='"7"')
    assert (stale.status_code, stale.json()["code"]) == (412, "stale_revision")
    assert stale.headers["etag"] == '"1"'
    assert (await api.client.get("/v1/projects/IMM-SR", headers=api.VIEWER)).json() == read.json()

    moved = await patch(
        api,
        "/v1/projects/IMM-SR",
        {"ends_on": "2024-06-30", "implementing_organisations": ["IOM", "ICMPD", "UNHCR"]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == '"2"'
    assert moved.json()["ends_on"] == "2024-06-30"
    assert moved.json()["implementing_organisations"] == ["ICMPD", "IOM", "UNHCR"]
    again = await api.client.get("/v1/projects/IMM-SR", headers=api.VIEWER)
    assert (again.headers["etag"], again.json()) == ('"2"', moved.json())

    # The same correction again changes nothing (no new revision); links alone move it.
    same = await patch(api, "/v1/projects/IMM-SR", {"ends_on": "2024-06-30"}, if_match='"2"')
    assert same.headers["etag"] == '"2"'
    links = await patch(api, "/v1/projects/IMM-SR", {"countries": ["AF", "PK"]}, if_match="*")
    assert (links.headers["etag"], links.json()["countries"]) == ('"3"', ["AF", "PK"])
    # The first officer's revision is stale now.
    late = await patch(api, "/v1/projects/IMM-SR", {"title": "Late"}, if_match='"2"')
    assert late.status_code == 412

    corrected = [e for e in await api.settle() if e.type == "indicators.project.corrected.v1"]
    assert [(e.subject, e.data["revision"], e.data["changed"]) for e in corrected] == [
        ("IMM-SR", 2, ["ends_on", "implementing_organisations"]),
        ("IMM-SR", 3, ["countries"]),
    ]
    assert corrected[0].data["ends_on"] == "2024-06-30"


async def test_a_project_correction_is_checked_as_a_whole_and_by_role(api: Api) -> None:
    await api.project()
    for body, code in (
        ({"ends_on": "2018-12-31"}, "validation_failed"),
        ({"code": "OTHER"}, "validation_failed"),
        ({"title": None}, "validation_failed"),
        ({"goals": [1, 9]}, "unknown_goal"),
        ({"goals": [1, 1]}, "validation_failed"),
        ({"colour": "blue"}, "validation_failed"),
    ):
        refused = await patch(api, "/v1/projects/IMM-SR", body)
        assert (refused.status_code, refused.json()["code"]) == (422, code), body
    never = await patch(api, "/v1/projects/IMM-SR", {"code": "OTHER"})
    assert "code never changes" in never.text
    for headers in (IOM, api.VIEWER):
        denied = await api.client.patch(
            "/v1/projects/IMM-SR", json={"title": "x"}, headers=headers | {"If-Match": '"1"'}
        )
        assert denied.status_code == 403
    unknown = await patch(api, "/v1/projects/NOPE", {"title": "x"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "project_not_found")
    assert (await api.client.get("/v1/projects/IMM-SR", headers=api.VIEWER)).headers[
        "etag"
    ] == '"1"'


async def test_a_correction_never_strands_the_results_reported(api: Api) -> None:
    await api.project()
    await api.indicator("1.SUM")
    await api.import_rows([row("late", "2023-Q2"), row("pk", country="PK")])
    for body, field in (
        ({"ends_on": "2022-12-31"}, "dates"),
        ({"implementing_organisations": ["ICMPD"]}, "implementing_organisations"),
        ({"countries": ["AF", "IQ"]}, "countries"),
        ({"goals": [2, 5]}, "goals"),
    ):
        refused = await patch(api, "/v1/projects/IMM-SR", body)
        assert refused.status_code == 409, body
        assert refused.json()["code"] == "results_outside_project"
        assert [e["loc"] for e in refused.json()["errors"]] == [["body", field]]
    # Once the stranded result is withdrawn, the end date moves.
    await api.client.post(
        "/v1/results/withdraw",
        json={"organisation": "IOM", "external_ids": ["late"], "reason": "Reported too early."},
        headers=api.SECRETARIAT,
    )
    moved = await patch(api, "/v1/projects/IMM-SR", {"ends_on": "2022-12-31"})
    assert moved.status_code == 200, moved.text
    # A component must stay within the project's goals and countries.
    component = {"code": "F1", "title": "Facility", "kind": "facility", "goal": 5}
    added = await patch(api, "/v1/projects/IMM-SR", {"components": [component]}, if_match='"2"')
    assert added.json()["components"][0]["goal"] == 5
    stranded = await patch(api, "/v1/projects/IMM-SR", {"goals": [1, 2]}, if_match='"3"')
    assert stranded.status_code == 422


# -- indicators --------------------------------------------------------------------------------


async def test_a_change_of_rule_recomputes_the_rollups_and_announces_every_group(
    api: Api,
) -> None:
    await api.project()
    created = await api.client.post(
        "/v1/indicators", json=api.indicator_body("1.SUM"), headers=api.SECRETARIAT
    )
    assert created.headers["etag"] == '"1"'
    rows = [row("a", value=10), row("b", value=30), row("c", "2021", 5, country="PK")]
    await api.import_rows(rows)
    await api.settle()
    sums = await api.rollups(by="year")
    assert [(r["year"], r["value"]) for r in sums] == [(2020, 40), (2021, 5)]

    stale = await patch(api, "/v1/indicators/1.SUM", {"aggregation": "max"}, if_match='"2"')
    assert (stale.status_code, stale.headers["etag"]) == (412, '"1"')
    missing = await patch(api, "/v1/indicators/1.SUM", {"aggregation": "max"}, if_match=None)
    assert missing.status_code == 428
    assert await api.rollups(by="year") == sums

    done = await patch(api, "/v1/indicators/1.SUM", {"aggregation": "max", "title": "Most"})
    assert done.status_code == 200, done.text
    assert (done.headers["etag"], done.json()["aggregation"]) == ('"2"', "max")
    maxima = await api.rollups(by="year")
    assert [(r["year"], r["value"]) for r in maxima] == [(2020, 30), (2021, 5)]
    indicator = (await api.client.get("/v1/indicators/1.SUM", headers=api.VIEWER)).json()
    for by in (["goal", "country", "year"], []):
        answer = await api.rollups(by=",".join(by))
        assert answered_rollups(answer, by) == pytest.approx(
            expected_rollups({"1.SUM": indicator}, await api.results(), by)
        )

    events = await api.settle()
    corrected = [e for e in events if e.type == "indicators.indicator.corrected.v1"]
    assert [(e.subject, e.data["revision"], e.data["changed"]) for e in corrected] == [
        ("1.SUM", 2, ["aggregation", "title"])
    ]
    assert corrected[0].data["aggregation"] == "max"
    updated = [e for e in events if e.type == "indicators.rollup.updated.v1"][-1]
    assert (updated.subject, updated.data["groups"]) == (
        "1.SUM",
        [
            {"goal": 1, "country": "AF", "year": 2020},
            {"goal": 1, "country": "PK", "year": 2021},
        ],
    )
    # A title alone moves no value: nothing recomputed, nothing announced.
    await patch(api, "/v1/indicators/1.SUM", {"title": "Largest"}, if_match='"2"')
    later = await api.settle()
    assert len([e for e in later if e.type == "indicators.rollup.updated.v1"]) == len(
        [e for e in events if e.type == "indicators.rollup.updated.v1"]
    )


async def test_new_targets_move_the_dashboard_and_leave_frozen_snapshots(api: Api) -> None:
    await api.project()
    await api.indicator("1.SUM", targets=[{"year": 2020, "value": 30}])
    await api.import_rows([row("a", value=40)])
    meeting_id = await held(api)
    frozen = await snapshot(api, meeting_id)
    assert frozen[0]["rows"][0] | {"value": 40} == {
        "indicator": "1.SUM",
        "title": "Indicator 1.SUM",
        "goal": 1,
        "year": 2020,
        "value": 40,
        "target": 30,
        "progress": pytest.approx(40 / 30),
    }
    summary = (await api.client.get("/v1/dashboard/summary", headers=api.VIEWER)).json()
    assert summary["results"]["indicators_on_track"] == 1

    raised = await patch(
        api,
        "/v1/indicators/1.SUM",
        {"targets": [{"year": 2020, "value": 80}], "title": "Renamed"},
    )
    assert raised.status_code == 200, raised.text
    await api.settle()
    summary = (await api.client.get("/v1/dashboard/summary", headers=api.VIEWER)).json()
    assert (
        summary["results"]["indicators_on_track"],
        summary["results"]["indicators_off_track"],
    ) == (0, 1)
    assert (await api.rollups(by="year"))[0]["target"] == 80
    assert await snapshot(api, meeting_id) == frozen


async def test_an_indicator_correction_must_fit_its_results(api: Api) -> None:
    await api.project()
    await api.indicator("1.SUM", disaggregations=["sex"])
    await api.indicator("1.EMPTY")
    await api.import_rows([row("a", value=500)])
    for body, code in (
        ({"measure": "qualitative"}, "measure_conflicts_with_results"),
        ({"measure": "percentage"}, "measure_conflicts_with_results"),
        ({"disaggregations": []}, "disaggregation_in_use"),
    ):
        refused = await patch(api, "/v1/indicators/1.SUM", body)
        assert (refused.status_code, refused.json()["code"]) == (409, code), body
    for body in (
        {"goal": 2},
        {"source": "meetings_held"},
        {"code": "X"},
        {"measure": None},
        {"targets": [{"year": 2020, "value": -1}]},
        {"targets": [{"year": 2020, "value": 1}, {"year": 2020, "value": 2}]},
    ):
        refused = await patch(api, "/v1/indicators/1.SUM", body)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_failed"), body
    assert "never changes" in (await patch(api, "/v1/indicators/1.SUM", {"goal": 2})).text
    added = await patch(api, "/v1/indicators/1.SUM", {"disaggregations": ["sex", "age_band"]})
    assert added.json()["disaggregations"] == ["sex", "age_band"]
    # Without results, any measure fits.
    qualitative = await patch(api, "/v1/indicators/1.EMPTY", {"measure": "qualitative"})
    assert qualitative.json()["measure"] == "qualitative"
    denied = await api.client.patch(
        "/v1/indicators/1.SUM", json={"title": "x"}, headers=IOM | {"If-Match": "*"}
    )
    assert denied.status_code == 403
    unknown = await patch(api, "/v1/indicators/NOPE", {"title": "x"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "indicator_not_found")


async def test_an_event_fed_indicator_is_recomputed_from_its_facts(api: Api) -> None:
    await api.indicator("EV.MEET", source="meetings_held", cumulative=False)
    await held(api)
    await held(api)
    assert [r["value"] for r in await api.rollups(indicator="EV.MEET", by="year")] == [2]
    done = await patch(api, "/v1/indicators/EV.MEET", {"aggregation": "max"})
    assert done.status_code == 200, done.text
    assert [r["value"] for r in await api.rollups(indicator="EV.MEET", by="year")] == [1]
    refused = await patch(api, "/v1/indicators/EV.MEET", {"measure": "percentage"}, if_match="*")
    assert refused.status_code == 422
