"""IATI 2.03 import: schema first (a failing document is refused whole), then the results rules
and the partner's mapping, then the results import."""

from __future__ import annotations

from typing import Any

import httpx

from bp_common.security import Role
from bp_common.testing import identity_headers

from .conftest import SECRETARIAT, Api, seed_framework
from .iati_documents import (
    ACTIVITY_ID,
    activity,
    actual,
    document,
    indicator,
    period,
    reference,
    result,
    schema_errors,
)

IOM = identity_headers(Role.PARTNER, organisation="IOM")
XML = {"content-type": "application/xml"}
MAPPING = {
    "indicators": {"1:IOM-3.1": "1.SUM", "Policies adopted": "1.QUAL"},
    "dimensions": {"gender": "sex", "gender:F": "sex:female", "gender:M": "sex:male"},
}
YEAR_2020 = ("2020-01-01", "2020-12-31")


async def _setup(api: Api) -> None:
    await seed_framework(api)
    answer = await api.client.put("/v1/iati/mappings/IOM", json=MAPPING, headers=IOM)
    assert answer.status_code == 200, answer.text


async def _import(
    api: Api, body: bytes, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    return await api.client.post(
        "/v1/iati/import",
        content=body,
        params={k: v for k, v in ({"organisation": "IOM"} | params).items() if v is not None},
        headers=(headers or SECRETARIAT) | XML,
    )


def _partner_document() -> bytes:
    return document(
        activity(
            result(
                indicator(
                    period(
                        *YEAR_2020,
                        actual("120", ("gender", "F"), ("country", "AF")),
                        actual("80", ("gender", "M"), ("country", "AF")),
                    ),
                    period("2021-04-01", "2021-06-30", actual("30", comment="field office")),
                    reference=reference("1", "IOM-3.1"),
                ),
                indicator(
                    period(*YEAR_2020, actual(None, comment="Strategy adopted")),
                    measure="5",
                    title="Policies adopted",
                ),
            )
        )
    )


async def test_a_partner_document_is_mapped_and_imported_like_any_results(api: Api) -> None:
    await _setup(api)
    body = _partner_document()
    assert schema_errors(body) == []

    dry = await _import(api, body, dry_run="true")
    assert dry.status_code == 200, dry.text
    assert (dry.json()["created"], dry.json()["rejected"]) == (4, 0)
    assert await api.results() == []

    first = await _import(api, body)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["errors"]) == (4, [])
    stored = {
        (r["indicator"], r["period"], r["country"], str(r["disaggregation"])): r
        for r in await api.results()
    }
    assert stored[("1.SUM", "2020", "AF", "{'sex': 'female'}")]["value"] == 120
    assert stored[("1.SUM", "2020", "AF", "{'sex': 'male'}")]["value"] == 80
    assert stored[("1.SUM", "2021-Q2", None, "None")]["comment"] == "field office"
    assert stored[("1.QUAL", "2020", None, "None")]["value"] == "Strategy adopted"
    assert {r["organisation"] for r in stored.values()} == {"IOM"}
    assert await api.rollups(indicator="1.SUM", by="year") != []

    again = await _import(api, body)
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (
        0,
        0,
        4,
    )
    assert sorted(map(str, await api.results())) == sorted(map(str, stored.values()))


async def test_a_project_is_found_by_its_iati_identifier(api: Api) -> None:
    await _setup(api)
    await api.project(
        code="OTHER", iati_identifier="XM-DAC-47066-P42", implementing_organisations=["IOM"]
    )
    body = document(
        activity(
            result(indicator(period(*YEAR_2020, actual("5")), reference=reference("1", "IOM-3.1"))),
            identifier="XM-DAC-47066-P42",
        )
    )
    answer = await _import(api, body, headers=IOM, organisation=None)
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 1, answer.text
    assert [r["project"] for r in await api.results()] == ["OTHER"]


async def test_the_idempotency_key_replays_the_first_answer(api: Api) -> None:
    await _setup(api)
    key = SECRETARIAT | {"Idempotency-Key": "iati-1"}
    first = await _import(api, _partner_document(), headers=key)
    replay = await _import(api, _partner_document(), headers=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    other = await _import(api, document(activity()), headers=key)
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


async def _refused(api: Api, body: bytes, status: int, code: str, **params: Any) -> dict[str, Any]:
    answer = await _import(api, body, **params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
    assert await api.results() == []
    return dict(answer.json())


async def test_documents_that_are_not_iati_203_are_refused_whole(api: Api) -> None:
    await _setup(api)
    await _refused(api, b"this is not XML", 422, "malformed_xml")
    await _refused(api, b"<iati-activities version='2.03'><iati-activity>", 422, "malformed_xml")
    await _refused(api, b"<iati-organisations version='2.03'/>", 422, "not_iati_activities")
    await _refused(api, document(activity(), version="1.05"), 422, "unsupported_iati_version")
    wrong_media = await api.client.post(
        "/v1/iati/import",
        content=_partner_document(),
        params={"organisation": "IOM"},
        headers=SECRETARIAT | {"content-type": "application/json"},
    )
    assert (wrong_media.status_code, wrong_media.json()["code"]) == (415, "unsupported_media_type")


async def test_a_document_failing_the_schema_is_refused_whole_with_every_error(api: Api) -> None:
    await _setup(api)
    valid = activity(
        result(indicator(period(*YEAR_2020, actual("5")), reference=reference("1", "IOM-3.1")))
    )
    broken_measure = activity(
        result(
            indicator(
                period(*YEAR_2020, actual("5")), measure="", reference=reference("1", "IOM-3.1")
            )
        )
    ).replace(' measure=""', "")
    no_identifier = activity(result(indicator(period(*YEAR_2020, actual("7"))))).replace(
        f"<iati-identifier>{ACTIVITY_ID}</iati-identifier>", ""
    )
    body = document(valid, broken_measure, no_identifier)
    expected = schema_errors(body)
    assert len(expected) == 2
    problem = await _refused(api, body, 422, "iati_schema_invalid")
    errors = problem["errors"]
    assert len(errors) == len(expected)
    assert errors[0]["loc"] == [ACTIVITY_ID, "/iati-activities/iati-activity[2]/result/indicator"]
    assert errors[1]["loc"][1] == "/iati-activities/iati-activity[3]/reporting-org"
    assert all(e["code"].startswith("schema.") for e in errors)


async def test_elements_breaking_the_results_rules_or_unmapped_are_reported_not_guessed(
    api: Api,
) -> None:
    await _setup(api)
    mapped = reference("1", "IOM-3.1")
    body = document(
        activity(
            result(
                indicator(period(*YEAR_2020, actual("1")), reference=mapped),
                indicator(period("2020-07-01", "2021-06-30", actual("2")), reference=mapped),
                indicator(period("2020-12-31", "2020-01-01", actual("3")), reference=mapped),
                indicator(period(*YEAR_2020, actual("many")), reference=mapped),
                indicator(period(*YEAR_2020, actual("4")), measure="5", title="Policies adopted"),
                indicator(period(*YEAR_2020, actual("5")), reference=reference("1", "UNKNOWN-9")),
                indicator(period(*YEAR_2020, actual("6", ("colour", "blue"))), reference=mapped),
            ),
            result(
                indicator(period(*YEAR_2020, actual("7")), reference=mapped),
                result_reference=reference("1", "X"),
            ),
        ),
        activity(
            result(indicator(period(*YEAR_2020, actual("8")), reference=mapped)),
            identifier="XM-DAC-99999-IMM-SR",
        ),
        activity(
            result(indicator(period(*YEAR_2020, actual("9")), reference=mapped)),
            identifier="XM-DAC-47066-NOPE",
        ),
    )
    assert schema_errors(body) == []
    answer = await _import(api, body)
    assert answer.status_code == 200, answer.text
    found = [(e["activity"], e["xpath"], e["code"]) for e in answer.json()["errors"]]
    a1 = "/iati-activities/iati-activity[1]/result[1]"
    assert found == [
        (ACTIVITY_ID, f"{a1}/indicator[2]/period[1]", "period_not_platform_period"),
        (ACTIVITY_ID, f"{a1}/indicator[3]/period[1]", "period_start_after_end"),
        (ACTIVITY_ID, f"{a1}/indicator[4]/period[1]/actual[1]", "value_not_numeric"),
        (ACTIVITY_ID, f"{a1}/indicator[5]/period[1]/actual[1]", "value_on_qualitative"),
        (ACTIVITY_ID, f"{a1}/indicator[6]", "unmapped_indicator"),
        (ACTIVITY_ID, f"{a1}/indicator[7]/period[1]/actual[1]/dimension[1]", "unmapped_dimension"),
        (
            ACTIVITY_ID,
            "/iati-activities/iati-activity[1]/result[2]/indicator[1]",
            "reference_at_result_and_indicator",
        ),
        (
            "XM-DAC-99999-IMM-SR",
            "/iati-activities/iati-activity[2]/iati-identifier",
            "identifier_not_prefixed",
        ),
        (
            "XM-DAC-47066-NOPE",
            "/iati-activities/iati-activity[3]/iati-identifier",
            "unknown_project",
        ),
    ]
    assert (answer.json()["created"], answer.json()["rejected"]) == (1, len(found))
    assert [r["value"] for r in await api.results()] == [1]


async def test_rows_refused_by_the_results_import_point_at_their_element(api: Api) -> None:
    await _setup(api)
    body = document(
        activity(
            result(
                indicator(
                    period("2030-01-01", "2030-12-31", actual("1")),
                    reference=reference("1", "IOM-3.1"),
                )
            )
        )
    )
    answer = await _import(api, body)
    assert [(e["xpath"], e["code"]) for e in answer.json()["errors"]] == [
        (
            "/iati-activities/iati-activity[1]/result[1]/indicator[1]/period[1]/actual[1]",
            "period_outside_project",
        )
    ]


async def test_a_body_over_the_limit_is_refused(api: Api) -> None:
    await _setup(api)
    runtime = api.client._transport.app.state.runtime  # type: ignore[attr-defined]
    runtime.settings.iati_max_body_bytes = 1000
    body = document(*[activity()] * 10)
    assert len(body) > 1000
    await _refused(api, body, 413, "body_too_large")


async def test_mappings_belong_to_their_organisation(api: Api) -> None:
    await _setup(api)
    mine = await api.client.get("/v1/iati/mappings/IOM", headers=IOM)
    assert mine.json() == {"organisation": "IOM"} | MAPPING
    other = await api.client.get("/v1/iati/mappings/UNODC", headers=IOM)
    assert other.status_code == 403
    missing = await api.client.get("/v1/iati/mappings/UNODC", headers=SECRETARIAT)
    assert (missing.status_code, missing.json()["code"]) == (404, "iati_mapping_not_found")


async def test_two_actuals_of_one_figure_are_one_row_and_the_second_is_reported(api: Api) -> None:
    await _setup(api)
    twice = period(*YEAR_2020, actual("1", ("country", "AF")), actual("2", ("country", "AF")))
    body = document(activity(result(indicator(twice, reference=reference("1", "IOM-3.1")))))
    answer = await _import(api, body)
    assert [(e["xpath"], e["code"]) for e in answer.json()["errors"]] == [
        (
            "/iati-activities/iati-activity[1]/result[1]/indicator[1]/period[1]/actual[2]",
            "duplicate_external_id",
        )
    ]
    assert [r["value"] for r in await api.results()] == [1]
