# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv and install the pinned dependencies when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/mediamix demo --out demo_output

lint: $(STAMP)
	$(BIN)/ruff check mediamix tests bench
	$(BIN)/ruff format --check mediamix tests bench

format: $(STAMP)
	$(BIN)/ruff format mediamix tests bench
	$(BIN)/ruff check --fix mediamix tests bench

test: lint
	bash scripts/test.sh

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) demo_output .pytest_cache
