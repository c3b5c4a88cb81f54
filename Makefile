# Thin wrappers over the `rakuten` CLI; no logic lives here.
VENV ?= .venv
PY := $(VENV)/bin/python
RAKUTEN := $(VENV)/bin/rakuten
STAMP := $(VENV)/.installed

.PHONY: demo test test-pipeline test-api test-monitoring lint format init-db load-data status generate-dataset train-model \
        train-model-promote trigger-pipeline serve dev mlflow-ui bench clean lock \
        simulate-traffic check-drift trigger-drift-check view-drift-reports view-alerts \
        clear-alerts prometheus-tools

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
lock: $(STAMP)
	$(VENV)/bin/uv lock
	$(PY) -m airflow_bridge lock

demo: $(STAMP)
	$(RAKUTEN) demo

# Two xdist workers (one per core here); tests that race server processes share one worker
# (see rakuten_assets_tests/conftest.py). PYTEST_ARGS adds options, e.g. PYTEST_ARGS="-x -k cli".
PYTEST_WORKERS ?= 2
PYTEST := $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

test: $(STAMP) lint prometheus-tools
	$(PYTEST)

test-pipeline: $(STAMP)
	$(PYTEST) -m pipeline

test-api: $(STAMP)
	$(PYTEST) -m api

test-monitoring: $(STAMP)
	$(PYTEST) -m monitoring

# Prometheus and promtool (Debian's package) for the monitoring tests; installed only when missing.
prometheus-tools:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
	    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus)

lint: $(STAMP)
	$(VENV)/bin/uv lock --check --quiet
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

init-db: $(STAMP)
	$(RAKUTEN) init-db

load-data: $(STAMP)
	$(RAKUTEN) load-data

status: $(STAMP)
	$(RAKUTEN) status

generate-dataset: $(STAMP)
	$(RAKUTEN) generate-dataset

train-model: $(STAMP)
	$(RAKUTEN) train-model

train-model-promote: $(STAMP)
	$(RAKUTEN) train-model --promote

trigger-pipeline: $(STAMP)
	$(RAKUTEN) trigger-pipeline

# e.g. make simulate-traffic TRAFFIC_ARGS="--days 37 --drift-from 31 --drift-profile new_vocabulary"
TRAFFIC_ARGS ?= --days 37
simulate-traffic: $(STAMP)
	$(RAKUTEN) simulate-traffic $(TRAFFIC_ARGS)

check-drift: $(STAMP)
	$(RAKUTEN) check-drift

trigger-drift-check: $(STAMP)
	$(RAKUTEN) trigger-drift-check

view-drift-reports: $(STAMP)
	$(RAKUTEN) view-drift-reports

view-alerts: $(STAMP)
	$(RAKUTEN) view-alerts

clear-alerts: $(STAMP)
	$(RAKUTEN) clear-alerts

serve: $(STAMP)
	$(RAKUTEN) serve

dev: $(STAMP)
	$(RAKUTEN) dev

mlflow-ui: $(STAMP)
	$(RAKUTEN) mlflow-ui

bench: $(STAMP)
	$(PY) bench/weekly_pipeline.py
	$(PY) bench/load.py
	$(PY) bench/drift.py

.PHONY: airflow-dags
# The Airflow DAGs generated from the Dagster definitions (TARGET=airflow2 for Airflow 2.11).
airflow-dags: $(STAMP)
	$(PY) -m airflow_bridge generate --out $(or $(DAGS_DIR),var/airflow/dags) --target $(or $(TARGET),airflow3)

clean:
	rm -rf var
