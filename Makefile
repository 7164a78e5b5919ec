# Two commands matter: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# Offline, quiet, loopback-only defaults for every command run from here.
export KEDRO_DISABLE_TELEMETRY ?= true
export DO_NOT_TRACK ?= 1
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(BIN)/python)
export PYSPARK_DRIVER_PYTHON := $(abspath $(BIN)/python)

.PHONY: run test install data ui viz package image bench bench-serve serve check-java check-python clean help

help:
	@echo "make run   - set up .venv, generate data if data/01_raw has none, run the training pipeline"
	@echo "make test  - run the whole test suite (what CI runs)"
	@echo "make data  - generate PaySim-format data into data/01_raw if none is there"
	@echo "make ui    - the MLflow UI on the project's store: http://127.0.0.1:$(UI_PORT)"
	@echo "make viz   - the pipelines drawn by Kedro-Viz: http://127.0.0.1:$(VIZ_PORT)"
	@echo "make package - the wheel and the conf archive in dist/ (for clusters and Databricks)"
	@echo "make image - the Pachyderm worker image (Dockerfile; IMAGE=name:tag), needs Docker"
	@echo "make bench - the PaySim-scale benchmark: results in benchmarks/results/"
	@echo "make serve - the champion answering raw transactions over HTTP, no Java: http://127.0.0.1:$(SERVE_PORT)"

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "Python 3.11 or newer is needed as '$(PYTHON)' (found: $$($(PYTHON) --version 2>&1))."; \
	  echo "Install it, or run: make run PYTHON=/path/to/python3.11"; exit 1; }

check-java:
	@major=$$(java -XshowSettings:properties -version 2>&1 | sed -n 's/.*java.specification.version = //p'); \
	if [ -z "$$major" ]; then \
	  echo "Java 17 is needed by Spark and was not found on PATH."; \
	  echo "Install it: 'sudo apt-get install openjdk-17-jre-headless' (Debian/Ubuntu),"; \
	  echo "'brew install openjdk@17' (macOS), or set JAVA_HOME and PATH to a JDK 17."; exit 1; \
	elif [ "$${major%%.*}" -lt 17 ] 2>/dev/null; then \
	  echo "Java $$major found; Spark 4 needs Java 17 or newer. Install openjdk-17 and put it on PATH."; exit 1; \
	fi

$(INSTALLED): pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@echo "Building the JVM class archive for faster Spark starts (about 30 s)..."
	@$(BIN)/python -m tooling.jvm_archive >/dev/null 2>&1 \
	  || echo "No JVM class archive (is Java 17 on PATH?): Spark starts work, about 3 s slower."
	@touch $@

install: $(INSTALLED)

data: check-java install
	@if ls data/01_raw/*.csv >/dev/null 2>&1; then \
	  echo "Using the CSV already in data/01_raw: $$(ls data/01_raw/*.csv | tr '\n' ' ')"; \
	else \
	  $(BIN)/kedro run --pipelines data_generation; \
	fi

run: check-java data
	$(BIN)/kedro run

test: check-java install
	$(BIN)/python -m pytest

UI_PORT ?= 5000
ui: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port $(UI_PORT)

# Kedro-Viz of the project's pipelines, offline (tooling/viz.py: why not `kedro viz run`).
VIZ_PORT ?= 4141
viz: install
	$(BIN)/python -m tooling.viz serve --host 127.0.0.1 --port $(VIZ_PORT)

# The wheel and the conf archive in dist/ (kedro package); databricks.yml builds with this too.
package: install
	rm -f dist/*.whl dist/conf-*.tar.gz
	$(BIN)/kedro package

# The Pachyderm worker image from the wheel and conf archive (docs/pachyderm.md).
IMAGE ?= fraud-detection-worker:$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
image:
	@command -v docker >/dev/null && docker info >/dev/null 2>&1 || { \
	  echo "No Docker engine here (docker missing or its daemon not reachable): start Docker,"; \
	  echo "or build elsewhere from Dockerfile with dist/ from 'make package'."; exit 1; }
	$(MAKE) package
	docker build -t $(IMAGE) .
	@echo "Built $(IMAGE): push it and set 'image' in conf/pachyderm/pachyderm_pipelines.yml"

# 6,362,620 rows at 1/4, 1/2 and full size, with the naive Spark and DuckDB baselines
# (the generated data is cached in benchmarks/.cache/). The pipeline runs three times per
# size (a tracked and an untracked run each time, in alternating order), after a first
# tracked run that registers the champion the others are compared with, and the median run
# is reported: a single run varies by 10-20% on a shared machine. At full size the untracked
# pipeline also runs three times in one process (a cold JVM, then a warm one). Takes 20-40
# minutes on 2 cores.
bench: check-java install
	$(BIN)/python -m benchmarks.run --repeat 3

# Online scoring: the JVM-free pyfunc served in one process (fraud-detection-serve) and by
# mlflow models serve, and the Spark flavor of the same model: start to first answer, 1- and
# 100-row latency, memory (a few minutes).
bench-serve: check-java install
	$(BIN)/python -m benchmarks.serve

# The registered model (MODEL, default the champion) answering raw rows over HTTP, no Java.
MODEL ?= models:/fraud-detector@champion
SERVE_PORT ?= 5001
serve: install
	$(BIN)/fraud-detection-serve -m "$(MODEL)" -p $(SERVE_PORT)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
