# Budapest Process platform. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else the one pip installs (fresh machines have Python and pip, not uv).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen
PYTEST_TARGETS := libs/common/tests $(wildcard services/*/tests) tests

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: install
install: ## install the locked dependencies into .venv (installs uv with pip if missing) and the reports' Debian libraries
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	@$(UV) sync --frozen --quiet
	@bash deploy/report-libs.sh

.PHONY: run
run: install ## run the whole platform in one process on http://127.0.0.1:8000 (SQLite, in-process bus)
	$(RUN) bpctl run

.PHONY: test
test: install lint typecheck test-unit test-integration ## everything CI runs: lint, types, unit and integration tests

.PHONY: lint
lint: install ## ruff: lint and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

.PHONY: format
format: install ## ruff: fix what can be fixed and format
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

.PHONY: typecheck
typecheck: install ## mypy over the libraries and services
	$(RUN) mypy libs/common/src services/meetings-api/src services/plan-api/src \
		services/indicators-api/src services/notifications-api/src services/gateway/src tools/bpctl/src soak

.PHONY: test-unit
test-unit: install ## unit tests: SQLite and the in-process bus, no server needed (one worker per core)
	$(RUN) pytest -m "not integration" -n auto --dist loadfile $(PYTEST_TARGETS)

.PHONY: test-integration
# The servers are started once for both phases: first the tests that share them, in parallel, then
# those that stop or kill one (the fault scenarios), alone.
test-integration: install ## integration tests against real PostgreSQL, Kafka and Keycloak (started and stopped here)
	bash deploy/with-services.sh bash -c '$(RUN) pytest -m "integration and not disruptive" \
		-n auto --dist loadfile tests && $(RUN) pytest -m "integration and disruptive" tests'

.PHONY: contracts
contracts: install ## the event contracts from the event models: contracts/ (JSON Schemas, AsyncAPI) and docs/events.md
	$(RUN) python -m bpctl.contracts

.PHONY: report-preview
report-preview: install ## the demo meeting's summary as PDF and its first page as docs/som-istanbul-2019-summary.png
	bash deploy/report-libs.sh --preview
	$(RUN) python -m bpctl.report_preview docs/som-istanbul-2019-summary

.PHONY: services-up
services-up: ## start PostgreSQL and Kafka as native processes (deploy/)
	bash deploy/postgres.sh start
	bash deploy/kafka.sh start

.PHONY: services-down
services-down: ## stop PostgreSQL and Kafka (and Keycloak if it runs)
	-bash deploy/keycloak.sh stop
	-bash deploy/kafka.sh stop
	-bash deploy/postgres.sh stop

.PHONY: keycloak
keycloak: ## start Keycloak (development mode, realms of deploy/keycloak/) on http://127.0.0.1:8180
	bash deploy/keycloak.sh start

.PHONY: stack
stack: install services-up ## distributed mode: each service and the gateway in its own process (8001-8003, 8000)
	bash deploy/stack.sh start

.PHONY: stack-stop
stack-stop: ## stop the processes started by `make stack` (PostgreSQL and Kafka keep running)
	bash deploy/stack.sh stop

.PHONY: migration
migration: install ## new Alembic revision from the models: make migration SERVICE=meetings_api MSG="..."
	$(RUN) python -m bp_common.makemigration $(SERVICE) "$(MSG)"

.PHONY: bench
bench: install ## benchmarks in the distributed mode, each against its baseline (var/bench/*.json)
	BP_WITHOUT_KEYCLOAK=1 bash deploy/with-services.sh $(RUN) python -m bench

.PHONY: soak
soak: install ## the distributed stack under 40 requests/s for SOAK_MINUTES (10): 5xx, p50/p99, memory growth
	BP_WITHOUT_KEYCLOAK=1 bash deploy/with-services.sh $(RUN) python -m soak

.PHONY: chaos
chaos: install ## fault scenarios (broker, consumer, relay, replicas, replay, database, poison): lost and doubled
	BP_WITHOUT_KEYCLOAK=1 bash deploy/with-services.sh $(RUN) python -m chaos

.PHONY: compose-images
compose-images: install ## images for docker-compose.yml; without a registry, built here from Debian packages
	bash deploy/compose.sh images

.PHONY: test-compose
test-compose: install ## docker compose up the whole topology (podman here, or Docker), story, Prometheus targets, a Keycloak token, Kafka fault, down
	bash deploy/compose.sh test
