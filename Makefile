# Two commands a new user needs: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "puljemonitor needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	@touch $@

## Generate the demo log once, replay it, print the 2021-09 report and BIR's 2021-04 (JSON in out/).
demo: $(BIN)/.installed
	$(BIN)/puljemonitor demo

## The whole test suite, as CI runs it: lint, format, layers, then every test. The Kafka
## tests start a local broker from Maven jars.
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

## Replay throughput and memory on 1 M and 10 M events (logs generated into bench-data/).
bench: $(BIN)/.installed
	$(BIN)/python bench/replay.py

clean:
	rm -rf $(VENV) out bench-data .pytest_cache .hypothesis
