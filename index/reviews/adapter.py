"""A learned query adapter for review matching: a linear map of the claim's vector, at no model cost.

The claim's all-MiniLM-L6-v2 vector is computed once per request (index/verify.py). Before the
dense search among the reviewed claims (matching.py) it is multiplied by a 384 × 384 matrix W
and L2-normalised again; the reviews' own vectors are unchanged, so nothing is re-embedded and
the archive does not depend on the adapter. W was trained on claim-matching pairs (a claim as
people post it → the claim as a fact-checker states it) by `scripts/train_review_adapter.py`,
starting from the identity and pulled toward it; its card (`models/review-adapter/card.json`
and README.md) says on what, how, and what it did on held-out tweets.

The adapter moves only *which* reviews are found and in what order. A review's `score` and
the same-claim decision (same_claim.py) still read the plain cosine of the two claims, so the
rule's cut-offs keep the meaning they were chosen for.

Cost: one (1, 384) × (384, 384) product a claim, a few microseconds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.common.fileio import sha256_file

log = logging.getLogger(__name__)

DEFAULT_ADAPTER_DIR = Path(__file__).resolve().parents[2] / "models" / "review-adapter"
MATRIX_FILE = "adapter.npy"
CARD_FILE = "card.json"


class AdapterMismatch(ValueError):
    """The adapter was trained for another embedding model or dimension, or its file changed."""


@dataclass(frozen=True)
class QueryAdapter:
    """y = normalise(x @ matrix), for vectors of the embedding model `model`."""

    matrix: np.ndarray  # float32 (d, d)
    model: str
    sha256: str

    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[0])

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """The adapted vectors (float32, C-contiguous, each row of unit length)."""
        return adapt(vectors, self.matrix)


def adapt(vectors: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """normalise(vectors @ matrix): what the service searches with, and what training scores."""
    adapted = np.asarray(vectors, dtype=np.float32) @ matrix
    norms = np.linalg.norm(adapted, axis=1, keepdims=True)
    return np.ascontiguousarray(adapted / np.maximum(norms, 1e-12), dtype=np.float32)


def load_adapter(
    directory: str | Path = DEFAULT_ADAPTER_DIR, model: str | None = None, dimension: int | None = None
) -> QueryAdapter:
    """The adapter in `directory` (matrix and card), checked against its card's sha256 and, when
    given, the embedding model's name and dimension; `AdapterMismatch` otherwise."""
    directory = Path(directory)
    card = json.loads((directory / CARD_FILE).read_text("utf-8"))
    path = directory / MATRIX_FILE
    digest = sha256_file(path)
    if digest != card["sha256"]:
        raise AdapterMismatch(f"{path}: sha256 {digest} is not the card's {card['sha256']}")
    matrix = np.load(path, allow_pickle=False)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise AdapterMismatch(f"{path}: a square matrix expected, not {matrix.shape}")
    if model is not None and model != card["model"]:
        raise AdapterMismatch(f"{path} adapts {card['model']} vectors, not {model}'s")
    if dimension is not None and dimension != matrix.shape[0]:
        raise AdapterMismatch(f"{path} adapts {matrix.shape[0]}-d vectors, not {dimension}-d")
    return QueryAdapter(np.ascontiguousarray(matrix, dtype=np.float32), card["model"], digest)
