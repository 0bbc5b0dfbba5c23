# The verbs of fleetloop. `make test` and `make demo` set everything up on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
QUICK ?=
SEED ?= 0
STACK ?= embedded

.PHONY: install system-deps test lint demo ui bench-store bench-loop bench-signals faults soak clean \
	lakefs-build lakefs-build-if-go lakefs lakefs-stop

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch==2.13.0: the +cpu wheel where one lies on disk, else PyPI's CUDA build (runs on the CPU).
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[loop,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# Debian packages for the browser test of the review page and the catalog's PostgreSQL tests;
# when they cannot be installed (no root, no apt) those tests skip and say why.
system-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	    && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends chromium chromium-driver postgresql >/dev/null \
	    || echo "system-deps: apt-get failed; browser and PostgreSQL tests will skip"; \
	else echo "system-deps: no root apt-get; browser and PostgreSQL tests will skip"; fi

# The live lakeFS tests start their own servers from build/lakefs (tests/versioning/conftest.py);
# without Go they skip and say why.
# The loop's fault-injection kills (tests/loop/test_loop_faults.py, ~3 min) run in `make faults`,
# which also runs the same kills as bench.faults_loop for the figures.
test: install system-deps lakefs-build-if-go
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not faults" $(PYTEST_ARGS)

# lakeFS v1.84.0 built from its Go module (deploy/lakefs/go.mod) into build/lakefs/bin, with the
# web UI when npm can build it; a no-op when up to date.
lakefs-build:
	$(PYTHON) -m deploy.lakefs.server build

lakefs-build-if-go:
	@if command -v go >/dev/null; then $(PYTHON) -m deploy.lakefs.server build; \
	else echo "lakefs-build: no Go; the live lakeFS tests will skip"; fi

# A lakeFS server on 127.0.0.1 under $FLEETLOOP_HOME/lakefs (local KV, local blockstore), its admin
# in $FLEETLOOP_HOME/lakefs/lakectl.yaml; `make lakefs-stop` ends it.
lakefs: lakefs-build
	$(PYTHON) -m deploy.lakefs.server start

lakefs-stop:
	$(PYTHON) -m deploy.lakefs.server stop

lint: install
	$(BIN)/ruff check assets resources quality entrypoints tests bench deploy
	$(BIN)/lint-imports

# The whole story headless on a persistent instance; `make demo SEED=7` runs another fleet.
# `make demo STACK=production` runs it on lakeFS (PostgreSQL + S3) with Dagster and the
# catalog on PostgreSQL, all started for the demo (needs Go for lakeFS, Debian's postgresql).
demo: install
	$(if $(filter production,$(STACK)),$(MAKE) system-deps lakefs-build,)
	$(BIN)/fleetloop demo --seed $(SEED) --stack $(STACK)

# The Dagster UI on the demo's instance (history, checks, lineage), and beside it the read-only
# store view that the store links in its metadata open; Ctrl-C stops both.
ui: install
	$(BIN)/fleetloop ui

# LocalStore against plain files, git, DVC and lakeFS (started and stopped by the benchmark; skipped
# with the reason when build/lakefs is not built), plus LakeFSStore against lakefs_sdk call by call
# (bench/results/store.json; `QUICK=1`: smaller sizes, a couple of minutes).
bench-store: install
	$(BIN)/python -m bench.store $(if $(QUICK),--quick,)

# No-op automation ticks, label commit → gate decision and overhead share at the demo's size,
# polars vs pandas; then one new drive's cost by fleet size and the re-prediction backfill on
# 1 and 2 workers (bench/results/loop_scale.json).
bench-loop: install
	$(BIN)/python -m bench.loop --seed $(SEED) $(if $(QUICK),--quick,)
	$(BIN)/python -m bench.loop_scale $(if $(QUICK),--quick,)

# Fault figures: kills at every store and loop fault point, power cuts after every fsync, bad
# inputs, catalog races (bench/results/faults.json, faults_input.json and faults_loop.json).
faults: install
	$(BIN)/python -m bench.faults_store
	$(BIN)/python -m bench.faults_input
	$(BIN)/python -m bench.faults_loop
	$(BIN)/python -m pytest -q -n 2 -m faults tests/loop/test_loop_faults.py

# The loop tests (tests/loop, as in make test) N times over (default 3), counting flakes per test.
SOAK ?= 3
soak: install
	@for i in $$(seq 1 $(SOAK)); do \
	    $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not faults" tests/loop -rfE \
	        | tee .soak-$$i.log | tail -1; done; \
	flakes=$$(grep -h -E "^(FAILED|ERROR)" .soak-*.log | sort | uniq -c); rm -f .soak-*.log; \
	if [ -n "$$flakes" ]; then echo "soak: failures in $(SOAK) runs:"; echo "$$flakes"; exit 1; \
	else echo "soak: no failures in $(SOAK) runs"; fi

# Each failure-finding signal's precision at k against a random sample (simulated fleet).
bench-signals: install
	$(BIN)/python -m bench.signals --seed $(if $(filter 0,$(SEED)),1,$(SEED)) $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) .fleetloop .pytest_cache
