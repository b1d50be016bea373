PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-large test bench lint clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is needed: install python3.11 or run 'make PY=/path/to/python3.11'"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/elp --store demo-store/elp.json demo --force

demo-large: $(STAMP)
	$(BIN)/elp --store demo-store/elp-large.json demo --size large --force

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2

bench: $(STAMP)
	$(BIN)/python -m elp_tui.bench

clean:
	rm -rf $(VENV) demo-store
