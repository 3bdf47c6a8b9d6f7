# Two commands do everything on a fresh machine: `make run` and `make test`.
# Each creates .venv on first use and installs tunelab with what its tests need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,postgres,cmaes,dask,lightgbm,xgboost

.PHONY: setup run test lint clean

$(BIN)/tunelab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

setup: $(BIN)/tunelab

# The main job: tune an SVM on scikit-learn's breast cancer data, stored in ./tunelab.db (SQLite).
run: setup
	$(BIN)/tunelab tune examples/svc_breast_cancer.yaml

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) tunelab.db tunelab.db-wal tunelab.db-shm
