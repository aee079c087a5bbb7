# Two commands on a fresh machine: `make serve` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
INDEX_DIR ?= var/index
# The embedding model's ONNX export, read by the default EMBEDDING_BACKEND=onnx.
ONNX_DIR ?= var/models/all-MiniLM-L6-v2-onnx
ARTICLES ?= data/articles
# Supply chain: every third-party package comes from a hashed lock (`make lock`), and so does
# the installer. scripts/install_locked.sh (the Dockerfile runs it too) installs uv from
# requirements-installer.lock with the venv's bundled pip (one wheel, hash-checked, nothing to
# resolve), then each lock with `uv pip install --require-hashes --only-binary :all:`: uv refuses
# any file whose sha256 is not in the lock, any package the lock does not pin, and any sdist (no
# build code runs at install time). Why uv and not a pinned pip: both install the same lock
# correctly whatever the registry published since, and uv does it 6x faster on a fresh clone
# (.venv/.test 14.5 s against 88.6 s with pip 26.3, no caches; BENCHMARKS.md "Installing").
# The bundled pip (23.2.1 with Python 3.11.7) resolves the lock wrongly once a newer lxml is out.
INSTALL := scripts/install_locked.sh
# The project itself has no hash: its dependencies (and setuptools, its build backend) are all
# in the lock, so it is installed with --no-deps from those, and nothing else is fetched.
# pip-tools and pip-audit live in their own venv, installed from their own hashed lock.
TOOLS ?= .venv-tools
LOCKS := requirements.lock requirements-test.lock requirements-tools.lock requirements-installer.lock

export INDEX_DIR PORT ONNX_DIR

.PHONY: serve cluster test test-fast lint docs index onnx openapi lock audit soak clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(PY) pyproject.toml requirements.lock requirements-installer.lock
	$(INSTALL) $(VENV) requirements.lock
	$(INSTALL) $(VENV) --project -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.lock
	$(INSTALL) $(VENV) requirements-test.lock
	touch $@

$(TOOLS)/.installed: requirements-tools.lock requirements-installer.lock
	$(PYTHON) -m venv $(TOOLS)
	$(INSTALL) $(TOOLS) requirements-tools.lock
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

# nginx in front of several instances (`make cluster`, tests/service/test_cluster.py): Debian's nginx-light.
NGINX := /usr/sbin/nginx
$(NGINX):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light

# nginx on 127.0.0.1:$(CLUSTER_PORT) in front of $(INSTANCES) instances sharing INDEX_DIR; Ctrl-C stops all.
CLUSTER_PORT ?= 8080
INSTANCES ?= 2
# ARCHIVE=postgres: separate hosts (each its own INDEX_DIR under var/cluster/) sharing one archive in a
# local PostgreSQL (var/postgres, Debian's package, installed if missing; docs/archive.md).
ARCHIVE ?= sqlite
# PORT given on the command line (make cluster PORT=9000) is nginx's port; else CLUSTER_PORT.
NGINX_PORT = $(if $(filter command line,$(origin PORT)),$(PORT),$(CLUSTER_PORT))
cluster: $(VENV)/.runtime $(ONNX_DIR)/model.onnx $(NGINX) $(if $(filter postgres,$(ARCHIVE)),$(POSTGRES),$(INDEX_DIR)/CURRENT)
	$(PY) scripts/cluster.py --instances $(INSTANCES) --port $(NGINX_PORT) --archive $(ARCHIVE) --articles $(ARTICLES)

# The shared archive's tests start their own server from Debian's PostgreSQL (tests/conftest.py).
POSTGRES := /usr/lib/postgresql
$(POSTGRES):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql

test: $(VENV)/.test $(CHROMIUM) $(NGINX) $(POSTGRES)
	$(PY) -m pytest $(PYTEST_ARGS)

# The tests that load no model and export nothing (tests/conftest.py marks the others `model`).
test-fast: $(VENV)/.test $(NGINX) $(POSTGRES)
	TEST_HIDE_MODELS=1 $(PY) -m pytest -m "not model" $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint Dockerfile

# The documentation site (mkdocs.yml, docs/) into var/site, strictly: a broken link, a missing
# page or an anchor pointing nowhere fails the build.
docs: $(VENV)/.test
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Add the sample articles to the index and write a new snapshot (a running service picks it up).
index: $(VENV)/.runtime $(ONNX_DIR)/model.onnx
	$(PY) scripts/build_index.py --out $(INDEX_DIR) $(ARTICLES)

# Soak: real gunicorn, 32 clients mixing verify, batch and article writes (CI runs 60 s of it).
SOAK_SECONDS ?= 300
soak: $(VENV)/.test $(ONNX_DIR)/model.onnx
	$(PY) benchmarks/soak.py --duration $(SOAK_SECONDS) --clients 32 --check

# Re-export the ONNX model, fp32 and int8 (after a model or library upgrade).
onnx: $(VENV)/.runtime
	$(PY) scripts/export_onnx.py --out $(ONNX_DIR) --int8

# Regenerate openapi.yaml from the schemas (a test fails when it drifts).
openapi: $(VENV)/.runtime
	$(PY) scripts/export_openapi.py > openapi.yaml

# Re-resolve the hashed locks after changing dependencies in pyproject.toml, requirements-tools.in
# or requirements-installer.in (the uv that installs them: a new uv is a one-line change there).
# Current pins are kept where they still fit; `make lock LOCK_ARGS=--upgrade` moves everything to
# the newest releases, `LOCK_ARGS='--upgrade-package NAME'` one package. The test lock is
# constrained by the runtime lock, so tests run the exact versions the service ships with; it
# also holds the cluster extra (ray, for `build_index.py --ray`), which the runtime lock leaves out.
# Hashes are those of every file of each pinned release on PyPI (and of the local torch CPU wheel).
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(TOOLS)/bin/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: $(TOOLS)/.installed
	$(PIP_COMPILE) --all-build-deps -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --all-build-deps --extra test --extra bench --extra cluster --extra docs -c requirements.lock -o requirements-test.lock pyproject.toml
	$(PIP_COMPILE) -o requirements-tools.lock requirements-tools.in
	$(PIP_COMPILE) -o requirements-installer.lock requirements-installer.in

# Known vulnerabilities in every locked package (PyPI's advisory feed, as pip-audit reads it).
# --strict: a package the feed cannot be asked about fails the audit instead of being skipped
# with 'No known vulnerabilities found'. Local version labels are dropped for the query
# (torch 2.13.0+cpu is audited as torch 2.13.0: same source, and PyPI knows no '+cpu').
AUDIT_SERVICE ?= pypi
audit: $(TOOLS)/.installed
	mkdir -p var/audit
	for lock in $(LOCKS); do sed -E 's/^([A-Za-z0-9._-]+==[^+ ]+)\+[^ ]+/\1/' $$lock > var/audit/$$lock; done
	$(TOOLS)/bin/pip-audit --strict --disable-pip --require-hashes --progress-spinner off --desc on \
		--vulnerability-service $(AUDIT_SERVICE) $(addprefix -r var/audit/,$(LOCKS))

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .ruff_cache
