# Two commands matter: `make run` (the platform, embedded defaults) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TEST_ENV := DJANGO_SETTINGS_MODULE=tts_platform.settings_test

.PHONY: run test install install-dev lint fmt migrations-check check worker bench clean browser

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

lint: install-dev
	$(BIN)/ruff check .

fmt: install-dev
	$(BIN)/ruff check --fix .

migrations-check: install-dev
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run

check: lint migrations-check
	$(TEST_ENV) $(BIN)/python manage.py check

# The browser tests drive Debian's Chromium through Playwright (no browser download).
browser:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

test: check browser
	mkdir -p var
	$(TEST_ENV) $(BIN)/python -m pytest

worker: install
	$(BIN)/python -m celery -A tts_platform worker -Q cpu,default -l info

clean:
	rm -rf $(VENV) var
