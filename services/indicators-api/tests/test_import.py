"""Result imports: the acceptance scenario of 10,000 rows, idempotency, rights and formats."""

import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from bp_common.security import Role
from bp_common.testing import identity_headers

from .conftest import REPORTED, Api, answered_rollups, expected_rollups, seed_framework

IOM = identity_headers(Role.PARTNER, organisation="IOM")
PERIODS = ["2019", "2020", "2020-Q1", "2020-Q2", "2020-Q4", "2021-03", "2021-11", "2021", "2023-Q2"]
Row = dict[str, Any]


def valid_row(rng: random.Random, index: int) -> Row:
    code = rng.choice(REPORTED)
    row: Row = {
        "external_id": f"iom-{index}",
        "project": "IMM-SR",
        "indicator": code,
        "period": rng.choice(PERIODS),
    }
    country = rng.choice(["AF", "PK", "IQ", None])
    if country:
        row["country"] = country
    if code == "1.QUAL":
        row["value"] = rng.choice(["Strategy drafted", "Strategy adopted"])
    elif code in ("1.MEAN", "5.CUMMEAN"):
        row["value"] = round(rng.uniform(0, 100), 2)
    else:
        row["value"] = rng.randint(0, 500)
    if code == "1.SUM" and rng.random() < 0.5:
        row["disaggregation"] = {"sex": rng.choice(["female", "male"]), "age_band": "18-24"}
    if code == "5.CUM" and rng.random() < 0.5:
        row["disaggregation"] = {"sex": rng.choice(["female", "male"])}
    if rng.random() < 0.1:
        row["comment"] = "from the field office"
    return row


def _set(**fields: Any) -> Callable[[Row], Any]:
    return lambda row: row | fields


def _without(field: str) -> Callable[[Row], Any]:
    return lambda row: {k: v for k, v in row.items() if k != field}


# Every way a row can be wrong, with the code it is reported with.
CORRUPTIONS: list[tuple[Callable[[Row], Any], str]] = [
    (_set(external_id="iom-0"), "duplicate_external_id"),
    (_set(project="NOPE"), "unknown_project"),
    (_set(project="GLO.ACT"), "project_not_implemented_by_organisation"),
    (_set(indicator="NOPE"), "unknown_indicator"),
    (_set(indicator="EV.MEET", value=1), "indicator_not_reported"),
    (_set(indicator="3.OTHER", value=1), "indicator_goal_not_in_project"),
    (_set(period="2020-Q5"), "invalid_period"),
    (_set(period="2020/01"), "invalid_period"),
    (_set(period="2031"), "period_outside_project"),
    (_set(period="2018-12"), "period_outside_project"),
    (_set(country="DE"), "country_not_in_project"),
    (_set(country="XX"), "country_not_in_project"),
    (
        _set(indicator="1.SUM", value=5, disaggregation={"migration_status": "refugee"}),
        "disaggregation_not_declared",
    ),
    (_set(indicator="1.SUM", value=5, disaggregation={"sex": "woman"}), "enum"),
    (_set(indicator="1.SUM", value=5, disaggregation={"religion": "x"}), "extra_forbidden"),
    (_set(indicator="1.MEAN", value=120.5), "value_out_of_range"),
    (_set(indicator="2.MAX", value=-5), "value_out_of_range"),
    (_set(indicator="1.QUAL", value=3), "value_not_text"),
    (_set(indicator="2.MAX", value="12"), "value_not_numeric"),
    (_set(indicator="2.MAX", value=True), "value_not_numeric"),
    (_set(indicator="2.MAX", value=None), "value_not_numeric"),
    (_without("period"), "missing"),
    (_without("value"), "missing"),
    (_set(colour="blue"), "extra_forbidden"),
    (lambda row: "not an object", "model_type"),
]


def dataset(size: int, seed: int = 5) -> tuple[list[Any], list[tuple[int, str]]]:
    """``size`` rows, every 97th corrupted (cycling through the corruptions)."""
    rng = random.Random(seed)
    rows: list[Any] = []
    expected: list[tuple[int, str]] = []
    for index in range(size):
        row = valid_row(rng, index)
        if index % 97 == 50:
            corrupt, code = CORRUPTIONS[(index // 97) % len(CORRUPTIONS)]
            row.pop("disaggregation", None)  # only the corruption's own
            rows.append(corrupt(row))
            expected.append((index, code))
        else:
            rows.append(row)
    return rows, expected


async def test_ten_thousand_rows_with_invalid_ones_of_every_kind(api: Api) -> None:
    indicators = await seed_framework(api)
    rows, expected = dataset(10_000)
    assert {code for _, code in expected} == {code for _, code in CORRUPTIONS}
    valid = 10_000 - len(expected)

    response = await api.import_rows(rows)
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert (outcome["created"], outcome["updated"], outcome["unchanged"]) == (valid, 0, 0)
    assert outcome["rejected"] == len(expected)
    assert [(e["index"], e["code"]) for e in outcome["errors"]] == expected
    for error in outcome["errors"]:
        row = rows[error["index"]]
        assert error["external_id"] == (row.get("external_id") if isinstance(row, dict) else None)
        assert error["loc"][:2] == ["results", error["index"]]
        assert error["message"]
    by_code = {e["code"]: e for e in outcome["errors"]}
    assert by_code["invalid_period"]["loc"] == [
        "results",
        by_code["invalid_period"]["index"],
        "period",
    ]
    assert by_code["disaggregation_not_declared"]["loc"][2:] == [
        "disaggregation",
        "migration_status",
    ]

    stored = await api.results()
    assert len(stored) == valid
    assert {r["organisation"] for r in stored} == {"IOM"}
    first_valid = next(r for r in rows if isinstance(r, dict) and r.get("external_id") == "iom-1")
    assert next(r for r in stored if r["external_id"] == "iom-1")["value"] == first_valid["value"]

    again = (await api.import_rows(rows)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, valid)
    assert again["errors"] == outcome["errors"]

    # Change 30 values, move 10 rows to other periods, add 5 rows: first as a dry run.
    changed = [dict(r) if isinstance(r, dict) else r for r in rows]
    numeric = [
        i
        for i, r in enumerate(changed)
        if i % 97 != 50 and r["indicator"] not in ("1.QUAL", "1.MEAN", "5.CUMMEAN")
    ]
    for i in numeric[:30]:
        changed[i]["value"] = changed[i]["value"] + 1000
    for i in numeric[30:40]:
        changed[i]["period"] = "2022-Q3" if changed[i]["period"] != "2022-Q3" else "2022"
    extra = [valid_row(random.Random(i), 20_000 + i) for i in range(5)]
    before = await api.rollups()
    dry = (await api.import_rows(changed + extra, dry_run="true")).json()
    assert dry["import_id"] is None
    assert dry["dry_run"] is True
    assert (dry["created"], dry["updated"], dry["unchanged"]) == (5, 40, valid - 40)
    assert await api.results() == stored
    assert await api.rollups() == before

    real = (await api.import_rows(changed + extra)).json()
    assert {k: real[k] for k in ("created", "updated", "unchanged", "rejected")} == {
        "created": 5,
        "updated": 40,
        "unchanged": valid - 40,
        "rejected": len(expected),
    }
    stored = await api.results()
    assert len(stored) == valid + 5
    assert next(r for r in stored if r["external_id"] == f"iom-{numeric[0]}")["value"] == (
        rows[numeric[0]]["value"] + 1000
    )

    # The rollups are the rules applied to what is stored (independently computed here).
    for by in (["goal", "country", "year"], ["goal"], ["year"], ["country", "organisation"], []):
        answer = await api.rollups(by=",".join(by))
        assert answered_rollups(answer, by) == pytest.approx(
            expected_rollups(indicators, stored, by)
        )
    for rollup in await api.rollups(by="goal,year"):
        spec = indicators[rollup["indicator"]]
        target = next((t["value"] for t in spec["targets"] if t["year"] == rollup["year"]), None)
        assert rollup["target"] == target
        if target is not None:
            baseline = spec["baseline"]["value"] if spec["baseline"] else 0
            progress = (rollup["value"] - baseline) / (target - baseline)
            assert rollup["progress"] == pytest.approx(progress)


async def test_the_import_events_carry_the_counts_and_the_changed_groups(api: Api) -> None:
    await seed_framework(api)
    rows = [
        {
            "external_id": "a",
            "project": "IMM-SR",
            "indicator": "2.MAX",
            "period": "2020",
            "value": 3,
            "country": "AF",
        },
        {
            "external_id": "b",
            "project": "IMM-SR",
            "indicator": "2.MAX",
            "period": "2021",
            "value": 4,
        },
        {"external_id": "c", "project": "NOPE", "indicator": "2.MAX", "period": "2021", "value": 4},
    ]
    await api.import_rows(rows)
    await api.import_rows(rows)  # unchanged: counted, no rollup change
    events = await api.settle()
    imported = [e for e in events if e.type == "indicators.results.imported.v1"]
    assert [(e.data["created"], e.data["unchanged"], e.data["rejected"]) for e in imported] == [
        (2, 0, 1),
        (0, 2, 1),
    ]
    assert imported[0].subject == imported[0].data["import_id"]
    updated = [e for e in events if e.type == "indicators.rollup.updated.v1"]
    assert [(e.subject, e.data["groups"]) for e in updated] == [
        (
            "2.MAX",
            [
                {"goal": 2, "country": "AF", "year": 2020},
                {"goal": 2, "country": None, "year": 2021},
            ],
        )
    ]


async def test_an_idempotency_key_replays_the_first_answer(api: Api) -> None:
    await seed_framework(api)
    rows = [
        {
            "external_id": "k1",
            "project": "IMM-SR",
            "indicator": "2.MAX",
            "period": "2020",
            "value": 3,
        }
    ]
    body = orjson.dumps({"organisation": "IOM", "results": rows})
    headers = api.SECRETARIAT | {"Idempotency-Key": "push-1", "content-type": "application/json"}
    first = await api.client.post("/v1/results/import", content=body, headers=headers)
    assert first.json()["created"] == 1
    # Meanwhile the row changes; the replay still answers what the first request answered.
    await api.import_rows([rows[0] | {"value": 9}])
    replay = await api.client.post("/v1/results/import", content=body, headers=headers)
    assert replay.status_code == 200
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert (await api.results())[0]["value"] == 9

    other = orjson.dumps({"organisation": "IOM", "results": [rows[0] | {"value": 4}]})
    conflict = await api.client.post("/v1/results/import", content=other, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_key_reused"
    # Keys are per organisation.
    icmpd = orjson.dumps({"organisation": "ICMPD", "results": rows})
    separate = await api.client.post("/v1/results/import", content=icmpd, headers=headers)
    assert separate.json()["created"] == 1
    assert len(await api.results()) == 2


async def test_a_partner_writes_only_for_projects_its_organisation_implements(api: Api) -> None:
    await seed_framework(api)
    own = {
        "external_id": "p1",
        "project": "IMM-SR",
        "indicator": "2.MAX",
        "period": "2020",
        "value": 1,
    }
    foreign = own | {"external_id": "p2", "project": "GLO.ACT", "indicator": "5.CUM"}
    refused = await api.client.post(
        "/v1/results/import", json={"results": [own, foreign]}, headers=IOM
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "project_not_implemented_by_organisation"
    assert await api.results() == []
    assert await api.rollups() == []

    accepted = await api.client.post("/v1/results/import", json={"results": [own]}, headers=IOM)
    assert accepted.json()["created"] == 1
    assert (await api.results())[0]["organisation"] == "IOM"
    other_org = await api.client.post(
        "/v1/results/import", json={"organisation": "UNODC", "results": [own]}, headers=IOM
    )
    assert other_org.status_code == 403
    for role in (Role.MEMBER, Role.VIEWER):
        denied = await api.client.post(
            "/v1/results/import",
            json={"organisation": "IOM", "results": [own]},
            headers=identity_headers(role, country="BG"),
        )
        assert denied.status_code == 403
    assert len(await api.results()) == 1


async def test_the_secretariat_names_the_reporting_organisation(api: Api) -> None:
    await seed_framework(api)
    row = {
        "external_id": "s1",
        "project": "GLO.ACT",
        "indicator": "5.CUM",
        "period": "2020",
        "value": 7,
    }
    unnamed = await api.client.post(
        "/v1/results/import", json={"results": [row]}, headers=api.SECRETARIAT
    )
    assert unnamed.status_code == 422
    assert unnamed.json()["code"] == "organisation_required"
    by_query = await api.client.post(
        "/v1/results/import",
        json={"results": [row]},
        params={"organisation": "unodc"},
        headers=api.SECRETARIAT,
    )
    assert by_query.json()["created"] == 1
    clash = await api.client.post(
        "/v1/results/import",
        json={"organisation": "IOM", "results": [row]},
        params={"organisation": "UNODC"},
        headers=api.SECRETARIAT,
    )
    assert clash.json()["code"] == "organisation_conflict"


async def test_rows_can_be_sent_as_csv(api: Api) -> None:
    await seed_framework(api)
    csv = (
        "external_id,project,indicator,period,country,disaggregation.sex,disaggregation.age_band,value,comment\n"
        'c1,IMM-SR,1.SUM,2020-Q1,AF,female,18-24,12,"a comment, with a comma"\n'
        "c2,IMM-SR,1.QUAL,2020,,,,Strategy adopted,\n"
        "c3,IMM-SR,1.MEAN,2020-07,PK,,,55.5,\n"
        "c4,IMM-SR,1.MEAN,2020-07,PK,,,many,\n"
        "c5,IMM-SR,1.SUM,2020,AF\n"
        "\n"
    )
    headers = IOM | {"content-type": "text/csv; charset=utf-8"}
    response = await api.client.post("/v1/results/import", content=csv.encode(), headers=headers)
    outcome = response.json()
    assert (outcome["created"], outcome["rejected"]) == (3, 2), outcome
    assert [(e["index"], e["external_id"], e["code"]) for e in outcome["errors"]] == [
        (3, "c4", "value_not_numeric"),
        (4, "c5", "csv_cell_count"),
    ]
    stored = {r["external_id"]: r for r in await api.results()}
    assert stored["c1"]["disaggregation"] == {"sex": "female", "age_band": "18-24"}
    assert (stored["c1"]["value"], stored["c1"]["comment"]) == (12, "a comment, with a comma")
    assert (stored["c2"]["value"], stored["c2"]["country"]) == ("Strategy adopted", None)
    assert stored["c3"]["value"] == 55.5
    # The same rows as JSON are the same results.
    same = {
        k: v
        for k, v in stored["c3"].items()
        if k in ("external_id", "project", "indicator", "period", "country", "value")
    }
    again = await api.client.post("/v1/results/import", json={"results": [same]}, headers=IOM)
    assert again.json()["unchanged"] == 1


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 422, "malformed_body"),
        (b'{"results": {}}', "application/json", 422, "validation_failed"),
        (b'{"results": [], "extra": 1}', "application/json", 422, "validation_failed"),
        (b"[]", "application/json", 422, "validation_failed"),
        (b"external_id,colour\nx,blue\n", "text/csv", 422, "validation_failed"),
        (b"\xff\xfe", "text/csv", 422, "malformed_csv"),
        (b"<results/>", "application/xml", 415, "unsupported_media_type"),
    ],
)
async def test_unreadable_bodies_are_refused_whole(
    api: Api, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = await api.client.post(
        "/v1/results/import", content=content, headers=IOM | {"content-type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_an_empty_push_and_too_many_rows(api: Api) -> None:
    empty = await api.client.post("/v1/results/import", json={"results": []}, headers=IOM)
    assert empty.json() | {"import_id": None} == {
        "import_id": None,
        "dry_run": False,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "withdrawn": 0,
        "errors": [],
    }
    huge = await api.client.post("/v1/results/import", json={"results": [{}] * 20_001}, headers=IOM)
    assert huge.status_code == 413
    assert huge.json()["code"] == "too_many_rows"


async def test_results_are_filtered_and_paged(api: Api) -> None:
    await seed_framework(api)
    rows, _ = dataset(300, seed=11)
    await api.import_rows(rows)
    every = await api.results()
    for filters in (
        {"indicator": "2.MAX"},
        {"country": "AF"},
        {"period": "2020-Q1"},
        {"year": 2021},
    ):
        subset = await api.results(**filters)
        key, value = next(iter(filters.items()))
        assert subset == [r for r in every if r[key] == value]
    assert await api.results(project="GLO.ACT") == []
    assert await api.results(organisation="IOM") == every
    assert [r["external_id"] for r in every] == sorted(r["external_id"] for r in every)
    bad = await api.client.get("/v1/results", params={"cursor": "!!"}, headers=api.VIEWER)
    assert bad.status_code == 422
