"""indicators-api's own GET /metrics: an import counts its rows, requests count by route."""

from prometheus_client.parser import text_string_to_metric_families

from bp_common.security import Role
from bp_common.testing import identity_headers

from .conftest import Api, seed_framework

IOM = identity_headers(Role.PARTNER, organisation="IOM")


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(api: Api) -> Samples:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_an_import_counts_its_rows_and_its_request_by_route_template(api: Api) -> None:
    await seed_framework(api)
    before = await scrape(api)
    csv = (
        "external_id,project,indicator,period,country,value\n"
        "m1,IMM-SR,1.SUM,2020-Q1,AF,12\n"
        "m2,IMM-SR,1.SUM,2020-Q2,AF,3\n"
        "m3,IMM-SR,1.SUM,2020-Q3,AF,many\n"
    )
    headers = IOM | {"content-type": "text/csv; charset=utf-8"}
    response = await api.client.post("/v1/results/import", content=csv.encode(), headers=headers)
    assert (response.json()["created"], response.json()["rejected"]) == (2, 1), response.text
    dry = await api.client.post(
        "/v1/results/import", content=csv.encode(), headers=headers, params={"dry_run": "true"}
    )
    assert dry.status_code == 200, dry.text
    after = await scrape(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    rows = "bp_result_rows_total"
    # A dry run writes nothing, so counts nothing.
    assert moved(rows, service="indicators", outcome="created") == 2
    assert moved(rows, service="indicators", outcome="rejected") == 1
    assert moved(rows, service="indicators", outcome="updated") == 0
    route = {"service": "indicators", "method": "POST", "route": "/v1/results/import"}
    assert moved("bp_http_requests_total", **route, status="200") == 2
    assert moved("bp_http_request_duration_seconds_count", **route) == 2
    # Refreshed at the scrape: the import's event waits in the outbox until the relay runs.
    assert ("bp_outbox_pending_rows", frozenset({("service", "indicators")})) in after
    assert ("bp_db_pool_connections_in_use", frozenset({("service", "indicators")})) in after


async def test_a_path_with_an_id_counts_under_its_template(api: Api) -> None:
    before = await scrape(api)
    missing = await api.client.get("/v1/projects/NOPE", headers=Api.VIEWER)
    assert missing.status_code == 404
    after = await scrape(api)
    labels = {"service": "indicators", "method": "GET", "status": "404"}
    templated = [
        dict(labels_)
        for (name, labels_), v in after.items()
        if name == "bp_http_requests_total"
        and dict(labels_).items() >= labels.items()
        and v > value(before, name, **dict(labels_))
    ]
    assert [entry["route"] for entry in templated] == ["/v1/projects/{code}"]
