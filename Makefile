# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv and install the pinned dependencies when missing: `make demo` (and
# `make serve`) the package alone, `make test` also the dev tools and every optional extra
# (kaleido for PNGs, the PostgreSQL driver, Playwright).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install install-base demo serve test lint format bench clean

$(BASE): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PIP) -e .
	touch $(BASE)

$(STAMP): $(BASE)
	$(PIP) -e ".[dev]"
	touch $(STAMP)

install-base: $(BASE)

install: $(STAMP)

demo: $(BASE)
	$(BIN)/mediamix demo --out demo_output

serve: $(BASE)
	$(BIN)/mediamix serve

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
