"""Cost of the explicit stance checks per claim, beside the whole verify call, same run.

.venv/bin/python benchmarks/checks.py --index var/index
.venv/bin/python benchmarks/checks.py --index var/bench/index-100k-s11 \
    --claims var/bench/index-100k-s11.claims-2000-s11.json --limit 300

Also prints what computing each text's figures, names and words once would save (an
upper bound: the extractions memoised for claim and evidence alike, same pairs).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from pathlib import Path

from harness import DEV_CLAIMS, ms_each  # first: the path and offline flags

import index.judging.checks as checks_module
from index.evaluation import load_claims
from index.retrieval.embedder import load_embedder
from index.verify import ClaimVerifier, load_index


def _run_checks(pairs: list[tuple[str, str, str]]) -> None:
    for claim, text, context in pairs:
        checks_module.run_checks(claim, text, context)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="var/index")
    parser.add_argument("--claims", default=str(DEV_CLAIMS), help="dev claims JSONL or a JSON list")
    parser.add_argument("--limit", type=int, default=None, help="the first N claims only")
    args = parser.parse_args()
    verifier = ClaimVerifier(load_embedder(threads=1), load_index(args.index))
    if args.claims.endswith(".json"):
        claims = json.loads(Path(args.claims).read_text("utf-8"))
    else:
        claims = [c.claim for c in load_claims(args.claims)]
    claims = claims[: args.limit]
    verifier.verify_claims(claims[:4])  # warm up
    checks_ms, verify_ms, pairs = [], [], []
    for claim in claims:
        started = time.perf_counter()
        result = verifier.verify_claim(claim)
        verify_ms.append((time.perf_counter() - started) * 1000)
        pairs.append([(claim, e.text, f"{e.article.title} {e.context.before or ''}") for e in result.evidence])
        checks_ms += ms_each(_run_checks, pairs[-1:])
    print(f"claims: {len(claims)}, evidence per claim: 5, runtime threads: 1")
    print(f"checks per claim: median {statistics.median(checks_ms):.2f} ms, max {max(checks_ms):.2f} ms")
    print(f"whole verify_claim: median {statistics.median(verify_ms):.1f} ms")
    print(f"checks share of a verify call: {statistics.median(checks_ms) / statistics.median(verify_ms):.1%}")
    # The extractions memoised, the caches filled by a first pass, so the timed pass is all hits.
    for name in ("extract_quantities", "named_entities", "tokenize"):
        setattr(checks_module, name, functools.lru_cache(maxsize=None)(getattr(checks_module, name)))
    for group in pairs:
        _run_checks(group)
    memoised = statistics.median(ms_each(_run_checks, pairs))
    print(f"memoised extractions: checks per claim median {memoised:.2f} ms (upper bound of the saving)")


if __name__ == "__main__":
    main()
