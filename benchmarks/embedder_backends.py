"""Embedder backends side by side: torch vs ONNX Runtime fp32 vs ONNX Runtime int8, same run.

    .venv/bin/python benchmarks/embedder_backends.py [--threads 1] [--onnx-dir DIR]

Every backend gets the same texts (the corpus's sentences and the dev claims), batch size and
thread cap, in one process, the order rotating each round: throughput (`Embedder.encode` over the
set, median sentences/s); single-claim latency (`encode([claim])`, median and p95); cosine to torch
(batched, and one claim at a time); top-1 on the dev claims through `ClaimVerifier` on an index built
with each backend (agreement = first evidence sentence is torch's; also with the torch-built index),
with `index.evaluation.evaluate`'s hit@1 and verdict accuracy. Exports fp32 + int8 to --onnx-dir first
if it has none.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from statistics import median

import numpy as np
from harness import DEV_CLAIMS, ROOT, command, machine, ms_each, percentile, rotated, table  # first: path, flags

from index.documents.sentences import article_sentences
from index.evaluation import evaluate, load_claims
from index.ingestion.builder import build_index
from index.ingestion.ingest import read_articles
from index.retrieval.embedder import ONNX_FILES, default_onnx_dir, load_embedder
from index.verify import ClaimVerifier, load_index

SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
BACKENDS = ("torch", "onnx", "onnx-int8")


def _corpus_default() -> Path:
    return SHARED_CORPUS if SHARED_CORPUS.is_dir() and any(SHARED_CORPUS.iterdir()) else ROOT / "data" / "articles"


def _top1(verifier: ClaimVerifier, claims: list[str]) -> list[str | None]:
    return [r.evidence[0].text if r.evidence else None for r in verifier.verify_claims(claims, top_k=5)]


def _interleaved(items: list, call) -> dict[str, list[float]]:
    """Milliseconds of `call(backend, item)` for each item and backend, the backends' order rotating per item."""
    ms: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for i, item in enumerate(items):
        for b in rotated(BACKENDS, i):
            ms[b] += ms_each(lambda x, b=b: call(b, x), [item])
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--threads", type=int, default=1, help="intra-op threads for every backend (service: 1)")
    add("--batch-size", type=int, default=64)
    add("--rounds", type=int, default=7, help="throughput rounds (median reported)")
    add("--copies", type=int, default=5, help="times the sentence set is repeated per round")
    add("--claims", type=int, default=200, help="single-claim latency samples per backend")
    add("--corpus", type=Path, default=_corpus_default(), help="article folder")
    add("--onnx-dir", default=default_onnx_dir(), help="ONNX export (made here if missing)")
    args = parser.parse_args()

    onnx_dir = Path(args.onnx_dir)
    if not all((onnx_dir / f).is_file() for f in ONNX_FILES.values()):
        from index.retrieval.onnx_export import export_onnx

        print(f"exporting fp32 + int8 to {onnx_dir} first", file=sys.stderr)
        export_onnx(None, onnx_dir, int8=True)

    embedders = {
        b: load_embedder(batch_size=args.batch_size, threads=args.threads, backend=b, onnx_dir=onnx_dir)
        for b in BACKENDS
    }
    articles = read_articles([args.corpus]).articles
    sentences = [s.text for a in articles for s in article_sentences(a)]
    dev = load_claims(DEV_CLAIMS)
    claims = [c.claim for c in dev]
    unique = sentences + claims
    texts = unique * args.copies

    for e in embedders.values():  # warm-up: first-call allocations, lazy initialisation
        e.encode(unique[: args.batch_size])
        e.encode([claims[0]])

    rounds = _interleaved([texts] * args.rounds, lambda b, x: embedders[b].encode(x))
    throughput = {b: [len(texts) / (ms / 1000) for ms in rounds[b]] for b in BACKENDS}
    latency = _interleaved([claims[i % len(claims)] for i in range(args.claims)], lambda b, c: embedders[b].encode([c]))

    reference = embedders["torch"].encode(unique)
    cosine = {b: (embedders[b].encode(unique) * reference).sum(axis=1) for b in BACKENDS}
    single_ref = np.vstack([embedders["torch"].encode([c]) for c in claims])
    single_cos = {b: (np.vstack([embedders[b].encode([c]) for c in claims]) * single_ref).sum(axis=1) for b in BACKENDS}

    quality, differing = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        indexes = {}
        for b in BACKENDS:
            build_index([args.corpus], Path(tmp) / b, embedders[b])
            indexes[b] = load_index(Path(tmp) / b)
        verifiers = {b: ClaimVerifier(embedders[b], indexes[b]) for b in BACKENDS}
        torch_top1 = _top1(verifiers["torch"], claims)
        for b in BACKENDS:
            own = _top1(verifiers[b], claims)
            mixed = _top1(ClaimVerifier(embedders[b], indexes["torch"]), claims)
            figures = evaluate(verifiers[b], dev)
            differing[b] = [(c, t, o) for c, t, o in zip(claims, torch_top1, own, strict=True) if t != o]
            quality[b] = {
                "agree": sum(x == y for x, y in zip(own, torch_top1, strict=True)),
                "agree_mixed": sum(x == y for x, y in zip(mixed, torch_top1, strict=True)),
                "hit1": figures.hit_at_1,
                "verdicts": figures.verdict_accuracy,
            }
        verify_ms = _interleaved(claims, lambda b, c: verifiers[b].verify_claim(c))

    t_torch, l_torch = median(throughput["torch"]), median(latency["torch"])
    print(f"```sh\n{command()}\n```\n")
    print(
        f"{machine()} (load at the end); "
        f"torch {version('torch')}, onnxruntime {version('onnxruntime')}, sentence-transformers "
        f"{version('sentence-transformers')}; {args.threads} intra-op thread(s), batch size {args.batch_size}; "
        f"{len(unique)} distinct texts ({len(sentences)} sentences of {os.path.relpath(args.corpus, ROOT)}/, "
        f"{len(claims)} dev claims) × {args.copies} per round, {args.rounds} rounds; "
        f"{args.claims} single-claim calls per backend.\n"
    )
    n, rows = len(claims), []
    for b in BACKENDS:
        t, lat, q = median(throughput[b]), median(latency[b]), quality[b]
        rows.append(
            f"{b} | {t:.0f} | {t / t_torch:.2f} | {lat:.2f} / {percentile(latency[b], 95):.2f} | {l_torch / lat:.2f} "
            f"| {cosine[b].min():.4f} / {cosine[b].mean():.4f} | {single_cos[b].min():.4f} "
            f"| {q['agree']}/{n} / {q['agree_mixed']}/{n} | {q['hit1']:.3f} | {q['verdicts']:.3f} "
            f"| {median(verify_ms[b]):.1f}"
        )
    header = (
        "backend | encode throughput (sentences/s, median) | × torch | single-claim latency median / p95 (ms) "
        "| × torch (median) | cosine to torch min / mean (batched) | min (single claims) "
        "| top-1 = torch's (own index / torch index) | hit@1 | verdict accuracy | verify_claim median (ms)"
    )
    print(table(header, rows) + "\n")
    for b in BACKENDS[1:]:
        bar = (
            median(throughput[b]) / t_torch >= 1.5
            and l_torch / median(latency[b]) >= 1.5
            and min(cosine[b].min(), single_cos[b].min()) >= 0.99
            and quality[b]["agree"] == n
        )
        print(f"{b}: {'meets' if bar else 'misses'} the bar (≥1.5× both, cosine ≥ 0.99, same top-1 on {n} claims)")
        for claim, want, got in differing[b]:
            print(f"  top-1 differs for {claim!r}:\n    torch: {want!r}\n    {b}: {got!r}")


if __name__ == "__main__":
    main()
