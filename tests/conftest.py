"""Shared fixtures: the real model and a real index of the sample corpus, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = ROOT / "data" / "articles"
SAMPLE_ARTICLE = SAMPLE_ARTICLES / "vance-zelensky-lasting-peace.txt"


@pytest.fixture(scope="session")
def embedder():
    from index.embedder import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory, embedder) -> Path:
    from index.builder import build_index

    out = tmp_path_factory.mktemp("index")
    build_index([SAMPLE_ARTICLES], out, embedder)
    return out


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
