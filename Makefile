# The newest Python 3.11-3.13 this machine runs (`make PY=/path/to/python3.x` to choose another).
ifeq ($(origin PY),undefined)
PY := $(firstword $(foreach v,3.13 3.12 3.11,$(shell python$(v) -c 'import sys' >/dev/null 2>&1 && echo python$(v))))
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-large test bench lint clean i18n

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "Python 3.11, 3.12 or 3.13 is needed: install one, or run 'make PY=/path/to/python3.x'"; exit 1; }
	@$(PY) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' || { echo "$(PY) is not Python 3.11 to 3.13: run 'make PY=/path/to/python3.x'"; exit 1; }
	rm -rf $(VENV)  # made anew: a venv of another Python is not upgraded in place
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/elp --store demo-store/elp.json demo --force

demo-large: $(STAMP)
	$(BIN)/elp --store demo-store/elp-large.json demo --size large --force

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)  # the import-linter contracts run inside it (tests/test_import_hygiene.py)

bench: $(STAMP)
	$(BIN)/python -m elp_tui.bench

clean:
	rm -rf $(VENV) .venv-newest demo-store

# Catalogs: extract every _() / N_() message, merge into the French .po, compile the .mo that ships.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k NC_:1c,2 -k ngettext:1,2 --no-location --sort-output -o elp_tui/locale/elp.pot elp_tui
	$(BIN)/pybabel update -i elp_tui/locale/elp.pot -d elp_tui/locale -D elp -l fr --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d elp_tui/locale -D elp -l fr
