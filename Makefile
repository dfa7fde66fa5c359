# Two commands do everything: `make demo` serves a demo on the embedded PostgreSQL, `make test`
# checks it all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test soak lint typecheck pytest browser-tools web-assets browser-tests messages install serve migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the dependency list changes.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED) ## Create .venv and install the project with its test tools

demo: $(INSTALLED) web-assets ## Start the embedded PostgreSQL, migrate, load demo data, serve on http://127.0.0.1:8000
	$(BIN)/mutualab demo --host $(HOST) --port $(PORT) $(if $(RESET_PASSWORDS),--reset-passwords)

serve: $(INSTALLED) web-assets ## Serve the configured database (after `make migrate`)
	$(BIN)/mutualab serve --host $(HOST) --port $(PORT)

migrate: $(INSTALLED) ## Migrate the configured database to the latest schema
	$(BIN)/mutualab db upgrade

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(INSTALLED)
	$(BIN)/mypy

# The suite loads the communes of France from the npm packages (resources.commune_data). It runs
# on PYTEST_WORKERS processes (pytest-xdist), each with its own database, app and servers, one
# test file per process at a time (module fixtures stay shared): 1.65 times faster on 2 cores.
# PYTEST_WORKERS=0 runs it in this process.
PYTEST_WORKERS ?= 2
pytest: $(INSTALLED) web-assets
	$(BIN)/python -m pytest --ignore=tests/browser -n $(PYTEST_WORKERS) --dist loadfile

# axe-core, from the npm registry into the git-ignored node_modules/ (package-lock.json pins it).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the browser tests will skip their accessibility checks (CI fails)" >&2; \
	fi

browser-tools: $(AXE)

# Leaflet, for the maps, and the communes of France (INSEE's code, GeoNames' points), for the
# search around any town, from the same install (without them: an address and a link; towns
# matched to their places only).
LEAFLET := node_modules/leaflet/dist/leaflet.js
COMMUNES := node_modules/@etalab/decoupage-administratif/data/communes.json
$(LEAFLET) $(COMMUNES): $(AXE)

web-assets: $(LEAFLET) $(COMMUNES)

# Chromium through Playwright, in their own pytest run (Playwright's event loop would trouble
# pytest-asyncio). Without Chromium they are skipped with a notice, except when CI=true.
browser-tests: $(INSTALLED) browser-tools
	$(BIN)/python -m pytest tests/browser -p no:asyncio -W ignore::pytest.PytestConfigWarning

test: lint typecheck pytest browser-tests ## Lint, type-check, run the suite (PostgreSQL) and the browser tests

# The tests marked soak, wherever they are: schemathesis, and the fault injection (a worker
# killed mid-load or mid-sending, PostgreSQL restarted under load).
soak: $(INSTALLED) web-assets ## Longer checks: fuzzing of every operation, fault injection
	$(BIN)/python -m pytest --ignore=tests/browser -m soak

LOCALES := src/mutualab/web/locale
messages: $(INSTALLED) ## Extract the pages' texts into the .pot and merge them into each language's .po
	$(BIN)/pybabel extract -F src/mutualab/web/babel.cfg --no-location --sort-output \
		--project Mutualab --copyright-holder "Mutualab contributors" \
		-o $(LOCALES)/messages.pot src/mutualab/web
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages \
		--no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var node_modules tests/artifacts
