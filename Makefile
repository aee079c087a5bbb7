# Two commands on a fresh machine: `make serve` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
INDEX_DIR ?= var/index
# The embedding model's ONNX export, read by the default EMBEDDING_BACKEND=onnx.
ONNX_DIR ?= var/models/all-MiniLM-L6-v2-onnx
ARTICLES ?= data/articles
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check

export INDEX_DIR PORT ONNX_DIR

.PHONY: serve test lint index onnx openapi lock clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip

# The lock pins every package to the set the tests ran with (see `make lock`).
$(VENV)/.runtime: $(PY) pyproject.toml requirements.lock
	$(PIP_INSTALL) -c requirements.lock -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(PIP_INSTALL) -c requirements.lock -e '.[test]'
	touch $@

# Exported once, offline, from the packaged model (`make onnx` re-exports, with int8).
$(ONNX_DIR)/model.onnx: | $(VENV)/.runtime
	$(PY) scripts/export_onnx.py --out $(ONNX_DIR)

$(INDEX_DIR)/CURRENT: | $(VENV)/.runtime $(ONNX_DIR)/model.onnx
	$(PY) scripts/build_index.py --out $(INDEX_DIR) $(ARTICLES)

serve: $(VENV)/.runtime $(ONNX_DIR)/model.onnx $(INDEX_DIR)/CURRENT
	$(VENV)/bin/gunicorn -c gunicorn.conf.py service.wsgi:app

# Browser tests drive Debian's chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

test: $(VENV)/.test $(CHROMIUM)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Rebuild the sample index (the running service keeps the old one until restarted).
index: $(VENV)/.runtime $(ONNX_DIR)/model.onnx
	$(PY) scripts/build_index.py --out $(INDEX_DIR) $(ARTICLES)

# Re-export the ONNX model, fp32 and int8 (after a model or library upgrade).
onnx: $(VENV)/.runtime
	$(PY) scripts/export_onnx.py --out $(ONNX_DIR) --int8

# Regenerate openapi.yaml from the schemas (a test fails when it drifts).
openapi: $(VENV)/.runtime
	$(PY) scripts/export_openapi.py > openapi.yaml

# Re-resolve the locked set after changing dependencies in pyproject.toml.
lock: $(VENV)/.test
	$(PIP_INSTALL) -e '.[test,bench]'
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
