PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-large test bench lint clean i18n

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
	$(BIN)/python -m pytest -n 2  # the import-linter contracts run inside it (tests/test_import_hygiene.py)

bench: $(STAMP)
	$(BIN)/python -m elp_tui.bench

clean:
	rm -rf $(VENV) demo-store

# Catalogs: extract every _() / N_() message, merge into the French .po, compile the .mo that ships.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --sort-output -o elp_tui/locale/elp.pot elp_tui
	$(BIN)/pybabel update -i elp_tui/locale/elp.pot -d elp_tui/locale -D elp -l fr --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d elp_tui/locale -D elp -l fr
