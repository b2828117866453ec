# Two commands on a fresh machine:  make run  (the demo on SQLite)  and  make test  (the whole suite).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run serve test test-fast browser deploy-check lock outbox check bench clean

$(BIN)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	touch $@

install: $(BIN)/.installed

## make run: virtual environment from the lock file, database upgraded, demo loaded if empty, served on :5000
run: install
	$(BIN)/flask --app ais db upgrade
	$(BIN)/flask --app ais seed
	@echo "Sign in at http://$(HOST):$(PORT)/login  (owner admin / admin123, client client1@example.com / clientpass)"
	FLASK_SESSION_COOKIE_SECURE=false $(BIN)/flask --app ais run --host $(HOST) --port $(PORT) --no-debugger --no-reload

## make serve: production server (gunicorn) against the configured DATABASE_URL
serve: install
	$(BIN)/flask --app ais db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py 'ais:create_app()'

## Debian's Chromium for the browser tests (Playwright cannot download its own browser here)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## make deploy-check: the files under deploy/ checked by systemd-analyze verify and nginx -t
## (installs Debian's systemd, nginx and openssl if missing, as `make browser` does chromium)
deploy-check:
	@{ command -v systemd-analyze && command -v nginx && command -v openssl; } >/dev/null 2>&1 || { \
	  echo "Installing Debian's systemd, nginx and openssl for the deployment checks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd nginx openssl >/dev/null; }
	deploy/check.sh

## make test: the whole suite (unit, integration, browser) and the security linter
test: install browser
	$(BIN)/python -m pytest
	$(BIN)/bandit -q -r ais -ll

test-fast: install
	$(BIN)/python -m pytest -m "not e2e" -x -q

check: install
	$(BIN)/flask --app ais check

outbox: install
	$(BIN)/flask --app ais outbox

## make bench: wrk against the portal and owner pages on PostgreSQL (gunicorn, 2 workers); results in
## docs/PERFORMANCE.md. BENCH_SIZE=large adds the 600,000-payment books; BENCH_DURATION=seconds per page.
## Needs PostgreSQL at BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432); installs Debian's wrk.
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "Installing Debian's wrk for the benchmark"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	BENCH_COMMAND="make bench$(if $(BENCH_SIZE), BENCH_SIZE=$(BENCH_SIZE))$(if $(BENCH_DURATION), BENCH_DURATION=$(BENCH_DURATION))" \
	  BENCH_SIZE="$(BENCH_SIZE)" BENCH_DURATION="$(BENCH_DURATION)" $(BIN)/python bench/run.py

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache test-output
