# Two commands on a fresh machine:  make run  (the demo shop)  and  make test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# Absolute links in mails (recovery, unsubscribe, …) point at the shop make run serves, unless SITE_URL is set.
SITE_URL ?= http://$(HOST):$(PORT)
RUN_ENV = SITE_URL='$(SITE_URL)'
SIZE ?= small
PYTEST_ARGS ?=
PREFLIGHT_ARGS ?=

.PHONY: install run web worker test bench bench-smoke lint messages clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# The demo shop: SQLite + an embedded broker by default; DATABASE_URL / REDIS_URL switch to PostgreSQL / Redis.
run: install
	@$(PY) -m shop.preflight
	$(PY) manage.py migrate --no-input -v 0
	$(RUN_ENV) $(PY) manage.py load_demo --size $(SIZE)
	$(RUN_ENV) $(PY) manage.py journey_rebuild_related
	@# One pass of every due job now, so the journey map's health is true before beat's first tick.
	$(RUN_ENV) $(PY) manage.py journey_tick
	@mkdir -p var
	@echo "Starting the Celery worker (with beat) in the background: log in var/worker.log"
	@$(RUN_ENV) $(VENV)/bin/celery -A shop worker -B --schedule var/celerybeat-schedule --concurrency 2 \
		--loglevel INFO > var/worker.log 2>&1 & echo $$! > var/worker.pid; \
	trap 'kill $$(cat var/worker.pid) 2>/dev/null; rm -f var/worker.pid' EXIT INT TERM; \
	echo; \
	echo "  Shop:          http://$(HOST):$(PORT)/"; \
	echo "  Django admin:  http://$(HOST):$(PORT)/admin/   (journey map: /admin/journey/journeymap/)"; \
	echo "  Oscar dashboard: http://$(HOST):$(PORT)/dashboard/"; \
	echo "  Staff login:   admin@example.com / journey-admin"; \
	echo "  Shoppers:      alice@example.com, bob@example.com / journey-demo"; \
	echo "  Mails:         var/outbox/   (links to $(SITE_URL))"; \
	echo; \
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	@$(PY) -m shop.preflight $(PREFLIGHT_ARGS)
	$(PY) -m pytest $(PYTEST_ARGS)

# Exits non-zero when a benchmark fails or misses a target (a MISSED line in its table).
bench: install
	@$(PY) -m shop.preflight
	$(PY) bench/run.py

# Every benchmark at tiny sizes on a scratch database (targets shown, not enforced): proves they all still run.
bench-smoke: install
	$(PY) bench/run.py --smoke

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

messages: install
	cd journey && ../$(PY) ../manage.py makemessages -l es --no-obsolete && ../$(PY) ../manage.py compilemessages -l es
	$(PY) manage.py makemessages -l es --no-obsolete --ignore=journey --ignore=$(VENV) --ignore=tests --ignore=bench \
		--ignore=var && $(PY) manage.py compilemessages -l es --ignore=$(VENV) --ignore=journey

clean:
	rm -rf var test-artifacts .pytest_cache .ruff_cache
