# Two commands matter (see README): `make run` and `make test`. Both set up .venv from pyproject.toml.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint openapi bench clean lock

# Installs the locked versions (with their hashes) and then the project itself without resolving anything:
# two builds a week apart get the same packages. `make lock` re-resolves after pyproject.toml changes.
$(BIN)/.installed: pyproject.toml requirements-test.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

## Re-resolve the lock files (requirements.lock: the service; requirements-test.lock: with the test extra).
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes --no-header -o requirements-test.lock

## Set up, migrate the embedded SQLite database (var/), load the demo district once, serve on HOST:PORT.
run: $(BIN)/.installed
	$(BIN)/hazard-registry serve --demo --host $(HOST) --port $(PORT)

## Set up, check style, run the whole suite (HAZARD_TEST_DATABASE_URL=postgresql+psycopg://... for PostgreSQL).
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

## Regenerate the committed OpenAPI document after changing the API.
openapi: $(BIN)/.installed
	$(BIN)/hazard-registry openapi > openapi/openapi.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
