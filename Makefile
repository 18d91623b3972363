# Two entry points for a fresh machine (see README.md):
#   make demo   creates .venv, installs everything, runs the main job on bundled inputs
#   make test   creates .venv, installs everything plus dev tools, runs ruff and pytest
#   (CI also runs `make android-demo`: the phone demo's browser tests and APK build)
# torch is installed first and pinned: an unpinned torch pulls gigabytes of CUDA wheels.

PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
EXTRAS := train,eval,export,tiff,png16,dde,camera

.PHONY: demo test test-fast lint venv clean android-demo models

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

$(VENV)/.torch: $(VENV)/bin/python
	$(PIP) install -q torch==$(TORCH_VERSION)
	touch $@

$(VENV)/.installed: $(VENV)/.torch pyproject.toml
	$(PIP) install -q -e ".[$(EXTRAS),dev]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/edgerestore demo --out demo_out

# Re-export the models packaged inside edgerestore (src/edgerestore/runtime/packaged/)
# from src/edgerestore/models/weights; only models whose weights changed are redone
# (FORCE=1: all).
models: venv
	$(VENV)/bin/edgerestore export --shipped $(if $(FORCE),--force)

# lint-imports checks the layering (pyproject.toml, ARCHITECTURE.md) on the source tree
# itself: src/edgerestore/ is the package, so no copy is laid out first.
lint: venv
	$(VENV)/bin/ruff check .
	PYTHONPATH=src $(VENV)/bin/lint-imports --no-cache

test: lint
	$(VENV)/bin/pytest -q

# The edit loop: the fast tests only (CI runs them all through `make test`).
test-fast: venv
	$(VENV)/bin/pytest -q -m "not slow"

android-demo: venv
	bash android_demo/ci.sh $(VENV)

clean:
	rm -rf $(VENV) demo_out .pytest_cache .ruff_cache
