"""The encoder's cost per claim by batch size: the floor under any serving figure.

    .venv/bin/python benchmarks/encoder_batches.py                 # onnx and onnx-int8, batches 1..32
    .venv/bin/python benchmarks/encoder_batches.py --backends onnx,onnx-fused --sizes 1,8

`onnx-fused` (not a backend) is the fp32 export through ONNX Runtime's transformer optimizer (BERT,
12 heads, hidden 384), to see whether its fusions beat the session's own. One thread, as a worker,
through `load_embedder` on the serving benchmark's claims, encoded in consecutive batches of each
size: ms per claim (median of `--rounds`), and claims/s on `--cores` = cores / ms per claim.

    .venv/bin/python benchmarks/encoder_batches.py --bulk 2000 --threads 2   # a build's or an import's path

`--bulk N` measures the other path: `Embedder.encode` over N distinct sentences of the synthetic
corpus (seed 23, as benchmarks/review_matching.py's reviews), length-sorted inside `encode` as a
build or `import_reviews.py` calls it, once per internal batch size (`load_embedder(batch_size=)`),
the sizes taking turns going first each round: texts/s (median), its ratio to batch 64 (the old
default), and the largest difference of any vector from batch 64's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from harness import (  # first: the path and offline flags
    ROOT,
    command,
    in_batches,
    machine,
    one_worker_threads,
    parse_size,
    rotated,
    seconds_of,
    table,
)

one_worker_threads()  # a gunicorn worker's caps, before numpy, FAISS and torch load

from index.retrieval.embedder import ONNX_FILES, default_onnx_dir, load_embedder


def _fused(embedder, work: Path):
    """The same embedder running the transformer-optimised graph (fusions printed)."""
    import onnxruntime as ort
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(
        str(Path(default_onnx_dir()) / ONNX_FILES["onnx"]), model_type="bert", num_heads=12, hidden_size=384
    )
    fused = {k: v for k, v in model.get_fused_operator_statistics().items() if v}
    print(f"fusions: {fused}")
    path = work / "fused.onnx"
    model.save_model_to_file(str(path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    embedder.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return embedder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Encoder milliseconds per claim by batch size, one thread.")
    parser.add_argument("--claims", default=str(ROOT / "var" / "bench" / "index-100k-s11.claims-2000-s11.json"))
    parser.add_argument("--count", type=int, default=256, help="claims encoded per batch size and round")
    parser.add_argument("--sizes", help="batch sizes (default 1,2,4,8,16,32; with --bulk 4,8,16,32,64)")
    parser.add_argument("--backends", default="onnx,onnx-int8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--bulk", type=parse_size, default=0, help="instead: texts/s encoding N sentences in bulk")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads (--bulk)")
    args = parser.parse_args(argv)
    if args.bulk:
        return bulk(args)

    claims = json.loads(Path(args.claims).read_text("utf-8"))[: args.count]
    work = Path(tempfile.mkdtemp(prefix="encoder-batches-"))
    for backend in args.backends.split(","):
        if backend == "onnx-fused":
            embedder = _fused(load_embedder(threads=1, backend="onnx"), work)
        else:
            embedder = load_embedder(threads=1, backend=backend)
        pieces = embedder.token_counts(claims)
        print(
            f"\n{backend}: {len(claims)} claims, word pieces median {statistics.median(pieces):.0f}, "
            f"max {max(pieces)}; {args.rounds} rounds, 1 thread"
        )
        embedder.encode(claims[:32])  # warm up
        rows = []
        for size in (int(s) for s in (args.sizes or "1,2,4,8,16,32").split(",")):
            per_claim = [s / len(claims) * 1000 for s in in_batches(embedder.encode, claims, size, args.rounds)]
            ms = statistics.median(per_claim)
            rows.append([size, f"{ms:.2f}", ", ".join(f"{x:.2f}" for x in per_claim), f"{args.cores / ms * 1000:.0f}"])
        print(table(f"batch size | ms per claim (median) | rounds | claims/s on {args.cores} cores, model only", rows))
    return 0


def bulk(args: argparse.Namespace) -> int:
    """Texts/s of a bulk encode (a build's, an import's) by the embedder's internal batch size."""
    import numpy as np
    from review_matching import review_texts

    texts = review_texts(args.bulk)
    sizes = [int(s) for s in (args.sizes or "4,8,16,32,64").split(",")]
    print(f"# Bulk encoding by batch size ({command()})\n\n{machine()}\n")
    for backend in args.backends.split(","):
        embedders = {size: load_embedder(threads=args.threads, backend=backend, batch_size=size) for size in sizes}
        reference = embedders[64].encode(texts) if 64 in embedders else None
        pieces = next(iter(embedders.values())).token_counts(texts)
        rates: dict[int, list[float]] = {size: [] for size in sizes}
        for turn in range(args.rounds):
            for size in rotated(sizes, turn):
                rates[size].append(len(texts) / seconds_of(lambda e=embedders[size]: e.encode(texts)))
        rows = []
        for size in sizes:
            rate = statistics.median(rates[size])
            ratio = f"{rate / statistics.median(rates[64]):.2f}" if 64 in rates else ""
            drift = ""
            if reference is not None:
                drift = f"{float(np.abs(embedders[size].encode(texts[:256]) - reference[:256]).max()):.1e}"
            rows.append([size, f"{rate:.1f}", ", ".join(f"{r:.1f}" for r in rates[size]), ratio, drift])
        print(
            f"{backend}, {len(texts)} sentences (word pieces median {statistics.median(pieces):.0f},"
            f" max {max(pieces)}), {args.threads} thread(s), {args.rounds} rounds\n"
        )
        print(table("batch size | texts/s (median) | rounds | × batch 64 | max abs. difference from batch 64", rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
