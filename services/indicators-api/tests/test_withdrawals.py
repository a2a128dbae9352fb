"""Results withdrawn: by their external ids, or left out of a `mode=replace` import. Tombstones
stay readable by id; lists, rollups and the dashboard follow in the same transaction (or by the
service's own events, for the dashboard); a frozen rollup snapshot never changes."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.security import Role
from bp_common.testing import identity_headers

from .conftest import Api, answered_rollups, expected_rollups, seed_framework
from .test_iati_export import distinct_rows

IOM = identity_headers(Role.PARTNER, organisation="IOM")
UNODC = identity_headers(Role.PARTNER, organisation="UNODC")


def row(external_id: str, period: str = "2020", value: float = 10, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "project": "IMM-SR",
        "indicator": "1.SUM",
        "period": period,
        "country": "AF",
        "value": value,
    } | fields


async def framework(api: Api) -> dict[str, dict[str, Any]]:
    await api.project(implementing_organisations=["IOM", "UNODC"])
    return {
        "1.SUM": await api.indicator("1.SUM", targets=[{"year": 2020, "value": 25}]),
        "1.MAX": await api.indicator("1.MAX", aggregation="max"),
    }


async def withdraw(
    api: Api,
    external_ids: list[str],
    *,
    headers: dict[str, str] | None = None,
    organisation: str | None = "IOM",
    reason: str = "Reported for the wrong country.",
) -> Any:
    body: dict[str, Any] = {"external_ids": external_ids, "reason": reason}
    if organisation is not None:
        body["organisation"] = organisation
    return await api.client.post(
        "/v1/results/withdraw", json=body, headers=headers or api.SECRETARIAT
    )


async def assert_rollups_follow_standing_results(
    api: Api, indicators: dict[str, dict[str, Any]]
) -> None:
    standing = await api.results()
    for by in (["goal", "country", "year"], ["organisation"], []):
        answer = await api.rollups(by=",".join(by))
        assert answered_rollups(answer, by) == pytest.approx(
            expected_rollups(indicators, standing, by)
        )


async def test_withdrawn_results_are_tombstones_out_of_lists_and_rollups(api: Api) -> None:
    indicators = await framework(api)
    rows = [
        row("a", value=10),
        row("b", value=20),
        row("c", "2021", 5),
        row("m", indicator="1.MAX"),
    ]
    assert (await api.import_rows(rows)).json()["created"] == 4
    await api.import_rows([row("a", value=99)], organisation="UNODC")  # another org's "a"
    assert (await api.rollups(indicator="1.SUM", by="year", organisation="IOM"))[0]["value"] == 30

    answer = await withdraw(api, ["b", "nope", "m"])
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert (outcome["withdrawn"], outcome["unchanged"], outcome["rejected"]) == (2, 0, 1)
    assert [(e["index"], e["external_id"], e["code"], e["loc"]) for e in outcome["errors"]] == [
        (1, "nope", "unknown_external_id", ["external_ids", 1])
    ]

    listed = {(r["organisation"], r["external_id"]) for r in await api.results()}
    assert listed == {("IOM", "a"), ("IOM", "c"), ("UNODC", "a")}
    every = await api.results(include_withdrawn="true")
    tombstone = next(r for r in every if r["external_id"] == "b")
    assert tombstone["withdrawn_at"] is not None
    assert tombstone["withdrawn_by"] == "test-secretariat"
    assert tombstone["withdrawal_reason"] == "Reported for the wrong country."
    by_id = await api.client.get(f"/v1/results/{tombstone['id']}", headers=api.VIEWER)
    assert by_id.status_code == 200
    assert by_id.json() == tombstone
    standing = next(r for r in every if r["external_id"] == "a" and r["organisation"] == "IOM")
    assert standing["withdrawn_at"] is None
    missing = await api.client.get(f"/v1/results/{uuid.uuid4()}", headers=api.VIEWER)
    assert (missing.status_code, missing.json()["code"]) == (404, "result_not_found")

    # The rollups are the rules over the standing results; 1.MAX lost its only row.
    iom = await api.rollups(indicator="1.SUM", by="year", organisation="IOM")
    assert [(r["year"], r["value"]) for r in iom] == [(2020, 10), (2021, 5)]
    assert await api.rollups(indicator="1.MAX") == []
    await assert_rollups_follow_standing_results(api, indicators)

    # Withdrawn again: unchanged, nothing moves.
    again = (await withdraw(api, ["b"])).json()
    assert (again["withdrawn"], again["unchanged"], again["rejected"]) == (0, 1, 0)

    events = await api.settle()
    withdrawn = [e for e in events if e.type == "indicators.results.withdrawn.v1"]
    assert [e.data | {"withdrawal_id": None} for e in withdrawn] == [
        {
            "withdrawal_id": None,
            "organisation": "IOM",
            "withdrawn": 2,
            "external_ids": ["b", "m"],
            "truncated": False,
            "cause": "request",
            "import_id": None,
            "reason": "Reported for the wrong country.",
        }
    ]
    assert withdrawn[0].subject == outcome["withdrawal_id"]
    updated = [e for e in events if e.type == "indicators.rollup.updated.v1"]
    last = {e.subject: e.data["groups"] for e in updated}
    assert last["1.MAX"] == [{"goal": 1, "country": "AF", "year": 2020}]
    assert {"goal": 1, "country": "AF", "year": 2020} in last["1.SUM"]


async def test_a_withdrawn_result_pushed_again_stands_again(api: Api) -> None:
    indicators = await framework(api)
    await api.import_rows([row("a"), row("b", value=20)])
    await withdraw(api, ["b"])
    again = (await api.import_rows([row("b", value=21)])).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (1, 0, 0)
    revived = next(r for r in await api.results() if r["external_id"] == "b")
    assert (revived["value"], revived["withdrawn_at"], revived["withdrawal_reason"]) == (
        21,
        None,
        None,
    )
    await assert_rollups_follow_standing_results(api, indicators)


async def test_a_partner_withdraws_its_own_organisations_results_only(api: Api) -> None:
    await framework(api)
    await api.import_rows([row("a")], organisation="IOM")
    await api.import_rows([row("u")], organisation="UNODC")

    # By its keys, "u" is not IOM's: unknown, nothing withdrawn.
    foreign = await withdraw(api, ["u"], headers=IOM, organisation=None)
    assert foreign.json()["errors"][0]["code"] == "unknown_external_id"
    named = await withdraw(api, ["u"], headers=IOM, organisation="UNODC")
    assert (named.status_code, named.json()["code"]) == (403, "results_write_forbidden")
    for role in (Role.MEMBER, Role.VIEWER):
        denied = await withdraw(api, ["a"], headers=identity_headers(role, country="BG"))
        assert denied.status_code == 403
    assert {r["external_id"] for r in await api.results()} == {"a", "u"}

    own = await withdraw(api, ["a"], headers=IOM, organisation=None)
    assert own.json()["withdrawn"] == 1
    assert {r["external_id"] for r in await api.results()} == {"u"}


async def test_the_secretariat_names_the_organisation_and_bad_bodies_are_refused(
    api: Api,
) -> None:
    await framework(api)
    await api.import_rows([row("a")])
    unnamed = await withdraw(api, ["a"], organisation=None)
    assert (unnamed.status_code, unnamed.json()["code"]) == (422, "organisation_required")
    for body in (
        {"organisation": "IOM", "external_ids": [], "reason": "x"},
        {"organisation": "IOM", "external_ids": ["a", "a"], "reason": "x"},
        {"organisation": "IOM", "external_ids": ["a"]},
        {"organisation": "IOM", "external_ids": ["a"], "reason": ""},
        {"organisation": "IOM", "external_ids": ["a"], "reason": "x", "colour": "blue"},
    ):
        refused = await api.client.post("/v1/results/withdraw", json=body, headers=api.SECRETARIAT)
        assert refused.status_code == 422, body
        assert refused.headers["content-type"] == "application/problem+json"
    assert len(await api.results()) == 1


async def test_an_idempotency_key_replays_the_first_withdrawal(api: Api) -> None:
    await framework(api)
    await api.import_rows([row("a"), row("b")])
    body = orjson.dumps({"organisation": "IOM", "external_ids": ["a"], "reason": "Duplicate."})
    headers = api.SECRETARIAT | {"Idempotency-Key": "w-1", "content-type": "application/json"}
    first = await api.client.post("/v1/results/withdraw", content=body, headers=headers)
    assert first.json()["withdrawn"] == 1
    # Meanwhile "a" is pushed again; the replay answers as the first time and changes nothing.
    await api.import_rows([row("a")])
    replay = await api.client.post("/v1/results/withdraw", content=body, headers=headers)
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert {r["external_id"] for r in await api.results()} == {"a", "b"}
    other = orjson.dumps({"organisation": "IOM", "external_ids": ["b"], "reason": "Duplicate."})
    conflict = await api.client.post("/v1/results/withdraw", content=other, headers=headers)
    assert (conflict.status_code, conflict.json()["code"]) == (409, "idempotency_key_reused")
    withdrawn = [e for e in await api.settle() if e.type == "indicators.results.withdrawn.v1"]
    assert len(withdrawn) == 1


async def test_a_replace_import_withdraws_what_it_leaves_out_of_each_period_it_reports(
    api: Api,
) -> None:
    indicators = await framework(api)
    await api.import_rows(
        [
            row("a1", value=1),
            row("a2", value=2),
            row("a3", value=3, country="PK"),
            row("q1", "2020-Q1", value=4),  # another period of the same indicator
            row("m1", indicator="1.MAX", value=5),  # another indicator, same period
        ]
    )
    await api.import_rows([row("a1", value=7)], organisation="UNODC")  # another organisation
    push = [
        row("a1", value=1),  # unchanged
        row("a4", value=6),  # new
        row("a2", value=2, country="DE"),  # rejected: still named, so a2 stays
    ]

    dry = (await api.import_rows(push, mode="replace", dry_run="true")).json()
    assert (dry["created"], dry["unchanged"], dry["rejected"], dry["withdrawn"]) == (1, 1, 1, 1)
    assert len(await api.results()) == 6

    done = await api.import_rows(push, mode="replace")
    assert done.status_code == 200, done.text
    outcome = done.json()
    assert (outcome["created"], outcome["unchanged"], outcome["rejected"]) == (1, 1, 1)
    assert outcome["withdrawn"] == 1
    standing = {(r["organisation"], r["external_id"]) for r in await api.results()}
    assert standing == {
        ("IOM", "a1"),
        ("IOM", "a2"),
        ("IOM", "a4"),
        ("IOM", "q1"),
        ("IOM", "m1"),
        ("UNODC", "a1"),
    }
    gone = next(r for r in await api.results(include_withdrawn="true") if r["external_id"] == "a3")
    assert (
        gone["withdrawal_reason"] == f"Left out of the replace-mode import {outcome['import_id']}."
    )
    await assert_rollups_follow_standing_results(api, indicators)

    # The same push again: nothing left to withdraw.
    again = (await api.import_rows(push, mode="replace")).json()
    assert (again["unchanged"], again["withdrawn"]) == (2, 0)
    # A plain import never withdraws.
    plain = (await api.import_rows([row("a5")])).json()
    assert plain["withdrawn"] == 0
    assert len(await api.results()) == 7

    events = await api.settle()
    imported = [e.data for e in events if e.type == "indicators.results.imported.v1"]
    assert [d["withdrawn"] for d in imported] == [0, 0, 1, 0, 0]
    withdrawn = [e for e in events if e.type == "indicators.results.withdrawn.v1"]
    assert [(e.data["cause"], e.data["external_ids"]) for e in withdrawn] == [
        ("replace_import", ["a3"])
    ]
    assert withdrawn[0].data["import_id"] == outcome["import_id"]


async def test_a_replace_import_by_csv_and_its_idempotency_key(api: Api) -> None:
    await framework(api)
    await api.import_rows([row("a1"), row("a2")])
    csv = b"external_id,project,indicator,period,country,value\na1,IMM-SR,1.SUM,2020,AF,10\n"
    headers = IOM | {"content-type": "text/csv", "Idempotency-Key": "r-1"}
    first = await api.client.post(
        "/v1/results/import", content=csv, headers=headers, params={"mode": "replace"}
    )
    assert first.json()["withdrawn"] == 1
    replay = await api.client.post(
        "/v1/results/import", content=csv, headers=headers, params={"mode": "replace"}
    )
    assert replay.content == first.content
    # The same key and body as an upsert is another request.
    upsert = await api.client.post("/v1/results/import", content=csv, headers=headers)
    assert (upsert.status_code, upsert.json()["code"]) == (409, "idempotency_key_reused")
    bad = await api.client.post(
        "/v1/results/import",
        content=csv,
        headers=IOM | {"content-type": "text/csv"},
        params={"mode": "merge"},
    )
    assert bad.status_code == 422
    assert [r["external_id"] for r in await api.results()] == ["a1"]


async def test_the_dashboard_counts_standing_results_and_snapshots_stay_frozen(api: Api) -> None:
    await framework(api)
    await api.import_rows([row("a", value=10), row("b", value=20)])
    await api.import_rows([row("u", value=5)], organisation="UNODC")
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
                "revision": 3,
            },
        )
    )
    await api.settle()
    snapshot = await api.client.get(
        "/v1/rollups/snapshots", params={"meeting": meeting_id}, headers=api.VIEWER
    )
    frozen = snapshot.json()
    assert frozen[0]["rows"][0]["value"] == 35
    summary = (await api.client.get("/v1/dashboard/summary", headers=api.VIEWER)).json()
    assert (summary["results"]["results"], summary["results"]["organisations"]) == (3, 2)
    assert summary["results"]["indicators_on_track"] == 1

    await withdraw(api, ["u"], organisation="UNODC")
    await api.import_rows([row("a", value=10)], mode="replace")  # withdraws b
    await api.settle()
    summary = (await api.client.get("/v1/dashboard/summary", headers=api.VIEWER)).json()
    assert (summary["results"]["results"], summary["results"]["organisations"]) == (1, 1)
    # 10 of a target of 25: off track now.
    assert summary["results"]["indicators_off_track"] == 1
    assert (await api.client.get("/v1/results/summary", headers=api.VIEWER)).json() == {
        "results": 1,
        "organisations": 1,
    }
    again = await api.client.get(
        "/v1/rollups/snapshots", params={"meeting": meeting_id}, headers=api.VIEWER
    )
    assert again.json() == frozen


async def test_the_iati_export_leaves_withdrawn_results_out(api: Api) -> None:
    await seed_framework(api)
    rows = distinct_rows(10)
    await api.import_rows(rows)

    async def actuals() -> int:
        answer = await api.client.get(
            "/v1/iati/activities.xml", params={"project": "IMM-SR"}, headers=api.VIEWER
        )
        assert answer.status_code == 200, answer.text
        return answer.content.count(b"<actual") - answer.content.count(b"<actuals")

    before = await actuals()
    await withdraw(api, [rows[0]["external_id"], rows[1]["external_id"]])
    assert await actuals() == before - 2
