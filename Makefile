# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCALES := locales
POT := $(LOCALES)/messages.pot
PO_FILES := $(wildcard $(LOCALES)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
EXTRACT := $(BIN)/pybabel -q extract -F pyproject.toml --no-location --sort-by-file \
	--add-comments=TRANSLATORS: --project=jaga-pekerja --copyright-holder="Jaga Pekerja" \
	bot handlers jaga storage

.PHONY: install run console test lint typecheck pytest catalogs check-catalogs update-catalogs bench clean \
	image-tools base-image image image-test

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Compile each catalog; pybabel exits non-zero on a broken catalog and that fails the build.
$(LOCALES)/%/LC_MESSAGES/messages.mo: $(LOCALES)/%/LC_MESSAGES/messages.po $(STAMP)
	@$(BIN)/pybabel -q compile --domain=messages --input-file=$< --output-file=$@

catalogs: $(MO_FILES)

run: install catalogs
	@if [ -n "$$JAGA_TELEGRAM_TOKEN$$JAGA_WHATSAPP_TOKEN" ] || \
		grep -qsE '^JAGA_(TELEGRAM|WHATSAPP)_TOKEN=.' .env; then \
		exec $(BIN)/jaga run; \
	else \
		echo "No JAGA_TELEGRAM_TOKEN or JAGA_WHATSAPP_TOKEN set: starting the terminal console (jaga console)." >&2; \
		exec $(BIN)/jaga console; \
	fi

console: install catalogs
	@$(BIN)/jaga console

test: install catalogs check-catalogs lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

typecheck: install
	$(BIN)/mypy

# The whole suite on SQLite, then every test that touches the database again on PostgreSQL
# (a private server from the pgserver wheel per test process, started and stopped by the tests).
pytest: install catalogs
	$(BIN)/pytest -q -n 2
	JAGA_TEST_DB=postgresql $(BIN)/pytest -q -n 2

# Fails when the code has strings the template or the catalogs do not have yet.
check-catalogs: install
	@tmp=$$(mktemp); trap 'rm -f $$tmp' EXIT; \
	$(EXTRACT) -o $$tmp && \
	if ! diff -q <(grep -v '^"POT-Creation-Date' $$tmp) <(grep -v '^"POT-Creation-Date' $(POT)) >/dev/null; then \
		echo "locales/messages.pot is out of date: run 'make update-catalogs'" >&2; exit 1; fi
	@$(BIN)/pybabel update --check --ignore-pot-creation-date -i $(POT) -d $(LOCALES) -D messages \
		|| { echo "catalogs are out of date: run 'make update-catalogs'" >&2; exit 1; }

# After changing user-facing strings: refresh the template and merge it into every catalog.
update-catalogs: install
	$(EXTRACT) -o $(POT)
	$(BIN)/pybabel update --ignore-pot-creation-date --no-fuzzy-matching --ignore-obsolete -i $(POT) -d $(LOCALES) -D messages

bench: install catalogs
	@$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python -m bench
	$(BIN)/python -m bench.scale

# The container image (not part of `make test`). Needs Docker's engine and, for the base image,
# debootstrap and root: no container registry is used (deploy/base-image.sh).
DOCKER ?= docker
BASE_IMAGE ?= jaga-base:bookworm
IMAGE ?= jaga-pekerja:latest

# Docker's engine and debootstrap from Debian's packages, installed (as root) and started when
# missing, so that `make image` needs nothing done by hand on a fresh machine.
image-tools:
	@command -v $(DOCKER) >/dev/null && command -v debootstrap >/dev/null || \
		{ apt-get update -q && apt-get install -y -q docker.io debootstrap; }
	@$(DOCKER) info >/dev/null 2>&1 || { (dockerd >/var/log/jaga-dockerd.log 2>&1 &); \
		for _ in $$(seq 60); do $(DOCKER) info >/dev/null 2>&1 && exit 0; sleep 1; done; \
		echo "dockerd did not start: see /var/log/jaga-dockerd.log" >&2; exit 1; }

# Built once, if missing; `docker rmi $(BASE_IMAGE)` first to make it again (security updates).
base-image: image-tools
	@$(DOCKER) image inspect $(BASE_IMAGE) >/dev/null 2>&1 || deploy/base-image.sh $(BASE_IMAGE)

image: base-image
	$(DOCKER) build --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE) .

# Starts the image for real: migrates, answers /health, stops cleanly on `docker stop`.
image-test: image
	DOCKER=$(DOCKER) deploy/image-test.sh $(IMAGE)

clean:
	rm -rf $(VENV) $(LOCALES)/*/LC_MESSAGES/*.mo .mypy_cache .ruff_cache .pytest_cache
