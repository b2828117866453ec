# Two commands on a fresh machine:  make run  (the demo on SQLite)  and  make test  (the whole suite).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install install-runtime run serve test test-fast lint screenshots browser pdf-libraries deploy-check lock outbox check bench clean

## make install: the development environment, exactly requirements-dev.txt (runtime + tests and
## checks), and the app itself as an editable package (its dependencies come from the lock only).
## The lock holds every package, so pip installs it with --no-deps and `pip check` proves it whole:
## the pip a new venv starts with (23.x) resolves a dependency's extras (weasyprint's
## fonttools[woff]) to the newest release instead of the pinned one and then refuses it.
$(BIN)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.txt
	$(BIN)/pip check
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed
	@$(MAKE) --no-print-directory pdf-libraries PDF_PACKAGES="$(PDF_PACKAGES) poppler-utils"

## make install-runtime: what production needs and nothing else: requirements.txt and the app
$(BIN)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.txt
	$(BIN)/pip check
	$(BIN)/pip install --quiet --no-deps .
	touch $@

install-runtime: $(BIN)/.runtime
	@$(MAKE) --no-print-directory pdf-libraries

## make run: virtual environment from the lock file, database upgraded, demo loaded if empty, served on :5000
run: install
	$(BIN)/flask --app ais db upgrade
	$(BIN)/flask --app ais seed
	@echo "Sign in at http://$(HOST):$(PORT)/login  (owner admin / admin123, client client1@example.com / clientpass)"
	FLASK_SESSION_COOKIE_SECURE=false $(BIN)/python -m ais.devserver --host $(HOST) --port $(PORT)

## make serve: production server (gunicorn) against the configured DATABASE_URL. Installs the runtime
## lock only, unless this is already a development environment (make install), which it leaves alone.
serve: $(if $(wildcard $(BIN)/.installed),install,install-runtime)
	$(BIN)/flask --app ais db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py 'ais:create_app()'

## Debian's Pango and HarfBuzz (WeasyPrint lays out the PDF documents with them) and the DejaVu fonts
## the documents use (nothing is fetched at run time); make install adds poppler-utils (pdftotext,
## pdfinfo, pdftoppm: the tests read the PDFs back). Installed as root with apt-get when missing.
PDF_PACKAGES ?= libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
pdf-libraries:
	@dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1 || { \
	  echo "Installing Debian's $(PDF_PACKAGES) for the PDF documents"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES) >/dev/null; }

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

## make test: style and types (make lint), the whole suite (unit, integration, browser) and the security linter
test: install browser lint
	$(BIN)/python -m pytest
	$(BIN)/bandit -q -r ais -ll

test-fast: install
	$(BIN)/python -m pytest -m "not e2e" -x -q

## make lint: style, import order and types (settings in pyproject.toml; the same as .pre-commit-config.yaml)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## make screenshots: the e2e journey once, copying its chosen desktop screenshots to docs/images/
## (the pictures in docs/USER_GUIDE.md; commit them after a change to the pages)
screenshots: install browser
	AIS_DOC_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e/test_journey.py -q -p no:cacheprovider \
	  -k test_owner_bills_client_pays_owner_confirms

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

## make lock: requirements.txt (runtime) and requirements-dev.txt (runtime + dev, the same runtime
## pins) from pyproject.toml, with hashes. Existing pins are kept; LOCK_FLAGS=--upgrade (or
## LOCK_FLAGS="--upgrade-package flask") moves them.
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links $(LOCK_FLAGS)
lock: install
	$(PIP_COMPILE) --output-file requirements.txt pyproject.toml
	$(PIP_COMPILE) --extra dev --constraint requirements.txt --output-file requirements-dev.txt pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache test-output
