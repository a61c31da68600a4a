# Two commands matter: `make run` (the platform, embedded defaults) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TEST_ENV := DJANGO_SETTINGS_MODULE=tts_platform.settings_test

.PHONY: run superuser test test-fast install install-dev lint fmt typecheck migrations-check check worker worker-gpu bench clean browser nginx wrk

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

run: install
	$(BIN)/python -m tts_platform.launcher

# An admin for /admin/: asks for name and password, or takes DJANGO_SUPERUSER_USERNAME,
# DJANGO_SUPERUSER_PASSWORD (and DJANGO_SUPERUSER_EMAIL) without a prompt. Works while
# `make run` is running, or before it (it applies the migrations first).
superuser: install
	$(BIN)/python -m tts_platform.local
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py superuser

lint: install-dev
	$(BIN)/ruff check .

fmt: install-dev
	$(BIN)/ruff check --fix .

# Models against migrations only: no database is needed for that.
migrations-check: install-dev
	$(TEST_ENV) DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

# Typed modules: zero mypy errors (with django-stubs). segments.py joins once it exists.
TYPED := synthesis/fingerprint.py synthesis/cache.py $(wildcard synthesis/segments.py) \
	synthesis/services synthesis/api/responses.py

typecheck: install-dev
	$(TEST_ENV) $(BIN)/mypy $(TYPED)

check: lint typecheck migrations-check
	$(TEST_ENV) $(BIN)/python manage.py check

# The browser tests drive Debian's Chromium through Playwright (no browser download).
browser:
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core)

# The X-Accel-Redirect tests start a real nginx in front of the test server. RUNLEVEL=1
# keeps the package from starting the system nginx on port 80.
nginx:
	test -x /usr/sbin/nginx || (apt-get update && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y --no-install-recommends nginx-light)

# The HTTP benchmarks load the server with wrk (a C load generator).
wrk:
	test -x /usr/bin/wrk || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk)

test: check browser nginx
	mkdir -p var
	$(TEST_ENV) $(BIN)/python -m pytest

# Everything but the tests that need the Celery worker or a browser: the inner loop.
# By file, so each test module's model and fixtures load in one process only.
test-fast: check nginx
	mkdir -p var
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 --dist loadfile -m "not worker and not browser and not gpu"

worker: install
	$(BIN)/python -m celery -A tts_platform worker -Q cpu,default -l info

# One per GPU, after `pip install -r requirements-gpu.txt` (docs/deploy.md).
worker-gpu: install
	$(BIN)/python -m celery -A tts_platform worker -Q gpu --concurrency 1 --prefetch-multiplier 1 -l info

# Needs DATABASE_URL, REDIS_URL and CELERY_BROKER_URL: the benchmarks wipe them.
bench: install-dev wrk nginx
	mkdir -p var bench/results
	$(BIN)/python bench/fingerprint_cost.py
	$(BIN)/python bench/hit_vs_bare.py
	$(BIN)/python bench/herd.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/faults.py
	$(BIN)/python bench/audio_serving.py
	$(BIN)/python bench/bare_read_baseline.py
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) var
