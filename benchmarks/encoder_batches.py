"""The encoder's cost per claim by batch size: the floor under any serving figure.

    .venv/bin/python benchmarks/encoder_batches.py                 # onnx and onnx-int8, batches 1..32
    .venv/bin/python benchmarks/encoder_batches.py --backends onnx --sizes 1,8
    .venv/bin/python benchmarks/encoder_batches.py --backends onnx,onnx-fused --sizes 1,8

`onnx-fused` is the fp32 export passed through ONNX Runtime's transformer optimizer
(`onnxruntime.transformers.optimizer`, BERT, 12 heads, hidden 384), measured to see
whether its fusions beat the session's own graph optimisations; it is not a backend.

One thread, as in a gunicorn worker (`MODEL_THREADS=1`), through `load_embedder` (the
service's own code: tokenizer, session run, normalisation), on the serving benchmark's
claims. For each batch size the same claims are encoded in consecutive batches of that
size; reported: milliseconds per claim (median of `--rounds`), and what that means for 2
cores with nothing else running: claims/s = cores / ms per claim.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, one_worker_threads  # first: the path and offline flags

one_worker_threads()  # a gunicorn worker's caps, before numpy, FAISS and torch load

from index.embedder import ONNX_FILES, default_onnx_dir, load_embedder


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
    parser.add_argument("--sizes", default="1,2,4,8,16,32")
    parser.add_argument("--backends", default="onnx,onnx-int8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)

    claims = json.loads(Path(args.claims).read_text("utf-8"))[: args.count]
    sizes = [int(s) for s in args.sizes.split(",")]
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
        print("| batch size | ms per claim (median) | rounds | claims/s on", args.cores, "cores, model only |")
        print("|---|---|---|---|")
        for size in sizes:
            per_claim = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                for first in range(0, len(claims), size):
                    embedder.encode(claims[first : first + size])
                per_claim.append((time.perf_counter() - started) / len(claims) * 1000)
            ms = statistics.median(per_claim)
            rounds = ", ".join(f"{x:.2f}" for x in per_claim)
            print(f"| {size} | {ms:.2f} | {rounds} | {args.cores / ms * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
