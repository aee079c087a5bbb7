"""The NLI judge's cost: milliseconds per claim (8 pairs) and per pair, int8 against fp32, one thread.

    .venv/bin/python benchmarks/nli_judge.py                      # the shipped model, int8 and fp32
    .venv/bin/python benchmarks/nli_judge.py --trained var/nli/run1   # also exports fp32 from a training run

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
import tempfile
from pathlib import Path

from harness import DEV_CLAIMS, SAMPLE_ARTICLES, in_batches, one_worker_threads  # first: the path and offline flags

one_worker_threads()  # a gunicorn worker's caps, before numpy, FAISS and torch load

from index.evaluation import load_claims
from index.nli import DEFAULT_NLI_DIR, load_nli
from index.stance import JUDGED_CANDIDATES


def pairs_per_claim() -> list[list[tuple[str, str]]]:
    """Each dev claim with the sentences the service judges for it (sample index, built in a temp dir)."""
    from index.builder import build_index
    from index.embedder import load_embedder
    from index.verify import ClaimVerifier, load_index

    embedder = load_embedder(threads=1)
    claims = [c.claim for c in load_claims(DEV_CLAIMS)]
    with tempfile.TemporaryDirectory() as tmp:
        build_index([SAMPLE_ARTICLES], Path(tmp) / "index", embedder)
        verifier = ClaimVerifier(embedder, load_index(Path(tmp) / "index"))
        results = verifier.verify_claims(claims, top_k=JUDGED_CANDIDATES)
    return [[(e.text, r.claim) for e in r.evidence] for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trained", help="a scripts/train_nli.py output, to compare its fp32 export")
    parser.add_argument("--sizes", default="1,8")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    per_claim = pairs_per_claim()
    scorers = {"shipped (" + json.loads((DEFAULT_NLI_DIR / "nli.json").read_text())["graph"] + ")": load_nli(threads=1)}
    if args.trained:
        from index.nli_export import export_nli

        tmp = Path(tempfile.mkdtemp())
        export_nli(args.trained, tmp, int8=False, name="fp32")
        scorers["fp32 export"] = load_nli(tmp, threads=1)
    for scorer in scorers.values():
        scorer.logits(per_claim[0])  # warm-up
    pairs = sum(len(c) for c in per_claim)
    print(f"{len(per_claim)} claims, {pairs} pairs, 1 thread")
    print("| graph | claims per call | ms per claim | ms per pair | claims/s on 2 cores |")
    print("|---|---:|---:|---:|---:|")
    for name, scorer in scorers.items():

        def judge(claims: list[list[tuple[str, str]]], scorer=scorer) -> None:
            scorer.logits([pair for claim in claims for pair in claim])  # these claims' pairs in one call

        for size in (int(s) for s in args.sizes.split(",")):
            seconds = statistics.median(in_batches(judge, per_claim, size, args.rounds))
            ms_claim, ms_pair = round(1000 * seconds / len(per_claim), 2), round(1000 * seconds / pairs, 3)
            print(f"| {name} | {size} | {ms_claim} | {ms_pair} | {round(2 * len(per_claim) / seconds, 1)} |")


if __name__ == "__main__":
    main()
