# Thin wrappers over the `rakuten` CLI; no logic lives here.
VENV ?= .venv
PY := $(VENV)/bin/python
COMPOSE ?= docker compose
RAKUTEN := $(VENV)/bin/rakuten
STAMP := $(VENV)/.installed

.PHONY: demo test test-pipeline test-api test-monitoring lint format init-db load-data status generate-dataset train-model \
        train-model-promote trigger-pipeline serve dev mlflow-ui bench clean lock \
        simulate-traffic check-drift trigger-drift-check view-drift-reports view-alerts \
        clear-alerts prometheus-tools browser-tools help start stop restart ps logs logs-api logs-mlflow logs-postgres \
        rebuild check-health backup-db shell-postgres ui run-streamlit

# Installs exactly what uv.lock says (--locked fails when uv.lock is out of date with
# pyproject.toml: run `make lock`); --inexact keeps uv itself, which pip put in the venv.
# --compile-bytecode writes the .pyc files once: with PYTHONDONTWRITEBYTECODE set (as here),
# every CLI, server and test process would otherwise compile Dagster and MLflow from source.
$(STAMP): pyproject.toml uv.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9
	UV_PROJECT_ENVIRONMENT=$(VENV) $(VENV)/bin/uv sync --quiet --locked --inexact --extra dev --compile-bytecode \
	    --python $(PY)
	touch $(STAMP)

# Re-resolve the lock files after a change of the dependencies: uv.lock from pyproject.toml,
# airflow_bridge/locks/<target>.txt from <target>.in.
lock: $(STAMP) ## Re-resolve uv.lock and the Airflow lock files after a dependency change
	$(VENV)/bin/uv lock
	$(PY) -m airflow_bridge lock

demo: $(STAMP) ## Run the whole demo: data, weekly training and promotion, traffic, drift
	$(RAKUTEN) demo

# Two xdist workers (one per core here); tests that race server processes share one worker
# (see rakuten_assets_tests/conftest.py). PYTEST_ARGS adds options, e.g. PYTEST_ARGS="-x -k cli".
PYTEST_WORKERS ?= 2
PYTEST := $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

test: $(STAMP) lint prometheus-tools browser-tools ## Lint, then the whole test suite on two workers
	$(PYTEST)

test-pipeline: $(STAMP) ## Tests of ingestion, training, registry, Dagster, CLI, Airflow
	$(PYTEST) -m pipeline

test-api: $(STAMP) ## Tests of the prediction API and the operator endpoints
	$(PYTEST) -m api

test-monitoring: $(STAMP) ## Tests of drift, alerts, Prometheus rules and Grafana dashboards
	$(PYTEST) -m monitoring

# Prometheus and promtool (Debian's package) for the monitoring tests; installed only when missing.
prometheus-tools: ## Install Debian's prometheus (promtool) when missing
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
	    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus)

# Debian's Chromium for the browser tests (no browser download works here); only when missing.
browser-tools: ## Install Debian's chromium when missing
	@command -v chromium >/dev/null || \
	    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)

lint: $(STAMP) ## ruff, ruff format --check, mypy, import-linter, uv lock --check
	$(VENV)/bin/uv lock --check --quiet
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP) ## Format the code and apply ruff's fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

init-db: $(STAMP) ## Create or migrate the database schema and the MLflow experiment
	$(RAKUTEN) init-db

load-data: $(STAMP) ## Load the next weekly slice of the catalog
	$(RAKUTEN) load-data

status: $(STAMP) ## Loads, models, Production version, drift and alerts at a glance
	$(RAKUTEN) status

generate-dataset: $(STAMP) ## Write the synthetic catalog CSV files
	$(RAKUTEN) generate-dataset

train-model: $(STAMP) ## Train a candidate model and register it
	$(RAKUTEN) train-model

train-model-promote: $(STAMP) ## Train a candidate and run the promotion gate
	$(RAKUTEN) train-model --promote

trigger-pipeline: $(STAMP) ## Launch weekly_ml_pipeline through the Dagster webserver
	$(RAKUTEN) trigger-pipeline

# e.g. make simulate-traffic TRAFFIC_ARGS="--days 37 --drift-from 31 --drift-profile new_vocabulary"
TRAFFIC_ARGS ?= --days 37
simulate-traffic: $(STAMP) ## Log simulated predictions (TRAFFIC_ARGS, e.g. --days 37)
	$(RAKUTEN) simulate-traffic $(TRAFFIC_ARGS)

check-drift: $(STAMP) ## Compute today's drift report and raise alerts
	$(RAKUTEN) check-drift

trigger-drift-check: $(STAMP) ## Launch daily_drift_check through the Dagster webserver
	$(RAKUTEN) trigger-drift-check

view-drift-reports: $(STAMP) ## List the latest drift reports
	$(RAKUTEN) view-drift-reports

view-alerts: $(STAMP) ## List the drift alerts
	$(RAKUTEN) view-alerts

clear-alerts: $(STAMP) ## Resolve every open drift alert (audited)
	$(RAKUTEN) clear-alerts

serve: $(STAMP) ## Serve the prediction API locally (uvicorn)
	$(RAKUTEN) serve

dev: $(STAMP) ## Dagster UI with the code location (dagster dev)
	$(RAKUTEN) dev

mlflow-ui: $(STAMP) ## MLflow UI on the local store
	$(RAKUTEN) mlflow-ui

ui: $(STAMP) ## The operators' control room (Streamlit) on http://127.0.0.1:8501
	$(RAKUTEN) ui

run-streamlit: ui ## The control room (the original system's name for make ui)

bench: $(STAMP) ## Benchmarks: weekly pipeline, loads, drift
	$(PY) bench/weekly_pipeline.py
	$(PY) bench/load.py
	$(PY) bench/drift.py
	$(PY) bench/ui.py

.PHONY: airflow-dags
# The Airflow DAGs generated from the Dagster definitions (TARGET=airflow2 for Airflow 2.11).
airflow-dags: $(STAMP) ## Generate the Airflow DAGs (DAGS_DIR, TARGET=airflow2|airflow3)
	$(PY) -m airflow_bridge generate --out $(or $(DAGS_DIR),var/airflow/dags) --target $(or $(TARGET),airflow3)

clean: ## Remove local state (var/)
	rm -rf var

# --- The deployment stack (docker-compose.yml) ---------------------------------------------------
start: ## Build and start the stack in the background (docker compose up -d --build)
	$(COMPOSE) up -d --build

stop: ## Stop and remove the stack's containers (volumes are kept)
	$(COMPOSE) down

restart: ## Restart every service of the stack
	$(COMPOSE) restart

ps: ## The stack's services, their state and health
	$(COMPOSE) ps

logs: ## Follow the logs of every service
	$(COMPOSE) logs -f --tail=200

logs-api: ## Follow the prediction API's logs
	$(COMPOSE) logs -f --tail=200 api

logs-mlflow: ## Follow the MLflow server's logs
	$(COMPOSE) logs -f --tail=200 mlflow

logs-postgres: ## Follow PostgreSQL's logs
	$(COMPOSE) logs -f --tail=200 postgres

rebuild: ## Rebuild the project image from scratch and restart the stack on it
	$(COMPOSE) build --no-cache
	$(COMPOSE) up -d

check-health: ## Each running service's health (fails while one is starting or unhealthy)
	$(COMPOSE) ps --format 'table {{.Service}}\t{{.State}}\t{{.Health}}'
	@! $(COMPOSE) ps --format '{{.Health}}' | grep -qE '^(starting|unhealthy)$$'

BACKUP_DIR ?= var/backups
backup-db: ## Dump every database of the stack's PostgreSQL to var/backups (BACKUP_DIR)
	mkdir -p $(BACKUP_DIR)
	$(COMPOSE) exec -T postgres pg_dumpall -U postgres > $(BACKUP_DIR)/postgres-$$(date -u +%Y%m%dT%H%M%SZ).sql

shell-postgres: ## psql on the stack's product database
	$(COMPOSE) exec postgres psql -U postgres rakuten

help: ## List every target with one line
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	    awk 'BEGIN {FS = ":.*## "} {printf "  %-22s %s\n", $$1, $$2}'
