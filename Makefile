# The two commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench clean browser fuzz

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[scale]'
	touch $@

# Azurite (Microsoft's Azure Storage emulator, package-lock.json pins it): the
# queue service that runinstance starts with AZURITE=1 and the StorageQueue tests
# start. Without npm the emulator still runs (AZURITE unset); those tests then
# skip with the reason, or fail under REQUIRE_SERVICES=1 (CI).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "note: npm not found; Azurite is not installed (AZURITE=1 needs it)"; fi

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[scale,dev]'
	touch $@

## Set up (venv, install, migrate, admin user) and run one instance on SQLite.
run: $(VENV)/.installed node_modules/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensureadmin
	$(PY) manage.py runinstance

## Set up and run the tests (the layers contract first: docs/architecture.md).
test: $(VENV)/.installed-dev node_modules/.installed browser
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

# The portal's browser tests drive Debian's Chromium (Playwright's own browser
# download cannot work here). Installed when missing and we may; otherwise those
# tests skip with the reason, or fail under REQUIRE_SERVICES=1 (CI).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  >/dev/null 2>&1 || echo "note: could not install chromium; browser tests will skip"; }

## Fuzz the APIs from /api/openapi.json longer than CI does (tests/fuzz/):
## 10 minutes by default (FUZZ_SECONDS), a new seed each time (FUZZ_SEED).
fuzz: $(VENV)/.installed-dev
	REQUIRE_SERVICES=1 FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-50} \
	  FUZZ_SECONDS=$${FUZZ_SECONDS:-600} FUZZ_SEED=$${FUZZ_SEED:-$$(date +%s)} \
	  $(PY) -m pytest tests/fuzz -s $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

# Every target of issue 18 beside celery (bench/README.md): about 8 minutes.
bench: $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e '.[scale,dev,bench]'
	$(PY) bench/run_trigger.py

clean:
	rm -rf $(VENV) var node_modules
