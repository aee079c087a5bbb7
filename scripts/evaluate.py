"""Evaluate retrieval and verdicts on a labelled claim set (and calibrate the support threshold).

    python scripts/evaluate.py --index var/index tests/data/dev_claims.jsonl [--json out.json] [--calibrate]

Each line of the claim set is {"claim", "label", "gold": [substring, ...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embedder_options import add_embedder_options, load_embedder_from_options  # beside this file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate retrieval and verdicts on a labelled claim set.")
    parser.add_argument("claims", help="JSONL claim set")
    parser.add_argument("--index", default=os.environ.get("INDEX_DIR", "var/index"), help="index directory")
    add_embedder_options(parser)
    parser.add_argument("--nli-model", default=os.environ.get("NLI_MODEL"), help="local NLI CrossEncoder directory")
    parser.add_argument("--threshold", type=float, help="support threshold (default: the calibrated one)")
    parser.add_argument("--retrieval", choices=["hybrid", "dense"], default="hybrid", help="retrieval mode")
    parser.add_argument("--labels", help="comma-separated gold labels to keep (default: all)")
    parser.add_argument("--calibrate", action="store_true", help="also search the best support threshold")
    parser.add_argument("--json", dest="json_out", help="write the figures as JSON to this file")
    args = parser.parse_args(argv)

    from index.evaluation import calibrate_threshold, evaluate, load_claims
    from index.nli import load_nli
    from index.verify import DEFAULT_SUPPORT_THRESHOLD, ClaimVerifier, load_index

    claims = load_claims(args.claims, set(args.labels.split(",")) if args.labels else None)
    embedder = load_embedder_from_options(args)
    if embedder is None:
        return 1
    verifier = ClaimVerifier(
        embedder,
        load_index(args.index),
        support_threshold=DEFAULT_SUPPORT_THRESHOLD if args.threshold is None else args.threshold,
        retrieval=args.retrieval,
        nli=load_nli(args.nli_model) if args.nli_model else None,
    )
    figures = evaluate(verifier, claims).as_dict() | {"backend": embedder.backend}
    if args.calibrate:
        threshold, accuracy = calibrate_threshold(verifier, claims)
        figures["calibrated"] = {"threshold": threshold, "supported_vs_not_found_accuracy": round(accuracy, 4)}

    print(f"backend           {embedder.backend}")
    print(f"claims            {figures['claims']}")
    for name in ("hit@1", "hit@5", "mrr", "verdict_accuracy", "threshold"):
        print(f"{name:<17} {figures[name]}")
    predicted = sorted({p for row in figures["confusion"].values() for p in row})
    print("\nconfusion (rows: gold label, columns: verdict)")
    print(f"{'':<14}" + "".join(f"{p:>12}" for p in predicted))
    for label, row in figures["confusion"].items():
        print(f"{label:<14}" + "".join(f"{row.get(p, 0):>12}" for p in predicted))
    if "calibrated" in figures:
        c = figures["calibrated"]
        print(
            f"\ncalibrated threshold {c['threshold']} "
            f"(supported vs not_found accuracy {c['supported_vs_not_found_accuracy']})"
        )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
