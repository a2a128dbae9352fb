"""The shape of docker-compose.yml and its images. `make test-compose` runs the topology for real
(deploy/compose.sh); these checks keep the file honest where it cannot run."""

import json
import re
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
    "notifications-api",
    "gateway",
    "prometheus",
}
PYTHON_DOCKERFILES = ["deploy/docker/Dockerfile.tools", "deploy/docker/Dockerfile.service"]


def compose(name: str = "docker-compose.yml") -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO / name).read_text())


def test_it_names_every_process_of_the_topology() -> None:
    assert set(compose()["services"]) == SERVICES


def test_every_build_points_at_an_existing_dockerfile() -> None:
    for name, service in compose()["services"].items():
        if "build" in service:
            assert (
                REPO / service["build"]["context"] / service["build"]["dockerfile"]
            ).is_file(), name


def test_each_service_image_is_built_for_that_service_and_its_port() -> None:
    for name, service in compose()["services"].items():
        if service.get("build", {}).get("dockerfile") == "deploy/docker/Dockerfile.service":
            args = service["build"]["args"]
            assert args["SERVICE"] == name
            assert service["command"][-1] == args["PORT"], name


def test_services_wait_for_migrations_and_the_broker_and_have_healthchecks() -> None:
    services = compose()["services"]
    for name in ("meetings-api", "plan-api", "indicators-api", "notifications-api"):
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
            ("notifications-api", "NOTIFICATIONS"),
            ("gateway", "GATEWAY"),
        )
    }
    assert len({url.rsplit("/", 1)[1] for url in urls.values()}) == 5
    for name, prefix in (("meetings-api", "MEETINGS"), ("plan-api", "PLAN")):
        assert services[name]["environment"][f"{prefix}_BUS"] == "kafka"


def test_the_gateway_trusts_the_keycloak_realm_the_browser_signs_in_with() -> None:
    services = compose()["services"]
    keycloak = services["keycloak"]
    for volume in keycloak["volumes"]:
        assert (REPO / volume.split(":")[0]).is_file(), volume
    hostname = next(arg for arg in keycloak["command"] if arg.startswith("--hostname="))
    # The published port, the issuer's address and the gateway's configuration move together.
    port = "${BP_KEYCLOAK_PORT:-8180}"
    assert hostname == f"--hostname=http://localhost:{port}"
    assert keycloak["ports"] == [f"127.0.0.1:{port}:8080"]
    configured = json.loads(
        services["gateway"]["environment"]["GATEWAY_OIDC_ISSUERS"].replace(port, "8180")
    )
    (issuer,) = [OidcIssuer.model_validate(entry) for entry in configured]
    assert issuer.issuer == "http://localhost:8180/realms/budapest"
    assert issuer.discovery.startswith("http://keycloak:8080/")


def test_keycloak_starts_with_the_build_options_of_deploy_keycloak_sh() -> None:
    """The local image carries the distribution deploy/keycloak.sh built for start-dev with
    `--db=dev-mem`: another build option (KC_HEALTH_ENABLED, KC_DB) would make every container
    start build Keycloak again."""
    keycloak = compose()["services"]["keycloak"]
    assert keycloak["command"][0] == "start-dev"
    build_options = {k for k in keycloak["environment"] if k.startswith("KC_")} - {
        "KC_BOOTSTRAP_ADMIN_USERNAME",
        "KC_BOOTSTRAP_ADMIN_PASSWORD",
    }
    assert build_options == {"KC_DB"}
    assert keycloak["environment"]["KC_DB"] == "dev-mem"
    assert "--db=dev-mem" in (REPO / "deploy" / "keycloak.sh").read_text()
    version = keycloak["image"].rsplit(":", 1)[1]
    assert f'VERSION="{version}"' in (REPO / "deploy" / "keycloak.sh").read_text()
    local = compose("deploy/docker/compose.local.yml")["services"]["keycloak"]
    assert local["image"] == f"localhost/bp/keycloak:{version}"


def test_only_the_gateway_is_published_on_a_configurable_port() -> None:
    """PostgreSQL and Kafka may already run on the host (deploy/): the containers keep off 5432
    and 9092."""
    published = {name: s["ports"] for name, s in compose()["services"].items() if "ports" in s}
    assert published == {
        "gateway": ["127.0.0.1:${BP_GATEWAY_PORT:-8000}:8000"],
        # Only with `--profile oidc`: the browser signs in there.
        "keycloak": ["127.0.0.1:${BP_KEYCLOAK_PORT:-8180}:8080"],
    }


def test_every_long_running_container_has_a_readiness_healthcheck() -> None:
    services = compose()["services"]
    for name in SERVICES - {"migrate"}:
        command = services[name]["healthcheck"]["test"]
        assert command[0] == "CMD-SHELL" or command[:3] == ["CMD", "bash", "-c"], name
    for name in ("meetings-api", "plan-api", "indicators-api", "gateway"):
        assert "/readyz" in services[name]["healthcheck"]["test"][1], name


def test_python_images_take_their_base_as_an_argument_and_run_as_non_root() -> None:
    for path in PYTHON_DOCKERFILES:
        text = (REPO / path).read_text()
        assert "ARG PYTHON_IMAGE=python:3.11-slim" in text, path
        stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
        assert stages == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"], path  # build, then runtime
        runtime = text.rsplit("\nFROM ", 1)[1]
        assert "COPY --from=build /app/.venv" in runtime, path
        assert "uv" not in runtime.replace("uvicorn", ""), path
        assert re.search(r"^USER (?!root|0)\S+", runtime, re.MULTILINE), path


def test_the_local_images_replace_the_official_ones_service_by_service() -> None:
    """deploy/docker/compose.local.yml swaps images: the topology stays docker-compose.yml's,
    Keycloak (profile oidc) and Prometheus (profile observability) included."""
    local = compose("deploy/docker/compose.local.yml")["services"]
    assert set(local) == SERVICES
    for name, service in local.items():
        assert set(service) <= {"image", "pull_policy", "build"}, name
        assert service["image"].startswith("localhost/bp/"), name
        assert service["pull_policy"] == "never", name
    for dockerfile in (
        "deploy/docker/postgres/Dockerfile",
        "deploy/docker/kafka/Dockerfile",
        "deploy/docker/keycloak/Dockerfile",
        "deploy/prometheus/Dockerfile",
    ):
        text = (REPO / dockerfile).read_text()
        assert "ARG BASE_IMAGE=debian:bookworm-slim" in text, dockerfile
        assert re.search(r"^USER (?!root|0\b)\S+", text, re.MULTILINE), dockerfile


def test_prometheus_scrapes_each_service_port_and_the_gateway_metrics_port() -> None:
    services = compose()["services"]
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "compose.yml").read_text())
    groups = config["scrape_configs"][0]["static_configs"]
    targets = {target for group in groups for target in group["targets"]}
    gateway = services["gateway"]["environment"]
    assert f"gateway:{gateway['GATEWAY_METRICS_PORT']}" in targets
    for name in ("meetings-api", "plan-api", "indicators-api", "notifications-api"):
        port = services[name]["command"][-1]
        assert f"{name}:{port}" in targets
