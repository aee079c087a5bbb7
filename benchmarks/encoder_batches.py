"""The encoder's cost per claim by batch size: the floor under any serving figure.

    .venv/bin/python benchmarks/encoder_batches.py                 # onnx and onnx-int8, batches 1..32
    .venv/bin/python benchmarks/encoder_batches.py --backends onnx,onnx-fused --sizes 1,8

`onnx-fused` (not a backend) is the fp32 export through ONNX Runtime's transformer optimizer (BERT,
12 heads, hidden 384), to see whether its fusions beat the session's own. One thread, as a worker,
through `load_embedder` on the serving benchmark's claims, encoded in consecutive batches of each
size: ms per claim (median of `--rounds`), and claims/s on `--cores` = cores / ms per claim.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from harness import ROOT, in_batches, one_worker_threads, table  # first: the path and offline flags

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
    parser.add_argument("--sizes", default="1,2,4,8,16,32")
    parser.add_argument("--backends", default="onnx,onnx-int8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)

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
        for size in (int(s) for s in args.sizes.split(",")):
            per_claim = [s / len(claims) * 1000 for s in in_batches(embedder.encode, claims, size, args.rounds)]
            ms = statistics.median(per_claim)
            rows.append([size, f"{ms:.2f}", ", ".join(f"{x:.2f}" for x in per_claim), f"{args.cores / ms * 1000:.0f}"])
        print(table(f"batch size | ms per claim (median) | rounds | claims/s on {args.cores} cores, model only", rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
