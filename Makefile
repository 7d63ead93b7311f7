# The two commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[scale]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[scale,dev]'
	touch $@

## Set up (venv, install, migrate, admin user) and run one instance on SQLite.
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensureadmin
	$(PY) manage.py runinstance

## Set up and run the tests.
test: $(VENV)/.installed-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed-dev
	$(PY) bench/run_trigger.py

clean:
	rm -rf $(VENV) var
