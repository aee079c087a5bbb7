"""Shared fixtures: the real model and a real index of the sample corpus, built once per session."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = ROOT / "data" / "articles"
SAMPLE_ARTICLE = SAMPLE_ARTICLES / "vance-zelensky-lasting-peace.txt"


@pytest.fixture(scope="session", autouse=True)
def onnx_dir(tmp_path_factory) -> Path:
    """The packaged model's ONNX export (fp32 and int8), made once per session.

    ONNX_DIR points at it for the whole session, so the default backend finds it
    wherever it is loaded: fixtures, `Settings()` in tests, scripts and gunicorn
    run as subprocesses.
    """
    from index.onnx_export import export_onnx

    out = tmp_path_factory.mktemp("onnx")
    export_onnx(None, out, int8=True)
    previous = os.environ.get("ONNX_DIR")
    os.environ["ONNX_DIR"] = str(out)
    yield out
    if previous is None:
        os.environ.pop("ONNX_DIR", None)
    else:
        os.environ["ONNX_DIR"] = previous


@pytest.fixture(scope="session")
def embedder():
    from index.embedder import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def torch_embedder(embedder):
    """The reference the other backends are held to."""
    from index.embedder import load_embedder

    return embedder if embedder.backend == "torch" else load_embedder(backend="torch")


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory, embedder) -> Path:
    from index.builder import build_index

    out = tmp_path_factory.mktemp("index")
    build_index([SAMPLE_ARTICLES], out, embedder)
    return out


@pytest.fixture
def writable_index_dir(tmp_path, sample_index_dir) -> Path:
    """A private copy of the sample index, for tests that write to it."""
    copy = tmp_path / "index"
    shutil.copytree(sample_index_dir, copy)
    return copy


@pytest.fixture(scope="session")
def verifier(embedder, sample_index_dir):
    from index.verify import ClaimVerifier, load_index

    return ClaimVerifier(embedder, load_index(sample_index_dir))


@pytest.fixture(scope="session")
def sample_article():
    from index.articles import parse_article_text

    return parse_article_text(SAMPLE_ARTICLE.read_text("utf-8"), source=str(SAMPLE_ARTICLE))


@pytest.fixture
def app(verifier, sample_index_dir):
    from service import create_app
    from service.config import Settings

    return create_app(Settings(index_dir=str(sample_index_dir), load_in_background=False), verifier=verifier)


@pytest.fixture
def client(app):
    return app.test_client()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_json(url: str, body: object, headers: dict | None = None, method: str = "POST") -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextlib.contextmanager
def running_gunicorn(index_dir: Path, workers: int = 2, log_path: Path | None = None, **env: str):
    """gunicorn serving `index_dir` on a free port, in its own process group; yields (base url, process).

    Waits until every worker answers /readyz; the JSON access log goes to `log_path` if given.
    """
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "INDEX_DIR": str(index_dir), "WEB_CONCURRENCY": str(workers), **env}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(log_path or os.devnull, "w") as log:
        proc = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "service.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a test can kill -9 the whole service (master and workers)
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, proc, checks=3 * workers)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_until_ready(base: str, proc: subprocess.Popen, checks: int = 6, timeout: float = 120) -> None:
    """Until `checks` /readyz calls in a row say ready (each worker answers for itself)."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"gunicorn exited with {proc.returncode}"
        try:
            if all(get_json(base + "/readyz")[0] == 200 for _ in range(checks)):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        assert time.monotonic() < deadline, "gunicorn did not become ready"
        time.sleep(0.5)


@pytest.fixture(scope="session")
def server(sample_index_dir):
    with running_gunicorn(sample_index_dir) as running:
        yield running
