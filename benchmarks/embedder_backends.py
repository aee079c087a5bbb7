"""Embedder backends side by side: torch vs ONNX Runtime fp32 vs ONNX Runtime int8, same run.

    .venv/bin/python benchmarks/embedder_backends.py [--threads 1] [--onnx-dir DIR]

Every backend gets the same sentences (the corpus's sentences and the dev claims), the
same batch size and the same thread cap, in one process; runs are interleaved (the
order rotates each round) so load from other processes falls on all of them alike.

- throughput: `Embedder.encode` over the whole set, sentences/s, median over rounds;
- single-claim latency: `encode([claim])` for --claims claims (the dev claims, cycled),
  median and p95;
- cosine to the torch embeddings of the same texts, batched as when indexing (min, mean);
- top-1 on the dev claims through the real pipeline: an index built from the corpus with
  each backend, `ClaimVerifier` + `index.evaluation.evaluate`; agreement = share of claims
  whose first evidence sentence is torch's. Also with the torch-built index and the
  backend's claim vectors (switching backend without rebuilding).

If --onnx-dir has no export, one (fp32 + int8) is made there first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, machine, percentile  # first: the path and offline flags

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from index.builder import build_index
from index.embedder import ONNX_FILES, default_onnx_dir, load_embedder
from index.evaluation import evaluate, load_claims
from index.ingest import read_articles
from index.sentences import article_sentences
from index.verify import ClaimVerifier, load_index

DEV_CLAIMS = ROOT / "tests" / "data" / "dev_claims.jsonl"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
BACKENDS = ("torch", "onnx", "onnx-int8")


def _corpus_default() -> Path:
    return SHARED_CORPUS if SHARED_CORPUS.is_dir() and any(SHARED_CORPUS.iterdir()) else ROOT / "data" / "articles"


def _top1(verifier: ClaimVerifier, claims: list[str]) -> list[str | None]:
    return [r.evidence[0].text if r.evidence else None for r in verifier.verify_claims(claims, top_k=5)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for every backend (service: 1)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7, help="throughput rounds (median reported)")
    parser.add_argument("--copies", type=int, default=5, help="times the sentence set is repeated per round")
    parser.add_argument("--claims", type=int, default=200, help="single-claim latency samples per backend")
    parser.add_argument("--corpus", type=Path, default=_corpus_default(), help="article folder")
    parser.add_argument("--onnx-dir", default=default_onnx_dir(), help="ONNX export (made here if missing)")
    args = parser.parse_args()

    onnx_dir = Path(args.onnx_dir)
    if not all((onnx_dir / f).is_file() for f in ONNX_FILES.values()):
        from index.onnx_export import export_onnx

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
    latency_claims = [claims[i % len(claims)] for i in range(args.claims)]

    for e in embedders.values():  # warm-up: first-call allocations, lazy initialisation
        e.encode(unique[: args.batch_size])
        e.encode([claims[0]])

    throughput: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for r in range(args.rounds):
        for b in BACKENDS[r % 3 :] + BACKENDS[: r % 3]:
            started = time.perf_counter()
            embedders[b].encode(texts)
            throughput[b].append(len(texts) / (time.perf_counter() - started))
    latency: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for i, claim in enumerate(latency_claims):
        for b in BACKENDS[i % 3 :] + BACKENDS[: i % 3]:
            started = time.perf_counter()
            embedders[b].encode([claim])
            latency[b].append((time.perf_counter() - started) * 1000)

    reference = embedders["torch"].encode(unique)
    cosine = {b: (embedders[b].encode(unique) * reference).sum(axis=1) for b in BACKENDS}
    single_ref = np.vstack([embedders["torch"].encode([c]) for c in claims])
    single_cos = {b: (np.vstack([embedders[b].encode([c]) for c in claims]) * single_ref).sum(axis=1) for b in BACKENDS}

    quality = {}
    differing: dict[str, list[tuple[str, str | None, str | None]]] = {}
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
        verify_ms = {b: [] for b in BACKENDS}
        for i, claim in enumerate(claims):
            for b in BACKENDS[i % 3 :] + BACKENDS[: i % 3]:
                started = time.perf_counter()
                verifiers[b].verify_claim(claim)
                verify_ms[b].append((time.perf_counter() - started) * 1000)

    from importlib.metadata import version

    t_torch = statistics.median(throughput["torch"])
    l_torch = statistics.median(latency["torch"])
    print("```sh")
    print("python " + " ".join([f"benchmarks/{Path(__file__).name}", *sys.argv[1:]]))
    print("```\n")
    print(
        f"{machine()} (load at the end); "
        f"torch {version('torch')}, onnxruntime {version('onnxruntime')}, sentence-transformers "
        f"{version('sentence-transformers')}; {args.threads} intra-op thread(s), batch size {args.batch_size}; "
        f"{len(unique)} distinct texts ({len(sentences)} sentences of {os.path.relpath(args.corpus, ROOT)}/, "
        f"{len(claims)} dev claims) × {args.copies} per round, {args.rounds} rounds; "
        f"{args.claims} single-claim calls per backend.\n"
    )
    print(
        "| backend | encode throughput (sentences/s, median) | × torch | single-claim latency median / p95 (ms) "
        "| × torch (median) | cosine to torch min / mean (batched) | min (single claims) "
        "| top-1 = torch's (own index / torch index) | hit@1 | verdict accuracy | verify_claim median (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    n = len(claims)
    for b in BACKENDS:
        t = statistics.median(throughput[b])
        lat = statistics.median(latency[b])
        q = quality[b]
        print(
            f"| {b} | {t:.0f} | {t / t_torch:.2f} | {lat:.2f} / {percentile(latency[b], 95):.2f} | {l_torch / lat:.2f} "
            f"| {cosine[b].min():.4f} / {cosine[b].mean():.4f} | {single_cos[b].min():.4f} "
            f"| {q['agree']}/{n} / {q['agree_mixed']}/{n} | {q['hit1']:.3f} | {q['verdicts']:.3f} "
            f"| {statistics.median(verify_ms[b]):.1f} |"
        )
    print()
    for b in BACKENDS[1:]:
        bar = (
            statistics.median(throughput[b]) / t_torch >= 1.5
            and l_torch / statistics.median(latency[b]) >= 1.5
            and cosine[b].min() >= 0.99
            and single_cos[b].min() >= 0.99
            and quality[b]["agree"] == n
        )
        print(f"{b}: {'meets' if bar else 'misses'} the bar (≥1.5× both, cosine ≥ 0.99, same top-1 on {n} claims)")
        for claim, want, got in differing[b]:
            print(f"  top-1 differs for {claim!r}:\n    torch: {want!r}\n    {b}: {got!r}")


if __name__ == "__main__":
    main()
