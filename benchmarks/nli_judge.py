"""The NLI judge's cost and numerics per graph: int8 as served, int8 on the plain kernel, fp32; one thread.

    .venv/bin/python benchmarks/nli_judge.py                   # the sample's pairs: ms per claim and pair
    .venv/bin/python benchmarks/nli_judge.py --dev 400         # also dev accuracy and |ΔP| (../shared/nli)

The CPU's model and int8 flags come first: int8 speed and numerics depend on them. The
three graphs (`graphs`): the int8 graph as the service runs it (ONNX Runtime's exact
kernel, `index/retrieval/embedder.py` `onnx_session`), the same graph on the plain u8×s8 kernel
(which saturates on CPUs without VNNI), and the fp32 graph the self-check falls back to.

One thread, as in a gunicorn worker (`MODEL_THREADS=1`), through `load_nli` (the service's
own code: tokenizer, session run, temperature). Pairs: each of the sample article's dev
claims against the 8 sentences the service would judge for it (same as a request). For
each batch size (claims per model call, as concurrent requests share a call) the same
claims are judged in consecutive calls; reported: ms per claim and per pair (median of
`--rounds`), and 2 cores ÷ ms per claim = claims/s the judge alone allows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    DEV_CLAIMS,
    ROOT,
    SAMPLE_ARTICLES,
    ensure_onnx_export,
    in_batches,
    machine,
    one_worker_threads,
    table,
)  # first: the path and offline flags

one_worker_threads()  # a gunicorn worker's caps, before numpy, FAISS and torch load

import numpy as np

from index.evaluation import load_claims
from index.judging.nli import DEFAULT_NLI_DIR, FP32, LABELS, NliScorer, OnnxNli, load_nli
from index.judging.stance import JUDGED_CANDIDATES
from index.retrieval.embedder import onnx_session


def pairs_per_claim() -> list[list[tuple[str, str]]]:
    """Each dev claim with the sentences the service judges for it (sample index, built in a temp dir)."""
    from index.ingestion.builder import build_index
    from index.retrieval.embedder import load_embedder
    from index.verify import ClaimVerifier, load_index

    embedder = load_embedder(threads=1)
    claims = [c.claim for c in load_claims(DEV_CLAIMS)]
    with tempfile.TemporaryDirectory() as tmp:
        build_index([SAMPLE_ARTICLES], Path(tmp) / "index", embedder)
        verifier = ClaimVerifier(embedder, load_index(Path(tmp) / "index"))
        results = verifier.verify_claims(claims, top_k=JUDGED_CANDIDATES)
    return [[(e.text, r.claim) for e in r.evidence] for r in results]


def graphs() -> dict[str, NliScorer]:
    """The shipped judge three ways: as served (int8, exact kernel), on ONNX Runtime's plain u8×s8
    kernel (what it ran on before; saturates on CPUs without VNNI), and its fp32 fallback."""
    import onnxruntime as ort

    manifest = json.loads((DEFAULT_NLI_DIR / "nli.json").read_text())
    served = load_nli(threads=1, cache_pairs=0)
    plain = OnnxNli(DEFAULT_NLI_DIR, manifest, threads=1, cache_pairs=0)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    plain.session = ort.InferenceSession(str(DEFAULT_NLI_DIR / manifest["graph"]), options)
    seven = OnnxNli(DEFAULT_NLI_DIR, manifest, threads=1, cache_pairs=0)
    seven.session = onnx_session(seven_bit_weights(DEFAULT_NLI_DIR / manifest["graph"]), threads=1)
    return {
        f"int8, exact kernel (served: {served.graph})": served,
        "int8, plain u8×s8 kernel (before)": plain,
        "int8 with 7-bit weights (reduce-range), measured, not served": seven,
        "fp32 (the fallback)": OnnxNli(DEFAULT_NLI_DIR, manifest, threads=1, graph=FP32, cache_pairs=0),
    }


def seven_bit_weights(graph_file: Path) -> bytes:
    """The int8 graph with its weights halved to 7 bits (scales doubled): u8×s7 pairs cannot
    saturate 16 bits (2 × 255 × 64 < 32,768), so even the fast u8×s8 kernel reads it the same on
    every x86 CPU, at the cost of one bit of weight precision (ONNX Runtime's `reduce_range`)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(graph_file))
    weights = {init.name: init for init in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    consumers = {name: node for node in model.graph.node for name in node.input}
    for node in model.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        weights[node.input[1]].CopyFrom(
            numpy_helper.from_array(np.clip(np.rint(w / 2), -64, 63).astype(np.int8), node.input[1])
        )
        rescale = consumers[consumers[node.output[0]].output[0]]  # MatMulInteger → Cast → Mul(scales)
        scales = producer[next(i for i in rescale.input if i in producer and producer[i].op_type == "Mul")]
        name = next(i for i in scales.input if i in weights)
        doubled = 2 * numpy_helper.to_array(weights[name])
        weights[name].CopyFrom(numpy_helper.from_array(doubled.astype(np.float32), name))
    return model.SerializeToString()


def dev_pairs(per_source: int) -> dict[str, list[tuple[str, str, str]]]:
    """The model card's dev samples (../shared/nli): per source, (premise, claim, gold label)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from export_nli import CARD_SOURCES, dev_sample

    return {s: [(p.premise, p.hypothesis, p.label) for p in dev_sample(s, per_source)] for s in CARD_SOURCES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,8")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dev", type=int, default=0, help="also score N dev pairs per source of ../shared/nli")
    args = parser.parse_args()
    ensure_onnx_export()
    print(machine())
    per_claim = pairs_per_claim()
    scorers = graphs()
    for scorer in scorers.values():
        scorer.logits(per_claim[0])  # warm-up
    flat = [pair for claim in per_claim for pair in claim]
    fp32 = scorers["fp32 (the fallback)"].read_directly(flat)
    print(f"{len(per_claim)} claims, {len(flat)} pairs (the sample's dev claims, as the service judges them), 1 thread")
    rows = []
    for name, scorer in scorers.items():
        gap = float(np.abs(scorer.read_directly(flat) - fp32).max())

        def judge(claims: list[list[tuple[str, str]]], scorer=scorer) -> None:
            scorer.logits([pair for claim in claims for pair in claim])  # these claims' pairs in one call

        for size in (int(s) for s in args.sizes.split(",")):
            seconds = statistics.median(in_batches(judge, per_claim, size, args.rounds))
            ms_claim, ms_pair = round(1000 * seconds / len(per_claim), 2), round(1000 * seconds / len(flat), 3)
            rows.append((name, size, ms_claim, ms_pair, round(2 * len(per_claim) / seconds, 1), f"{gap:.4f}"))
    print(
        table("graph | claims per call | ms per claim | ms per pair | claims/s on 2 cores | max abs dP vs fp32", rows)
    )
    if args.dev:
        sources = dev_pairs(args.dev)
        rows = []
        reference = {
            s: scorers["fp32 (the fallback)"].read_directly([(p, h) for p, h, _ in v]) for s, v in sources.items()
        }
        for name, scorer in scorers.items():
            accuracy, gaps, started, count = [], [], time.perf_counter(), 0
            for source, items in sources.items():
                p = scorer.read_directly([(premise, claim) for premise, claim, _ in items])
                gold = [LABELS.index(label) for _, _, label in items]
                accuracy.append(float(np.mean(p.argmax(axis=1) == np.asarray(gold))))
                gaps.append(np.abs(p - reference[source]).max(axis=1))
                count += len(items)
            gap = np.concatenate(gaps)
            ms = 1000 * (time.perf_counter() - started) / count
            rows.append((name, count, f"{np.mean(accuracy):.4f}", f"{ms:.2f}", f"{gap.max():.4f}",
                         f"{np.quantile(gap, 0.99):.4f}", f"{gap.mean():.5f}"))  # fmt: skip
        header = "graph | dev pairs | mean dev accuracy | ms per pair | max abs dP vs fp32 | p99 | mean"
        print(table(header, rows))


if __name__ == "__main__":
    main()
