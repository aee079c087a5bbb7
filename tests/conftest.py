"""Shared fixtures: the real model and a real index of the sample corpus, built once per session.

Tests pay only for what they request: the ONNX export, the embedder, the judge and the
index are fixtures, never autouse. A test that requests any of MODEL_FIXTURES (directly or
through another fixture) is marked `model`; `make test-fast` runs the others
(`pytest -m "not model"`): pure functions, parsing, config, in seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from service.processes import ROOT, free_port, running_gunicorn

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SAMPLE_ARTICLES = ROOT / "data" / "articles"
SAMPLE_ARTICLE = SAMPLE_ARTICLES / "vance-zelensky-lasting-peace.txt"


# Fixtures that load a model or export one; a test using any of them is a `model` test.
MODEL_FIXTURES = frozenset({"onnx_dir", "embedder", "torch_embedder", "nli"})


def pytest_collection_modifyitems(config, items) -> None:
    from index.evaluation import NLI_DIR

    no_shared = pytest.mark.skip(reason=f"needs the team's dev data ({NLI_DIR} is absent: a plain clone; CI has it)")
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
        if item.get_closest_marker("shared_data") and not NLI_DIR.is_dir():
            item.add_marker(no_shared)


def pytest_configure(config) -> None:
    """With TEST_HIDE_MODELS=1 (`make test-fast`), loading a model in this process fails the
    test that tried: the proof that the pure tests need none. Subprocesses are not affected."""
    if os.environ.get("TEST_HIDE_MODELS") != "1":
        return
    import onnxruntime
    import sentence_transformers
    import transformers

    def refuse(*args, **kwargs):
        raise RuntimeError("a model was loaded in a run with TEST_HIDE_MODELS=1 (mark the test `model`)")

    onnxruntime.InferenceSession.__init__ = refuse
    sentence_transformers.SentenceTransformer.__init__ = refuse
    transformers.PreTrainedModel.from_pretrained = classmethod(refuse)


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory) -> Path:
    """The packaged model's ONNX export (fp32 and int8), made once per session.

    ONNX_DIR points at it for the whole session, so the default backend finds it
    wherever it is loaded: fixtures, `Settings()` in tests, scripts and gunicorn
    run as subprocesses.
    """
    from index.retrieval.onnx_export import export_onnx

    out = tmp_path_factory.mktemp("onnx")
    export_onnx(None, out, int8=True)
    previous = os.environ.get("ONNX_DIR")
    os.environ["ONNX_DIR"] = str(out)
    yield out
    if previous is None:
        os.environ.pop("ONNX_DIR", None)
    else:
        os.environ["ONNX_DIR"] = previous


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`scripts/verify.py ARGS…` (the command-line client) in a new process, output captured."""
    command = [sys.executable, "scripts/verify.py", *args]
    return subprocess.run(command, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120)


def run_build_index(out: Path, *paths: Path, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    """`scripts/build_index.py --no-progress --out OUT PATHS…` in a new process, output captured."""
    command = [sys.executable, "scripts/build_index.py", "--no-progress", "--out", str(out), *map(str, paths)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, **popen)


@pytest.fixture(scope="session")
def embedder(onnx_dir):
    from index.retrieval.embedder import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def torch_embedder(embedder):
    """The reference the other backends are held to."""
    from index.retrieval.embedder import load_embedder

    return embedder if embedder.backend == "torch" else load_embedder(backend="torch")


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory, embedder) -> Path:
    from index.ingestion.builder import build_index

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
def nli():
    """The shipped NLI judge (models/nli-minilm-l6), loaded from the repository."""
    from index.judging.nli import load_nli

    return load_nli(threads=2)


@pytest.fixture(scope="session")
def verifier(embedder, sample_index_dir, nli):
    """The verifier as the service runs it: with the shipped judge."""
    from index.verify import ClaimVerifier, load_index

    return ClaimVerifier(embedder, load_index(sample_index_dir), nli=nli)


@pytest.fixture(scope="session")
def sample_article():
    from index.documents.articles import parse_article_text

    return parse_article_text(SAMPLE_ARTICLE.read_text("utf-8"), source=str(SAMPLE_ARTICLE))


@pytest.fixture
def app(verifier, sample_index_dir):
    from service import create_app
    from service.config import Settings

    return create_app(Settings(index_dir=str(sample_index_dir), load_in_background=False), verifier=verifier)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def server(onnx_dir, sample_index_dir):
    with running_gunicorn(sample_index_dir) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on a free port for the session (installed with apt if missing),
    run as the unprivileged `postgres` user, as `make cluster ARCHIVE=postgres` runs it."""
    from service.postgres_server import init

    parent = Path(tempfile.mkdtemp(prefix="claimcheck-pg-"))
    parent.chmod(0o755)  # the server's user must reach its data directory
    server = init(parent / "data", free_port())
    yield server
    if server.running():
        server.stop("immediate")
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def archive_url(postgres_server) -> str:
    """A new, migrated shared archive (its own database) on the session's server."""
    from index.storage.postgres import PostgresArchive

    url = postgres_server.create_database(f"test_{uuid.uuid4().hex[:12]}")
    primary = PostgresArchive(url)
    primary.migrate()
    primary.close()
    return url
