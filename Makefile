# impact-graph — the two commands of the README, and a few more.
#   make demo   set up, start the embedded store, ingest the demo corpus, serve API and UI
#   make test   set up (Python packages and the Neo4j the tests use) and run the whole suite

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup browser demo stop test test-fast lint format bench vocab-vectors clean

$(STAMP): pyproject.toml
	@echo "Installing the Python packages into $(VENV) (several minutes the first time; pip prints nothing meanwhile)."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[nlp,api,dev]'
	@touch $(STAMP)

setup: $(STAMP)

# Headless Chromium for the browser tests (tests/browser), from Debian's packages:
# Playwright drives /usr/bin/chromium and never downloads a browser of its own.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

demo: setup
	@$(BIN)/impact-graph db status --data-dir $(DATA) >/dev/null 2>&1 || $(BIN)/impact-graph db start --data-dir $(DATA)
	$(BIN)/impact-graph ingest ingest/demo --data-dir $(DATA)
	@echo
	@echo "  impact-graph is ready: open http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/docs)"
	@echo "  Stop with Ctrl-C; the embedded store keeps running until 'make stop$(if $(filter-out data,$(DATA)), DATA=$(DATA))'."
	@echo
	$(BIN)/impact-graph serve --data-dir $(DATA) --host $(HOST) --port $(PORT)

stop:
	-$(BIN)/impact-graph db stop --data-dir $(DATA)

test: setup browser
	@command -v java >/dev/null || { echo "make test needs Java 17 (for the test Neo4j)"; exit 2; }
	@command -v mvn >/dev/null || { echo "make test needs Maven (resolves Neo4j from Maven Central)"; exit 2; }
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m 'not neo4j and not slow'

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: setup
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Every benchmark in a sized mode (~20 min in total), figures into bench/results/, then
# bench/REPORT.md from them (bench/report.py lists the sizes; --quick for smoke sizes).
bench: setup
	$(BIN)/python bench/report.py --run

# The vectors of the vocabulary concepts' entity texts, shipped in the package so no
# data directory pays the model for them (src/impact_graph/vocab_vectors/): rebuild after
# editing ontology/vocabularies/*.ttl and commit vectors.npz (tests/test_vocab_vectors.py
# fails until then).
vocab-vectors: setup
	$(BIN)/python -m impact_graph.vocab_vectors

clean:
	-$(BIN)/impact-graph db stop --data-dir $(DATA)
	rm -rf $(VENV) .pytest_cache .ruff_cache tools/neo4j-launcher/target
