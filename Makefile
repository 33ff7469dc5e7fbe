# sessiond — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# requirements.lock pins every package (dev and postgres extras included) the suite passed with;
# pyproject.toml keeps the compatible ranges. `make lock` after editing dependencies in
# pyproject.toml, `make upgrade` to move every pin to the newest allowed release.
LOCK   := requirements.lock
COMPILE = $(BIN)/uv pip compile pyproject.toml --extra dev --extra postgres --universal \
          --python-version 3.11 --quiet --custom-compile-command 'make lock' -o $(LOCK)
EXAMPLE := examples/sessiond-vn-extras
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) $(EXAMPLE)/pyproject.toml | cksum | cut -d' ' -f1)
DAGSTER_HOME ?= $(CURDIR)/var/dagster

.PHONY: install lock upgrade run test bench soak dagster demo lint schema clean

$(STAMP): pyproject.toml $(LOCK) $(EXAMPLE)/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]' -e $(EXAMPLE)
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv and install sessiond with dev extras at the locked versions

lock: $(STAMP) ## after adding or changing a dependency in pyproject.toml: refresh requirements.lock
	$(COMPILE)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]' -e $(EXAMPLE)
	@rm -f $(VENV)/.installed-* && touch $(VENV)/.installed-$$(cat pyproject.toml $(LOCK) $(EXAMPLE)/pyproject.toml | cksum | cut -d' ' -f1)

upgrade: $(STAMP) ## move every pin to the newest release pyproject.toml allows, install, run the tests
	$(COMPILE) --upgrade
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]' -e $(EXAMPLE)
	@rm -f $(VENV)/.installed-* && touch $(VENV)/.installed-$$(cat pyproject.toml $(LOCK) $(EXAMPLE)/pyproject.toml | cksum | cut -d' ' -f1)
	$(MAKE) test

run: $(STAMP) ## run the example backtest on the embedded synthetic data source
	$(BIN)/sessiond run session_configs/example_session.json

test: $(STAMP) ## run the test suite and the example plugin package's tests
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup tests $(EXAMPLE)/tests

bench: $(STAMP) ## run the benchmarks (medians printed; the soak is `make soak`)
	@for b in benchmarks/*.py; do [ $$b = benchmarks/soak.py ] && continue; echo "== $$b"; $(BIN)/python $$b || exit 1; done

soak: $(STAMP) ## 10 minutes at 2,000 messages/s through `sessiond daemon` (docs/operations.md)
	$(BIN)/python benchmarks/soak.py --minutes 10

dagster: $(STAMP) ## start the Dagster UI on 127.0.0.1:3000
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp docs/dagster.local.yaml $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -h 127.0.0.1 -p 3000

lint: $(STAMP)
	$(BIN)/ruff check core plugins daemon orchestration tests benchmarks examples

schema: $(STAMP) ## regenerate session_configs/session_config.schema.json
	$(BIN)/sessiond schema > session_configs/session_config.schema.json

clean:
	rm -rf $(VENV) var .pytest_cache

demo: $(STAMP) ## a generated VN30 day through the live path with the dashboard (no credentials)
	$(BIN)/sessiond demo vn-live
