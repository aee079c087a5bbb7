"""Do a newsroom's own reviews improve its verdicts? Half of a real-world dev set as the reviews.

    .venv/bin/python benchmarks/reviews_fit.py                                  # the real-world sets
    .venv/bin/python benchmarks/reviews_fit.py --sets healthver --limit 300 --dev-runs var/exp/runs.pkl

Per set of ../shared/nli (its dev split, as `scripts/evaluate.py --fact-sets` reads it: each
claim's evidence an article among up to 2,000 other claims' evidence):
1. the archive is built from the evidence articles;
2. the claims of one half (by hash, `fit_half`) are recorded in it as the newsroom's reviews,
   with the set's label as the reviewer's verdict (refuted = contradicted, not enough info =
   unproven);
3. `scripts/evaluate.py --reviews --fit --rules-out` fits the rules on those reviews (with
   `--dev-runs`, pooled with the dev fact sets' fit half) and writes a rules file;
4. the other half's claims are verified twice, under the shipped rules and under the file (as
   a service with `RULES_FILE` would), and scored against their labels.
The shipped rules were themselves fitted on the fit half of every dev set, this one's included,
so "before" has seen the reviewed claims in a larger pool: the gain is measured against that.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import ROOT, command, contention, log, machine, table, write_json

# Sets of claims people made outside a lab (health and COVID claims from the web and news,
# scientific claims, claims written against Wikipedia by players of a game); FEVER and its
# stress sets are synthetic mutations of Wikipedia sentences.
REAL_WORLD_SETS = ("healthver", "covidfact", "scifact", "fm2", "vitaminc_real")
REVIEW_VERDICT = {"supported": "supported", "contradicted": "contradicted", "not_found": "unproven"}
FIGURES = ("claims", "verdict_accuracy", "balanced_accuracy", "contradicted_precision", "contradicted_recall", "ece")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(REAL_WORLD_SETS), help="comma-separated dev sets")
    parser.add_argument("--limit", type=int, default=0, help="claims per set (default 0: all)")
    parser.add_argument("--dev-runs", help="pool the fit half of these saved dev runs (evaluate.py --save-runs)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from index.evaluation import MIN_REVIEWS_TO_FIT, fact_set, fit_half, score_results, verify_all
    from index.ingestion.builder import build_index
    from index.judging.nli import load_nli
    from index.judging.stance import RULES, read_rules_file
    from index.retrieval.embedder import load_embedder
    from index.reviews.claimreview import build_review
    from index.reviews.store import ReviewStore, write_reviews
    from index.storage.archive import Archive
    from index.verify import ClaimVerifier, load_index

    embedder, nli = load_embedder(), load_nli(threads=2)
    figures: dict = {"machine": machine(), "sets": {}}
    rows = []
    for name in args.sets.split(","):
        articles, claims = fact_set(name, args.limit or None)
        reviewed = [c for c in claims if fit_half(c.claim)]
        held_out = [c for c in claims if not fit_half(c.claim)]
        decided = sum(c.label in ("supported", "contradicted") for c in reviewed)
        if decided < MIN_REVIEWS_TO_FIT:
            log(f"{name}: {decided} supported or contradicted reviews, fewer than {MIN_REVIEWS_TO_FIT}: skipped")
            figures["sets"][name] = {"skipped": f"{decided} decided reviews"}
            continue
        with tempfile.TemporaryDirectory(prefix="reviews-fit-") as tmp:
            index_dir, rules_file = Path(tmp) / "index", Path(tmp) / "rules.json"
            source = Path(tmp) / "articles.jsonl"
            source.write_text("".join(json.dumps(a) + "\n" for a in articles), "utf-8")
            build_index([source], index_dir, embedder)
            reviews = [
                build_review(c.claim, verdict=REVIEW_VERDICT[c.label], reviewed_by="desk", reviewed_at="2025-01-01")
                for c in reviewed
            ]
            write_reviews(ReviewStore(Archive.open(index_dir)), embedder, reviews)
            fit = [sys.executable, "scripts/evaluate.py", "--index", str(index_dir), "--reviews", "--fit"]
            fit += ["--rules-out", str(rules_file)] + (["--dev-runs", args.dev_runs] if args.dev_runs else [])
            done = subprocess.run(fit, cwd=ROOT, capture_output=True, text=True)
            if done.returncode != 0:
                log(f"{name}: the fit failed: {done.stderr[-1500:]}")
                return 1
            fitted, _ = read_rules_file(rules_file, nli.identity)
            scores = {}
            for label, rules in (("shipped rules", RULES), ("refitted on the reviews", fitted)):
                verifier = ClaimVerifier(embedder, load_index(index_dir), nli=nli, rules=rules)
                scores[label] = score_results(held_out, verify_all(verifier, held_out)).as_dict()
                rows.append([name, label, *(scores[label][k] for k in FIGURES)])
        figures["sets"][name] = {"reviews": len(reviews), "rules": repr(fitted), "held_out": scores}
        log(f"{name}: {len(reviews)} reviews; {fitted!r}; {contention()}")
    header = "set | rules | held-out claims | accuracy | bal. acc. S/R | contradicted P | contradicted R | ECE"
    cells = [[f"{v:.3f}" if isinstance(v, float) else v for v in row] for row in rows]
    print(f"# Verdicts refitted on a newsroom's reviews ({command()})\n\n{machine()}; {contention()}\n")
    print(table(header, cells))
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
