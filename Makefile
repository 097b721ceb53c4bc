# The README's two commands: `make run` (the service with demo data on SQLite) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/beian serve --demo --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

# Runs the suite on SQLite, then the database tests again on PostgreSQL when
# BEIAN_TEST_POSTGRES_URL is set. BEIAN_TEST_STRICT=1 (CI) turns every skip into a failure.
test: $(STAMP) lint
	$(BIN)/python tests/run.py $(ARGS)

# Screenshots of the main pages into docs/screenshots/ (needs Debian chromium: apt-get install -y chromium).
screenshots: $(STAMP)
	scripts/make_screenshots.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
