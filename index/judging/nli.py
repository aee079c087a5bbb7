"""The NLI judge: entailment / neutral / contradiction probabilities for (evidence, claim) pairs.

The default model ships with the project (`models/nli-minilm-l6/`): a MiniLM-L6
cross-encoder trained here by `scripts/train_nli.py`, exported to ONNX and quantised by
`scripts/export_nli.py`. It runs on ONNX Runtime with the `tokenizers` library, so
serving needs neither torch nor a download. Its `nli.json` names the labels in output
order, the maximum length, the temperature fitted on dev data, and the graph's sha256,
which is checked at load.

`NLI_MODEL` may instead name any local sentence-transformers CrossEncoder directory
trained for NLI whose config names its labels; it runs on torch.

Pairs of concurrent requests go through one `CallBatcher`: one model call at a time per
worker, carrying every pair queued meanwhile.

**Self-check at load.** The model directory carries `selfcheck.json`: a few dozen pairs with
the probabilities the int8 graph gives them in exact integer arithmetic (as on a VNNI CPU)
and those of its fp32 form. At load the graph reads them again; a host that reads them
further apart on average than `SELF_CHECK_TOLERANCE` (a CPU whose int8 kernels saturate, a changed
ONNX Runtime) falls back to the fp32 graph built from the same weights, and says so in the
log and in `/v1/index` (`judge.graph`, `judge.self_check`, `judge.fallback_reason`). So a host
cannot quietly serve other verdicts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from index.common.fileio import sha256_file
from index.common.metrics import softmax
from index.retrieval.batching import CallBatcher
from index.retrieval.embedder import onnx_session, read_manifest

NLI_MANIFEST = "nli.json"
NLI_FORMAT = 1
DEFAULT_NLI_DIR = Path(__file__).resolve().parents[2] / "models" / "nli-minilm-l6"
# Pairs per model call at most: a claim is judged against at most a handful of sentences,
# so 64 pairs is a dozen concurrent claims.
MAX_BATCH_PAIRS = 64
LABELS = ("entailment", "neutral", "contradiction")
SELF_CHECK = "selfcheck.json"
# The self-check's statistic: per pair the largest |ΔP| between stored and loaded readings, averaged
# over the pairs; above this the graph fails. Measured on the AMD EPYC (AVX2, no VNNI) that made
# the readings: the exact kernel reads them as stored (0.0, with 1 or 2 threads); the saturating
# u8×s8 kernel (also what ONNX Runtime runs below the `extended` optimisation level, where the
# u8 rewrite does not happen) averages 0.073 (max 0.171; 24 pairs ≥ 0.08). Between CPUs the
# fp32 parts may round differently (other vector code for LayerNorm, GELU, softmax); running
# LayerNorm unfused, one such difference, averages 0.0029 (max 0.033, and 5 of 1,009 dev
# labels flipped). The mean separates the two 25-fold; the tolerance sits between, 7× above
# rounding and 3.6× below saturation.
SELF_CHECK_TOLERANCE = 0.02
INT8, FP32 = "int8", "fp32"
# Readings kept per worker (`JUDGE_CACHE_PAIRS`; about 300 bytes each, so 15 MB): a draft is
# checked again after every small edit, and claims repeat.
DEFAULT_CACHE_PAIRS = 50_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NliScores:
    entailment: float
    neutral: float
    contradiction: float

    @property
    def label(self) -> str:
        scores = {"entailment": self.entailment, "contradiction": self.contradiction, "neutral": self.neutral}
        return max(scores, key=scores.get)


class NliModelMissing(FileNotFoundError):
    """The configured NLI model directory is absent or incomplete."""


@dataclass(frozen=True)
class SelfCheck:
    """How the loaded graph read the bundled pairs against their stored readings."""

    graph: str  # INT8 or FP32: which stored readings it was compared with
    pairs: int
    mean_difference: float  # per pair the max |ΔP| over labels, averaged over pairs: what is checked
    max_difference: float  # max |ΔP| over pairs and labels
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.mean_difference <= self.tolerance


class ReadingCache:
    """The judge's readings of recent pairs, at most `capacity` (least recently used out first).

    Keyed by a 16-byte digest of (premise, hypothesis): one cache per loaded graph, so a
    fallback graph starts empty. Thread-safe; capacity 0 keeps nothing."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._readings: OrderedDict[bytes, NliScores] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(pair: tuple[str, str]) -> bytes:
        return hashlib.blake2b(f"{pair[0]}\x00{pair[1]}".encode(), digest_size=16).digest()

    def get(self, keys: Sequence[bytes]) -> list[NliScores | None]:
        with self._lock:
            found = [self._readings.get(k) for k in keys]
            for k, reading in zip(keys, found, strict=True):
                if reading is not None:
                    self._readings.move_to_end(k)
            hits = sum(r is not None for r in found)
            self.hits += hits
            self.misses += len(keys) - hits
        return found

    def put(self, keys: Sequence[bytes], readings: Sequence[NliScores]) -> None:
        if not self.capacity:
            return
        with self._lock:
            for k, reading in zip(keys, readings, strict=True):
                self._readings[k] = reading
                self._readings.move_to_end(k)
            while len(self._readings) > self.capacity:
                self._readings.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._readings.clear()

    def __len__(self) -> int:
        return len(self._readings)


class NliScorer:
    """Scores (premise = evidence, hypothesis = claim) pairs; thread-safe, batching concurrent callers.

    `logits(pairs)` is the raw model output (columns in `labels` order); `score` applies
    the fitted temperature and maps columns to labels by name.
    """

    name: str
    backend: str
    labels: tuple[str, ...]
    temperature: float
    max_length: int

    def __init__(self, cache_pairs: int = DEFAULT_CACHE_PAIRS) -> None:
        self.batcher = CallBatcher(self._logits_unbatched, MAX_BATCH_PAIRS, name="judge")
        self._column = {label: self.labels.index(label) for label in LABELS}
        self.cache = ReadingCache(cache_pairs)

    @property
    def identity(self) -> str:
        """Which judge this is, as a rules file records it: the name, and the graph's sha256 when known."""
        digest = (getattr(self, "manifest", None) or {}).get("sha256")
        return f"{self.name} sha256:{digest}" if digest else self.name

    def _logits_unbatched(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        raise NotImplementedError

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.batcher.run(list(pairs))

    def probabilities(self, logits: np.ndarray) -> list[NliScores]:
        """Logits (columns in `labels` order) to calibrated probabilities, with the fitted temperature."""
        p = softmax(logits, self.temperature)
        c = self._column
        return [NliScores(float(r[c["entailment"]]), float(r[c["neutral"]]), float(r[c["contradiction"]])) for r in p]

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[NliScores]:
        """Calibrated probabilities for (premise, hypothesis) pairs; pairs read recently come from the cache."""
        keys = [ReadingCache.key(pair) for pair in pairs]
        found = self.cache.get(keys)
        missing = [i for i, reading in enumerate(found) if reading is None]
        if missing:
            fresh = self.probabilities(self.logits([pairs[i] for i in missing]))
            self.cache.put([keys[i] for i in missing], fresh)
            for i, reading in zip(missing, fresh, strict=True):
                found[i] = reading
        return found

    def stats(self) -> dict:
        s = self.batcher.stats()
        return {
            "model": self.name,
            "backend": self.backend,
            "model_calls": s.calls,
            "requests": s.jobs,
            "pairs": s.texts,
            "cache": {
                "pairs": len(self.cache),
                "capacity": self.cache.capacity,
                "hits": self.cache.hits,
                "misses": self.cache.misses,
            },
        }

    def read_directly(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Calibrated probabilities (columns entailment, neutral, contradiction), bypassing the batcher."""
        p = softmax(self._logits_unbatched(list(pairs)), self.temperature)
        return p[:, [self._column[label] for label in LABELS]]


def _label_order(id2label: dict) -> tuple[str, ...]:
    """The model's labels in output order, named as LABELS ('ENTAILMENT', 'entails' → 'entailment')."""
    ordered = []
    for i in sorted(int(k) for k in id2label):
        raw = str(id2label[i] if i in id2label else id2label[str(i)]).lower()
        match = [label for label in LABELS if raw.startswith(label[:7])]
        if len(match) != 1:
            raise ValueError(f"NLI model label {raw!r} is none of {LABELS}")
        ordered.append(match[0])
    if sorted(ordered) != sorted(LABELS):
        raise ValueError(f"NLI model labels {ordered} are not exactly {LABELS}")
    return tuple(ordered)


class OnnxNli(NliScorer):
    """The shipped format: an ONNX graph from (input_ids, attention_mask, token_type_ids) to logits."""

    backend = "onnx"
    # One pair per session run: the int8 graph quantises activations with one scale per run,
    # so in a shared run a pair's probabilities moved with its batch-mates (and the same claim
    # got a different evidence order under load). One pair a run costs CPU time measured in
    # BENCHMARKS.md ("NLI judge"); the batcher still gives one call per worker at a time.
    pairs_per_run = 1

    def __init__(
        self,
        directory: Path,
        manifest: dict,
        threads: int | None = None,
        graph: str | None = None,
        cache_pairs: int = DEFAULT_CACHE_PAIRS,
    ):
        from tokenizers import Tokenizer

        self.name = manifest.get("name", directory.name)
        self.labels = _label_order(dict(enumerate(manifest["labels"])))
        self.temperature = float(manifest.get("temperature", 1.0))
        self.max_length = int(manifest["max_length"])
        self.manifest = manifest
        stored = FP32 if manifest.get("int8") is None else INT8
        self.graph = graph or stored
        self.self_check: SelfCheck | None = None
        self.fallback_reason: str | None = None
        if self.graph == stored:
            self.session = onnx_session(directory / manifest["graph"], threads)
        elif (self.graph, stored) == (FP32, INT8):
            from index.retrieval.onnx_export import dequantized

            self.session = onnx_session(dequantized(directory / manifest["graph"]), threads)
        else:
            raise ValueError(f"cannot run the {stored} graph of {directory} as {self.graph}")
        self._inputs = [i.name for i in self.session.get_inputs()]
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The evidence (first) is cut to fit, never the claim: the claim is what is judged.
        tokenizer.enable_truncation(max_length=self.max_length, strategy="only_first", direction="right")
        pad = manifest.get("pad_token", "[PAD]")
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad), pad_token=pad, direction="right")
        self._tokenizer = tokenizer
        # For a claim that alone exceeds max_length (only_first cannot fit it): cut both.
        self._fallback = Tokenizer.from_str(tokenizer.to_str())
        self._fallback.enable_truncation(max_length=self.max_length, strategy="longest_first", direction="right")
        self._fallback.no_padding()
        super().__init__(cache_pairs)

    def stats(self) -> dict:
        return super().stats() | {
            "graph": self.graph,
            "self_check": asdict(self.self_check) | {"passed": self.self_check.passed} if self.self_check else None,
            "fallback_reason": self.fallback_reason,
        }

    def check_against(self, reference: dict) -> SelfCheck:
        """Read the reference's pairs and compare with its stored readings for this graph."""
        pairs = [tuple(pair) for pair in reference["pairs"]]
        expected = np.asarray(reference["readings"][self.graph], dtype=np.float64)
        per_pair = np.abs(self.read_directly(pairs) - expected).max(axis=1)
        self.self_check = SelfCheck(
            self.graph,
            len(pairs),
            round(float(per_pair.mean()), 6),
            round(float(per_pair.max()), 6),
            SELF_CHECK_TOLERANCE,
        )
        return self.self_check

    def _logits_unbatched(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        out = np.zeros((len(pairs), len(self.labels)), dtype=np.float32)
        for first in range(0, len(pairs), self.pairs_per_run):
            rows = list(range(first, min(first + self.pairs_per_run, len(pairs))))
            try:
                encodings = self._tokenizer.encode_batch([pairs[i] for i in rows], add_special_tokens=True)
            except Exception as exc:  # the claim alone longer than max_length: cut the claim too
                if "truncat" not in str(exc).lower():
                    raise
                encodings = [self._fallback.encode(*pairs[i], add_special_tokens=True) for i in rows]
                width = max(len(e.ids) for e in encodings)
                for e in encodings:
                    e.pad(width)
            arrays = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            (logits,) = self.session.run(None, {name: arrays[name] for name in self._inputs})
            out[rows] = logits
        return out


class TorchNli(NliScorer):
    """Any local sentence-transformers CrossEncoder trained for NLI (NLI_MODEL pointing elsewhere)."""

    backend = "torch"

    def __init__(self, directory: Path, cache_pairs: int = DEFAULT_CACHE_PAIRS):
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(str(directory), device="cpu", local_files_only=True)
        self.name = directory.name
        self.labels = _label_order(self.model.model.config.id2label)
        self.temperature = 1.0
        self.max_length = int(self.model.max_seq_length or 512)
        super().__init__(cache_pairs)

    def _logits_unbatched(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        return np.asarray(self.model.predict(pairs, apply_softmax=False, show_progress_bar=False), dtype=np.float32)


def load_nli(
    model_path: str | Path | None = None, threads: int | None = None, cache_pairs: int = DEFAULT_CACHE_PAIRS
) -> NliScorer:
    """The NLI judge from a local directory (default: the shipped model); never from a hub.

    A directory with `nli.json` is the ONNX format `scripts/export_nli.py` writes (its
    graph's sha256 is checked); any other is read as a sentence-transformers CrossEncoder.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    directory = Path(model_path) if model_path else DEFAULT_NLI_DIR
    if not directory.is_dir():
        raise NliModelMissing(f"NLI model directory not found: {directory}")
    if (directory / NLI_MANIFEST).is_file():
        manifest = read_manifest(directory / NLI_MANIFEST, NLI_FORMAT, "NLI model", NliModelMissing)
        graph = directory / manifest["graph"]
        if not graph.is_file():
            raise NliModelMissing(f"NLI model graph not found: {graph}")
        if sha256_file(graph) != manifest["sha256"]:
            raise NliModelMissing(f"NLI model graph {graph} does not match the sha256 in {NLI_MANIFEST}")
        return checked(directory, manifest, threads, cache_pairs)
    return TorchNli(directory, cache_pairs)


def read_self_check(directory: Path, manifest: dict) -> dict | None:
    """The bundled self-check pairs and readings, if present and made for this graph."""
    path = directory / SELF_CHECK
    if not path.is_file():
        return None
    reference = json.loads(path.read_text("utf-8"))
    if reference.get("sha256") != manifest["sha256"]:
        raise NliModelMissing(f"{path} was made for another graph than {manifest['graph']}; re-run the export")
    return reference


def checked(
    directory: Path, manifest: dict, threads: int | None = None, cache_pairs: int = DEFAULT_CACHE_PAIRS
) -> OnnxNli:
    """The shipped graph if it reads the self-check pairs as stored, else its fp32 form."""
    reference = read_self_check(directory, manifest)
    scorer = OnnxNli(directory, manifest, threads=threads, cache_pairs=cache_pairs)
    if reference is None:
        log.warning("the NLI model %s has no %s: its readings on this CPU are not checked", directory, SELF_CHECK)
        return scorer
    first = scorer.check_against(reference)
    if first.passed or scorer.graph == FP32:
        if not first.passed:
            raise NliModelMissing(f"the fp32 NLI graph misreads its self-check pairs: {first}")
        return scorer
    reason = (
        f"the {first.graph} graph read the {first.pairs} self-check pairs {first.mean_difference:.4f} away "
        f"from their stored readings on average (up to {first.max_difference:.4f}; tolerance {first.tolerance}): "
        "this CPU's int8 arithmetic differs; serving the fp32 graph instead (same weights, slower)"
    )
    log.warning("NLI judge: %s", reason)
    fallback = OnnxNli(directory, manifest, threads=threads, graph=FP32, cache_pairs=cache_pairs)
    second = fallback.check_against(reference)
    if not second.passed:
        raise NliModelMissing(f"{reason}; and the fp32 graph misreads them too: {second}")
    fallback.fallback_reason = reason
    return fallback
