"""Rollups by hand-worked examples of each rule, kept up to date through updates."""

from typing import Any

import pytest

from bp_common.security import Role
from bp_common.testing import identity_headers

from .conftest import Api, answered_rollups, expected_rollups, seed_framework

ICMPD = identity_headers(Role.PARTNER, organisation="ICMPD")


def row(external_id: str, indicator: str, period: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "project": "IMM-SR",
        "indicator": indicator,
        "period": period,
        "value": value,
    } | extra


async def values(api: Api, by: str, **filters: Any) -> dict[tuple[Any, ...], float]:
    answer = await api.rollups(by=by, **filters)
    return answered_rollups(answer, [d for d in by.split(",") if d])


async def test_sum_mean_and_progress_towards_the_year_target(api: Api) -> None:
    await seed_framework(api)
    await api.import_rows(
        [
            row("s1", "1.SUM", "2020-Q1", 1000, country="AF"),
            row("s2", "1.SUM", "2020-Q3", 2000, country="PK"),
            row("m1", "1.MEAN", "2020", 50, country="AF"),
            row("m2", "1.MEAN", "2020-Q1", 70, country="AF"),
            row("m3", "1.MEAN", "2020", 90, country="PK"),
        ]
    )
    by_year = {r["indicator"]: r for r in await api.rollups(by="goal,year")}
    assert by_year["1.SUM"] | {"progress": pytest.approx(by_year["1.SUM"]["progress"])} == {
        "indicator": "1.SUM",
        "goal": 1,
        "country": None,
        "year": 2020,
        "organisation": None,
        "project": None,
        "value": 3000,
        "target": 20000,
        "progress": pytest.approx((3000 - 100) / (20000 - 100)),
    }
    assert by_year["1.MEAN"]["value"] == pytest.approx(70)  # the mean of the three values
    assert by_year["1.MEAN"]["progress"] == pytest.approx(70 / 60)
    assert await values(api, "country", indicator="1.MEAN") == {
        ("1.MEAN", "AF"): 60,
        ("1.MEAN", "PK"): 90,
    }
    # No year in the group: no target.
    overall = await api.rollups(by="", indicator="1.SUM")
    assert [(r["value"], r["target"], r["progress"]) for r in overall] == [(3000, None, None)]
    # A year filter fixes the year, so the target applies.
    assert (await api.rollups(by="", indicator="1.SUM", year=2020))[0]["target"] == 20000


async def test_max_is_repaired_when_the_largest_value_goes_down(api: Api) -> None:
    await seed_framework(api)
    await api.import_rows(
        [
            row("x1", "2.MAX", "2020-Q1", 10, country="AF"),
            row("x2", "2.MAX", "2020-Q2", 30, country="AF"),
            row("x3", "2.MAX", "2020", 20, country="PK"),
        ]
    )
    assert await values(api, "country,year", indicator="2.MAX") == {
        ("2.MAX", "AF", 2020): 30,
        ("2.MAX", "PK", 2020): 20,
    }
    assert await values(api, "year", indicator="2.MAX") == {("2.MAX", 2020): 30}
    await api.import_rows([row("x2", "2.MAX", "2020-Q2", 5, country="AF")])
    assert await values(api, "country,year", indicator="2.MAX") == {
        ("2.MAX", "AF", 2020): 10,
        ("2.MAX", "PK", 2020): 20,
    }
    # A row that moves to another country leaves its group.
    await api.import_rows([row("x3", "2.MAX", "2020", 20, country="IQ")])
    assert await values(api, "country,year", indicator="2.MAX") == {
        ("2.MAX", "AF", 2020): 10,
        ("2.MAX", "IQ", 2020): 20,
    }


async def test_latest_takes_the_latest_period_and_progress_towards_a_lower_target(
    api: Api,
) -> None:
    await seed_framework(api)
    await api.import_rows(
        [
            row("l1", "2.LATEST", "2021-03", 300, country="AF"),
            row("l2", "2.LATEST", "2021-Q4", 240, country="AF"),
            row("l3", "2.LATEST", "2021-11", 280, country="PK"),
        ]
    )
    assert await values(api, "country,year", indicator="2.LATEST") == {
        ("2.LATEST", "AF", 2021): 240,
        ("2.LATEST", "PK", 2021): 280,
    }
    [year] = await api.rollups(by="year", indicator="2.LATEST")
    assert year["value"] == 240  # AF's Q4 ends after PK's November
    assert year["progress"] == pytest.approx((240 - 500) / (100 - 500))  # baseline 500, target 100
    # The latest row corrected: its group is recomputed.
    await api.import_rows([row("l2", "2.LATEST", "2021-Q2", 240, country="AF")])
    assert await values(api, "country,year", indicator="2.LATEST") == {
        ("2.LATEST", "AF", 2021): 240,  # now Q2 (ends June) is after March
        ("2.LATEST", "PK", 2021): 280,
    }
    assert await values(api, "year", indicator="2.LATEST") == {("2.LATEST", 2021): 280}


async def test_cumulative_values_are_taken_at_their_latest_period_never_summed(api: Api) -> None:
    await seed_framework(api)
    female, male = {"disaggregation": {"sex": "female"}}, {"disaggregation": {"sex": "male"}}
    await api.import_rows(
        [
            row("c1", "5.CUM", "2020-Q1", 10, country="AF", **female),
            row("c2", "5.CUM", "2020-Q1", 12, country="AF", **male),
            row("c3", "5.CUM", "2020-Q3", 25, country="AF", **female),
            row("c4", "5.CUM", "2020-Q3", 20, country="AF", **male),
            row("c5", "5.CUM", "2020-Q2", 7, country="PK"),
            row("c6", "5.CUM", "2021-Q1", 60, country="AF"),
            row("c7", "5.CUMMAX", "2020-Q1", 40, country="AF"),
            row("c8", "5.CUMMAX", "2020-Q2", 45, country="AF"),
            row("c9", "5.CUMMAX", "2020-Q4", 30, country="PK"),
        ]
    )
    await api.client.post(
        "/v1/results/import",
        json={"results": [row("i1", "5.CUM", "2020-Q4", 100, country="AF")]},
        headers=ICMPD,
    )
    assert await values(api, "country,year", indicator="5.CUM") == {
        ("5.CUM", "AF", 2020): 45 + 100,  # IOM's Q3 (both sexes) and ICMPD's Q4: two series
        ("5.CUM", "PK", 2020): 7,
        ("5.CUM", "AF", 2021): 60,
    }
    assert await values(api, "year", indicator="5.CUM") == {
        ("5.CUM", 2020): 152,
        ("5.CUM", 2021): 60,
    }
    # Over all years each series counts once, at its latest period.
    assert await values(api, "goal", indicator="5.CUM") == {("5.CUM", 5): 60 + 7 + 100}
    assert await values(api, "organisation", indicator="5.CUM") == {
        ("5.CUM", "IOM"): 67,
        ("5.CUM", "ICMPD"): 100,
    }
    assert await values(api, "year", indicator="5.CUMMAX") == {("5.CUMMAX", 2020): 45}


async def test_rollups_filter_and_refuse_unknown_groupings(api: Api) -> None:
    indicators = await seed_framework(api)
    await api.import_rows(
        [
            row("f1", "2.MAX", "2020", 3, country="AF"),
            row("f2", "1.SUM", "2021", 4, country="PK"),
        ]
    )
    assert {r["indicator"] for r in await api.rollups(goal=2)} == {"2.MAX"}
    assert {r["indicator"] for r in await api.rollups(country="pk")} == {"1.SUM"}
    assert {r["indicator"] for r in await api.rollups(year=2020)} == {"2.MAX"}
    assert await api.rollups(organisation="UNODC") == []
    assert len(await api.rollups(project="IMM-SR", by="project")) == 2
    stored = await api.results()
    by = ["goal", "country", "year", "organisation", "project"]
    assert await values(api, ",".join(by)) == expected_rollups(indicators, stored, by)
    refused = await api.client.get("/v1/rollups", params={"by": "goal,colour"}, headers=api.VIEWER)
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_grouping"


async def test_progress_when_the_target_equals_the_baseline(api: Api) -> None:
    await api.project()
    await api.indicator(
        "Z", baseline={"year": 2019, "value": 10}, targets=[{"year": 2020, "value": 10}]
    )
    await api.import_rows([row("z1", "Z", "2020", 12)])
    assert (await api.rollups(by="year"))[0]["progress"] == 1.0
    await api.import_rows([row("z1", "Z", "2020", 8)])
    assert (await api.rollups(by="year"))[0]["progress"] == 0.0
