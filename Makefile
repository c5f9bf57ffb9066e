# Two commands do everything on a fresh machine that has only python3 (3.11+):
#   make run    run the whole runbook suite on the embedded local cloud and write a report under runs/
#   make test   run the test suite (library units, local-cloud conformance, every notebook under papermill)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PARAMS ?= parameters/local.yaml
PYTEST_ARGS ?=

.PHONY: run test lab install lint clean localcloud-start localcloud-stop bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall whenever the dependency list changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name eventdeploy --display-name "Python (eventdeploy)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/eventdeploy run --params $(PARAMS)

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

lint: $(STAMP)
	$(VENV)/bin/ruff check lib tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/localcloud_start.py

localcloud-start: $(STAMP)
	$(VENV)/bin/eventdeploy localcloud start

localcloud-stop: $(STAMP)
	$(VENV)/bin/eventdeploy localcloud stop

clean:
	rm -rf $(VENV) .localcloud .pytest_cache
