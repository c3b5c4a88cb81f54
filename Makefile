# Thin wrappers over the `rakuten` CLI; no logic lives here.
VENV ?= .venv
PY := $(VENV)/bin/python
RAKUTEN := $(VENV)/bin/rakuten
STAMP := $(VENV)/.installed

.PHONY: demo test lint format init-db load-data status generate-dataset train-model \
        train-model-promote trigger-pipeline serve dev mlflow-ui evaluate bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(RAKUTEN) demo

test: $(STAMP) lint
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

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

serve: $(STAMP)
	$(RAKUTEN) serve

dev: $(STAMP)
	$(RAKUTEN) dev

mlflow-ui: $(STAMP)
	$(RAKUTEN) mlflow-ui

bench: $(STAMP)
	$(PY) bench/weekly_pipeline.py
	$(PY) bench/load.py

clean:
	rm -rf var
