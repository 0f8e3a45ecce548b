# The two commands of README.md: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app.py

.PHONY: install run serve worker test bench lint format docs messages
# A target whose recipe fails is removed (a catalog pybabel refused is not kept as compiled).
.DELETE_ON_ERROR:

# The gettext catalogs (latepoint_forms/i18n.py): each language's .po compiled by the install
# step, so both commands of README.md serve every language on a fresh machine.
TRANSLATIONS := latepoint_forms/translations
PO_FILES := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

$(BIN)/.installed: requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

install: $(BIN)/.installed $(MO_FILES)

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@

## Every wrapped string (babel.cfg) extracted into messages.pot, and merged into each language's
## catalog; `make messages LANG_NEW=xx` starts a catalog for a new language of i18n.LANGUAGES.
messages: $(BIN)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k N_ -k NP_:1,2 --sort-by-file \
		--project latepoint_forms -o $(TRANSLATIONS)/messages.pot .
	@if [ -n "$(LANG_NEW)" ]; then $(BIN)/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $(LANG_NEW); fi
	@if ls $(TRANSLATIONS)/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching; fi

## The browser tests' own tools from npm (package-lock.json pins them): axe-core, which
## tests/e2e/axe.py injects into each page. Not served to visitors; `make run` needs none.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Serve on http://127.0.0.1:5000 with SQLite (instance/latepoint_forms.sqlite3), with an
## outbox worker beside it: messages land in /dev/mailbox. Ctrl-C stops both.
## `make run PORT=5001` (or HOST=0.0.0.0) when that port or address does not suit; links in
## messages follow (PUBLIC_URL, unless you set it).
HOST ?= 127.0.0.1
PORT ?= 5000
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask catalog load latepoint_forms/catalog/demo.toml
	PUBLIC_URL="$${PUBLIC_URL:-http://$(HOST):$(PORT)}" \
		$(BIN)/python -m latepoint_forms.run_development --host $(HOST) --port $(PORT)

## Production: gunicorn (gunicorn.conf.py) with DATABASE_URL, REDIS_URL and SECRET_KEY from
## the environment, after applying migrations. See README, "Production".
serve: install
	$(BIN)/flask db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py app:app

## Production's outbox worker, beside `make serve` (README, "Messages and the outbox worker").
worker: install
	LATEPOINT_ENV="$${LATEPOINT_ENV:-production}" $(BIN)/flask outbox worker

## The whole suite; PostgreSQL tests run when TEST_DATABASE_URL is set.
test: install node_modules/.installed
	$(BIN)/python -m pytest

## Benchmarks: ratios against a baseline measured in the same run (not part of `make test`):
## in process (bench/create_customer.py), then black-box, gunicorn driven by wrk against a
## floor app (bench/blackbox.py), then `flask customers import` of 100,000 rows against a
## floor of the same rules and a batched Core insert (bench/import_customers.py). wrk comes
## from Debian's packages, installed when missing.
## All always run; the target fails if any misses its target. BENCH_ARGS goes to the
## black-box driver (e.g. BENCH_ARGS="--rss ''" to skip the 50,000-request RSS run).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
bench: install
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y wrk \
		|| ($(SUDO) apt-get update && $(SUDO) apt-get install -y wrk)
	status=0; \
	$(BIN)/python -m bench.create_customer || status=1; \
	$(BIN)/python -m bench.blackbox $(BENCH_ARGS) || status=1; \
	$(BIN)/python -m bench.import_customers || status=1; \
	exit $$status

## docs/API.md, the integrators' reference, generated from the code (a test checks it is fresh).
docs: install
	$(BIN)/python -m latepoint_forms.reference > docs/API.md

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
