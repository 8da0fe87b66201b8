# Biowire. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run demo serve test test-browser lint format bench-poll bench-poll-cli bench-classify bench-web clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install Biowire with its dev tools

run: install ## Migrate, load default sources, poll, classify, then serve while polling
	$(BIN)/biowire up

demo: install ## The same pipeline on the bundled offline sample (own database file)
	$(BIN)/biowire demo

serve: install ## Serve the web app only
	$(BIN)/biowire serve

test: install ## Run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-browser: install ## Run the browser tests only (headless Chromium; screenshots in test-output/browser/)
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench-poll: install ## Poll benchmark (2,000 local feeds)
	$(BIN)/python -m bench.poll --sources 2000

bench-poll-cli: install ## The same feeds polled by `biowire poll --all`, one process a cycle
	$(BIN)/python -m bench.poll_cli --sources 2000

bench-classify: install ## Classifier benchmark on Reuters-21578
	$(BIN)/python -m bench.classify

bench-web: install ## Web benchmark: 200,000 articles served by `biowire serve`, driven by wrk
	$(BIN)/python -m bench.web --articles 200000 --sources 200

clean: ## Remove the virtualenv, the caches and the test output
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info test-output
