# sessiond — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DAGSTER_HOME ?= $(CURDIR)/var/dagster

.PHONY: install run test bench soak dagster lint schema clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv and install sessiond with dev extras

run: $(STAMP) ## run the example backtest on the embedded synthetic data source
	$(BIN)/sessiond run session_configs/example_session.json

test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

bench: $(STAMP) ## run the benchmarks (medians printed; the soak is `make soak`)
	@for b in benchmarks/*.py; do [ $$b = benchmarks/soak.py ] && continue; echo "== $$b"; $(BIN)/python $$b || exit 1; done

soak: $(STAMP) ## 10 minutes at 2,000 messages/s through `sessiond daemon` (docs/operations.md)
	$(BIN)/python benchmarks/soak.py --minutes 10

dagster: $(STAMP) ## start the Dagster UI on 127.0.0.1:3000
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp docs/dagster.local.yaml $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -h 127.0.0.1 -p 3000

lint: $(STAMP)
	$(BIN)/ruff check core plugins daemon orchestration tests benchmarks

schema: $(STAMP) ## regenerate session_configs/session_config.schema.json
	$(BIN)/sessiond schema > session_configs/session_config.schema.json

clean:
	rm -rf $(VENV) var .pytest_cache
