# The two commands: `make repro` (run the pipeline) and `make test` (run the tests).
# Both create .venv if missing and install the pinned dependency set first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
# DVC stages call `doppel`: put the venv's scripts first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup repro test bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch goes in first, alone and pinned: with it present, no later resolve can pull a multi-GB CUDA build.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

repro: setup
	dvc repro

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/doppel bench prep --messages 1000000

clean-venv:
	rm -rf $(VENV)
