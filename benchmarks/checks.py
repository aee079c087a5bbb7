"""Cost of the explicit stance checks per claim, beside the whole verify call, same run.

.venv/bin/python benchmarks/checks.py --index var/index
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.checks import run_checks  # noqa: E402
from index.embedder import load_embedder  # noqa: E402
from index.evaluation import load_claims  # noqa: E402
from index.verify import ClaimVerifier, load_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="var/index")
    parser.add_argument("--claims", default=str(ROOT / "tests" / "data" / "dev_claims.jsonl"))
    args = parser.parse_args()
    verifier = ClaimVerifier(load_embedder(threads=1), load_index(args.index))
    claims = [c.claim for c in load_claims(args.claims)]
    verifier.verify_claims(claims[:4])  # warm up
    checks_ms, verify_ms = [], []
    for claim in claims:
        started = time.perf_counter()
        result = verifier.verify_claim(claim)
        verify_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        for e in result.evidence:
            run_checks(claim, e.text, f"{e.article.title} {e.context.before or ''}", same_topic=True)
        checks_ms.append((time.perf_counter() - started) * 1000)
    print(f"claims: {len(claims)}, evidence per claim: 5, torch threads: 1")
    print(f"checks per claim: median {statistics.median(checks_ms):.2f} ms, max {max(checks_ms):.2f} ms")
    print(f"whole verify_claim: median {statistics.median(verify_ms):.1f} ms")
    print(f"checks share of a verify call: {statistics.median(checks_ms) / statistics.median(verify_ms):.1%}")


if __name__ == "__main__":
    main()
