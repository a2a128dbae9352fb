"""docker-compose.yml cannot run on machines without a Docker engine; keep it honest here."""

import json
from pathlib import Path

import yaml

from gateway.oidc import OidcIssuer

REPO = Path(__file__).resolve().parents[1]
SERVICES = {
    "postgres",
    "kafka",
    "keycloak",
    "migrate",
    "meetings-api",
    "plan-api",
    "indicators-api",
    "gateway",
}


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_it_names_every_process_of_the_topology() -> None:
    assert set(compose()["services"]) == SERVICES


def test_every_build_points_at_an_existing_dockerfile() -> None:
    for name, service in compose()["services"].items():
        if "build" in service:
            assert (
                REPO / service["build"]["context"] / service["build"]["dockerfile"]
            ).is_file(), name


def test_services_wait_for_migrations_and_the_broker_and_have_healthchecks() -> None:
    services = compose()["services"]
    for name in ("meetings-api", "plan-api", "indicators-api"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["kafka"]["condition"] == "service_healthy"
        assert "healthcheck" in services[name]
    gateway_depends = services["gateway"]["depends_on"]
    assert gateway_depends.pop("migrate")["condition"] == "service_completed_successfully"
    assert all(c["condition"] == "service_healthy" for c in gateway_depends.values())


def test_each_service_gets_its_own_database_and_the_kafka_bus() -> None:
    services = compose()["services"]
    urls = {
        name: services[name]["environment"][f"{prefix}_DATABASE_URL"]
        for name, prefix in (
            ("meetings-api", "MEETINGS"),
            ("plan-api", "PLAN"),
            ("indicators-api", "INDICATORS"),
            ("gateway", "GATEWAY"),
        )
    }
    assert len({url.rsplit("/", 1)[1] for url in urls.values()}) == 4
    for name, prefix in (("meetings-api", "MEETINGS"), ("plan-api", "PLAN")):
        assert services[name]["environment"][f"{prefix}_BUS"] == "kafka"


def test_the_gateway_trusts_the_keycloak_realm_the_browser_signs_in_with() -> None:
    services = compose()["services"]
    keycloak = services["keycloak"]
    for volume in keycloak["volumes"]:
        assert (REPO / volume.split(":")[0]).is_file(), volume
    hostname = next(arg for arg in keycloak["command"] if arg.startswith("--hostname="))
    configured = json.loads(services["gateway"]["environment"]["GATEWAY_OIDC_ISSUERS"])
    (issuer,) = [OidcIssuer.model_validate(entry) for entry in configured]
    assert issuer.issuer == hostname.split("=", 1)[1] + "/realms/budapest"
    assert issuer.discovery.startswith("http://keycloak:8080/")
