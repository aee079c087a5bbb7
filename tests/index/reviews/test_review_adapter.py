"""The query adapter of review matching without a model: the shipped artifact (its sha256, its
card), applying it, the review index searching with adapted vectors while reporting plain
cosines, and the setting that turns it off."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.common.fileio import sha256_file
from index.reviews.adapter import (
    CARD_FILE,
    DEFAULT_ADAPTER_DIR,
    MATRIX_FILE,
    AdapterMismatch,
    QueryAdapter,
    load_adapter,
)
from index.reviews.claimreview import review_from_record
from index.reviews.matching import ReviewIndex, match_reviews
from index.reviews.store import ReviewStore
from index.storage.archive import Archive
from service.config import Settings

# The committed adapter (models/review-adapter/adapter.npy): changing it is a decision, made here too.
SHIPPED_SHA256 = "1d00779e05d739fc7c22b88629a6841cf1afcae442a2094b1618ce5517c70eff"
DIM = 8


def test_the_shipped_adapter_is_the_one_its_card_and_this_test_name():
    assert sha256_file(DEFAULT_ADAPTER_DIR / MATRIX_FILE) == SHIPPED_SHA256
    card = json.loads((DEFAULT_ADAPTER_DIR / CARD_FILE).read_text("utf-8"))
    assert card["sha256"] == SHIPPED_SHA256 and card["model"] == "all-MiniLM-L6-v2"
    assert "train split only" in card["data"]["source"]
    adapter = load_adapter(model="all-MiniLM-L6-v2", dimension=384)
    assert adapter.matrix.shape == (384, 384) and adapter.matrix.dtype == np.float32
    assert adapter.sha256 == SHIPPED_SHA256


def test_the_shipped_adapter_refuses_another_model_or_dimension():
    with pytest.raises(AdapterMismatch):
        load_adapter(model="all-mpnet-base-v2")
    with pytest.raises(AdapterMismatch):
        load_adapter(dimension=768)


def test_a_changed_matrix_file_is_refused(tmp_path):
    matrix = np.eye(DIM, dtype=np.float32)
    np.save(tmp_path / MATRIX_FILE, matrix)
    card = {"model": "m", "sha256": sha256_file(tmp_path / MATRIX_FILE)}
    (tmp_path / CARD_FILE).write_text(json.dumps(card), "utf-8")
    assert load_adapter(tmp_path, model="m", dimension=DIM).dimension == DIM
    np.save(tmp_path / MATRIX_FILE, 2 * matrix)
    with pytest.raises(AdapterMismatch, match="sha256"):
        load_adapter(tmp_path)


def test_applying_the_adapter_maps_then_renormalises():
    rng = np.random.default_rng(0)
    matrix = (np.eye(DIM) + 0.3 * rng.standard_normal((DIM, DIM))).astype(np.float32)
    vectors = rng.standard_normal((3, DIM)).astype(np.float32)
    out = QueryAdapter(matrix, "m", "x").apply(vectors)
    expected = vectors @ matrix
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(QueryAdapter(np.eye(DIM, dtype=np.float32), "m", "x").apply(unit), unit, atol=1e-6)


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_the_dense_search_looks_with_the_adapted_vector_and_reports_the_plain_cosine(tmp_path):
    store = ReviewStore(Archive.open(tmp_path, create=True))
    near = review_from_record({"claim": "alpha", "reviewed_by": "desk", "reviewed_at": "2025-01-02"})
    mapped = review_from_record({"claim": "beta", "reviewed_by": "desk", "reviewed_at": "2025-01-02"})
    e = np.eye(DIM, dtype=np.float32)
    generation, _ = store.put_reviews([(near, unit(e[0] + 0.1 * e[2])), (mapped, e[1])], "test-model")
    claim = unit(e[0])[None, :]
    swap = e[[1, 0, *range(2, DIM)]]  # x @ swap exchanges the first two coordinates
    plain = ReviewIndex(store, DIM)
    adapted = ReviewIndex(store, DIM, adapter=QueryAdapter(swap, "test-model", "x"))
    [[first_plain, *_]] = match_reviews(plain, ["zzz"], claim, generation)
    [[first, *_]] = match_reviews(adapted, ["zzz"], claim, generation)
    assert first_plain.review.id == near.id
    assert first.review.id == mapped.id and first.score == pytest.approx(0.0, abs=1e-4)  # the plain cosine
    with pytest.raises(ValueError):
        ReviewIndex(store, DIM + 1, adapter=QueryAdapter(swap, "test-model", "x"))


def test_review_adapter_setting():
    assert Settings().review_adapter is None  # the shipped one
    assert Settings.from_env({"REVIEW_ADAPTER": "off"}).review_adapter == "off"
    assert Settings.from_env({"REVIEW_ADAPTER": "/some/dir"}).review_adapter == "/some/dir"


class _Embedder:
    def __init__(self, name: str, dimension: int):
        self.name, self.dimension = name, dimension


def test_the_engine_loads_the_adapter_only_when_named(tmp_path):
    from service.engine import _load_review_adapter

    minilm = _Embedder("all-MiniLM-L6-v2", 384)
    assert _load_review_adapter(Settings(review_adapter="off"), minilm) is None
    # Off by default (issue 36): trained on tweets, it lowers MAP@5 on debate sentences.
    assert _load_review_adapter(Settings(), minilm) is None
    assert _load_review_adapter(Settings(review_adapter="shipped"), minilm).sha256 == SHIPPED_SHA256
    named = Settings(review_adapter=str(DEFAULT_ADAPTER_DIR))
    assert _load_review_adapter(named, minilm).sha256 == SHIPPED_SHA256
    with pytest.raises(AdapterMismatch):  # named: must load (the worker stays not ready)
        _load_review_adapter(named, _Embedder("another-model", 768))
    with pytest.raises(AdapterMismatch):
        _load_review_adapter(Settings(review_adapter="shipped"), _Embedder("another-model", 768))
    with pytest.raises(FileNotFoundError):
        _load_review_adapter(Settings(review_adapter=str(tmp_path / "absent")), minilm)
