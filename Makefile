# The verbs of fleetloop. `make test` and `make demo` set everything up on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
QUICK ?=

.PHONY: install test lint bench-store clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch==2.13.0 is the CPU wheel on this machine's disk; the lock pins every version.
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[loop,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

test: install
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check assets resources quality tests bench

bench-store: install
	$(BIN)/python -m bench.store $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) .fleetloop .pytest_cache
