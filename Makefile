# Two commands do everything: `make demo` serves a demo on SQLite, `make test` checks it all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint typecheck pytest install serve migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the dependency list changes.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED) ## Create .venv and install the project with its test tools

demo: $(INSTALLED) ## Migrate the SQLite database, load demo data, serve on http://127.0.0.1:8000
	$(BIN)/mutualab demo --host $(HOST) --port $(PORT)

serve: $(INSTALLED) ## Serve the configured database (after `make migrate`)
	$(BIN)/mutualab serve --host $(HOST) --port $(PORT)

migrate: $(INSTALLED) ## Migrate the configured database to the latest schema
	$(BIN)/mutualab db upgrade

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

pytest: $(INSTALLED)
	$(BIN)/python -m pytest

test: lint typecheck pytest ## Lint, type-check and run the whole suite (SQLite and PostgreSQL)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
