"""Where one /v1/verify request spends its time: encode, FAISS, BM25, SQLite, checks, JSON, Flask.

    .venv/bin/python benchmarks/request_profile.py --index var/bench/index-100k-s11 \
        --claims var/bench/index-100k-s11.claims-2000-s11.json

One process, as a gunicorn worker runs (one torch and FAISS thread, `MODEL_THREADS=1`),
the real app through Flask's test client (no socket), one request at a time. The engine's
steps are timed by wrapping the functions `ClaimVerifier.verify_claims` calls (nothing in
index/ is changed): each request's time per step, then medians over the claims and each
step's share of the median request. "rest of verify" is verify_claims minus its timed
steps (fusion, sorting, building the result); "Flask and request log" is the request minus
verify_claims and serialisation (parsing, validation, routing, the JSON access-log line).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from harness import (
    ROOT,
    ensure_onnx_export,
    one_worker_threads,
    rotated,
    seconds_of,
    table,
)  # first: the path and offline flags

one_worker_threads()  # a gunicorn worker's caps, before numpy, FAISS and torch load

import index.verify as verify_module
import service.claims as service_claims
from index.judging.nli import NliScorer, load_nli
from index.retrieval.embedder import Embedder, load_embedder
from index.retrieval.live import IndexView, LiveIndex
from index.storage.archive import Archive
from index.verify import ClaimVerifier, load_index
from service import create_app
from service.config import Settings

_spent: dict[str, float] = defaultdict(float)

# (owner, attribute, step name); all are leaves of verify_claims except `verify_claims` itself.
STEPS = [
    (LiveIndex, "view", "index view (CURRENT + generation)"),
    (Embedder, "encode", "encode (model)"),
    (Embedder, "truncated", "truncation check"),
    (IndexView, "dense", "FAISS search"),
    (IndexView, "lexical", "BM25 search"),
    (Archive, "vectors", "SQLite: vectors of BM25-only hits"),
    (Archive, "sentences", "SQLite: sentences, context, articles"),
    (ClaimVerifier, "_collapse_duplicates", "wire-copy collapse"),
    (verify_module, "run_checks", "checks"),
    (NliScorer, "logits", "NLI judge (model)"),
    (verify_module, "judge", "stance and verdict"),
    (verify_module, "decide_verdict", "stance and verdict"),
    (service_claims.VerifyResponseSchema, "dump", "serialise: marshmallow dump"),
    (ClaimVerifier, "verify_claims", "verify_claims (total)"),
]


def _timed(fn, name):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _spent[name] += time.perf_counter() - started

    return wrapper


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-step time of single /v1/verify requests.")
    parser.add_argument("--index", default=str(ROOT / "var" / "bench" / "index-100k-s11"))
    parser.add_argument("--claims", default=str(ROOT / "var" / "bench" / "index-100k-s11.claims-2000-s11.json"))
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top-k", type=int, default=5)
    batch = "also time verify_claims on batches of this many claims (0: skip)"
    parser.add_argument("--batch", type=int, default=8, help=batch)
    parser.add_argument("--no-judge", action="store_true", help="without the NLI judge (the degraded mode)")
    args = parser.parse_args(argv)
    ensure_onnx_export()

    claims = json.loads(Path(args.claims).read_text("utf-8"))[: args.requests]
    embedder = load_embedder(threads=1)
    judge = None if args.no_judge else load_nli(threads=1)
    # Wrapped before the verifier is built: its batchers keep the bound methods they are given.
    # The loaded backend's class (OnnxEmbedder, TorchEmbedder) overrides Embedder's methods.
    for owner, attribute, name in STEPS:
        owner = type(embedder) if owner is Embedder else owner
        setattr(owner, attribute, _timed(getattr(owner, attribute), name))
    verifier = ClaimVerifier(embedder, load_index(args.index), nli=judge)
    app = create_app(Settings(index_dir=args.index), verifier=verifier)
    app.json.dumps = _timed(app.json.dumps, "serialise: JSON text")  # the app's JSON encoding of the body
    client = app.test_client()

    def request(claim: str) -> float:
        started = time.perf_counter()
        response = client.post("/v1/verify", json={"claim": claim, "top_k": args.top_k})
        assert response.status_code == 200, response.get_data(as_text=True)
        return time.perf_counter() - started

    for claim in claims[:20]:  # warm up
        request(claim)
    per_request: list[dict[str, float]] = []
    for claim in claims:
        _spent.clear()
        total = request(claim)
        step = dict(_spent)
        inside = step.pop("verify_claims (total)")
        serialise = sum(v for k, v in step.items() if k.startswith("serialise"))
        step["rest of verify (fusion, sorting, results)"] = inside - (sum(step.values()) - serialise)
        step["Flask and request log"] = total - inside - serialise
        step["request (total)"] = total
        per_request.append(step)

    size = verifier.index.view().size
    judged = "judge off" if judge is None else f"judge {judge.name}"
    print(f"index {args.index}: {size} sentences; {len(claims)} requests, top_k {args.top_k}, 1 thread, {judged}")
    names = list(dict.fromkeys(k for row in per_request for k in row))
    medians = {k: statistics.median(row.get(k, 0.0) for row in per_request) * 1000 for k in names}
    means = {k: statistics.mean(row.get(k, 0.0) for row in per_request) * 1000 for k in names}
    total = medians["request (total)"]
    rows = [
        [k, f"{medians[k]:.2f}", f"{means[k]:.2f}", f"{medians[k] / total:.1%}"]
        for k in sorted(names, key=lambda k: (k == "request (total)", -medians[k]))
    ]
    print("\n" + table("step | median ms | mean ms | share of the median request", rows))
    p95 = sorted(row["request (total)"] for row in per_request)[int(0.95 * len(per_request))] * 1000
    print(f"\nrequest p95 {p95:.1f} ms; sentences searched {size}")
    if args.batch > 1:
        batching(verifier, claims, args.batch, args.top_k)
    return 0


BATCHED_STEPS = ("encode (model)", "FAISS search", "BM25 search", "NLI judge (model)")


def batching(verifier: ClaimVerifier, claims: list[str], size: int, top_k: int) -> None:
    """What serving concurrent claims together would save: one batch of `size` against `size` single calls.

    Run with the wrappers still on, so the per-step split is comparable with the table above."""
    seconds: dict[str, list[float]] = defaultdict(list)
    steps: dict[tuple[str, str], list[float]] = defaultdict(list)
    groups = [claims[i : i + size] for i in range(0, len(claims) - size + 1, size)]
    calls = {
        "single": lambda group: [verifier.verify_claim(claim, top_k=top_k) for claim in group],
        "batch": lambda group: verifier.verify_claims(group, top_k=top_k),
    }
    for round_no, group in enumerate(groups):
        for mode in rotated(list(calls), round_no):  # alternate which goes first: drift hits both alike
            _spent.clear()
            seconds[mode].append(seconds_of(lambda mode=mode, group=group: calls[mode](group)))
            for name in BATCHED_STEPS:
                steps[mode, name].append(_spent.get(name, 0.0))
    one, together = statistics.median(seconds["single"]) * 1000, statistics.median(seconds["batch"]) * 1000
    print(f"\n{size} claims: {size} verify_claim calls {one:.1f} ms, one verify_claims batch {together:.1f} ms")
    print(f"(median over {len(groups)} groups); the batch takes {together / one:.0%} of the time")
    for name in BATCHED_STEPS:
        a, b = (statistics.median(steps[mode, name]) * 1000 for mode in ("single", "batch"))
        share = f"{b / a:.0%}" if a else "n/a"
        print(f"  {name}: {a:.1f} ms one by one, {b:.1f} ms batched ({share})")


if __name__ == "__main__":
    sys.exit(main())
