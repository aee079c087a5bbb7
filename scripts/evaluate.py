"""Evaluate retrieval and verdicts on labelled claims; fit the verdict's numbers on dev data.

    # the sample article's dev claims against an index
    python scripts/evaluate.py --index var/index tests/data/dev_claims.jsonl [--json out.json] [--calibrate]

    # the dev splits of ../shared/nli (each set gets its own archive of its claims' evidence)
    python scripts/evaluate.py --fact-sets all --limit 300 [--fit] [--json F] [--markdown F] [--reliability F.png]

    # the newsroom's own reviews in an index: the model's verdict against the reviewer's
    python scripts/evaluate.py --index var/index --reviews [--reviewed-by NAME]
    # ... and refit the verdict's numbers on them, for RULES_FILE
    python scripts/evaluate.py --index var/index --reviews --fit --rules-out var/rules.json [--dev-runs F]

Each line of a claim file is {"claim", "label", "gold": [substring, ...]}. Per set, the
fact-set mode reports verdict accuracy, macro-F1, balanced accuracy over supported/
refuted claims, `contradicted` precision and recall, ECE, hit@1 and hit@5. With `--fit`
the probability cut-offs and the confidence map are fitted on one half of the claims
(by hash) and every figure is reported on the other half; the fitted `VerdictRules` is
printed for `index/judging/stance.py`. With `--fit --no-nli`, the degraded mode's confidence map
is fitted (`DegradedRules`; its cut-offs stay).

With `--reviews`, the claims are the index's reviews (and editors' "not the same claim" marks are
counted, and listed in `--json-out`, as labelled negatives of `same_claim`): the reviewer's verdict is the gold label
(`unproven` counts as `not_found`) and the articles of the evidence sentences the reviewer
ticked are the gold evidence. `--fit --reviews` refits the rules on them (`fit_on_reviews`:
the cut-offs only if, fitted on one half, they do better on the other; the confidence map on
all) and writes the rules file (`--rules-out`) that the service reads at start (`RULES_FILE`).
`--dev-runs FILE` (written by `--fact-sets all --save-runs FILE`) pools the dev fact sets'
fit half with the reviews for the cut-offs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embedder_options import add_embedder_options, load_embedder_from_options  # noqa: E402 (beside this file)

SAMPLE_ARTICLES = ROOT / "data" / "articles"
DEV_CLAIMS = ROOT / "tests" / "data" / "dev_claims.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("claims", nargs="?", help="JSONL claim set (claim-file mode)")
    parser.add_argument("--index", default=os.environ.get("INDEX_DIR", "var/index"), help="index directory")
    add_embedder_options(parser)
    parser.add_argument(
        "--nli-model", default=os.environ.get("NLI_MODEL"), help="NLI model directory (default: shipped)"
    )
    parser.add_argument("--no-nli", action="store_true", help="without the NLI judge (degraded mode)")
    parser.add_argument("--threshold", type=float, help="degraded mode: the support cosine (default: DEGRADED_RULES)")
    parser.add_argument("--retrieval", choices=["hybrid", "dense"], default="hybrid", help="retrieval mode")
    parser.add_argument("--labels", help="comma-separated gold labels to keep (default: all)")
    parser.add_argument("--calibrate", action="store_true", help="also search the best support threshold")
    parser.add_argument("--fact-sets", help="'all' or comma-separated dev splits of ../shared/nli")
    parser.add_argument("--limit", type=int, default=300, help="claims per fact set")
    parser.add_argument("--fit", action="store_true", help="fit the verdict rules on half, report on the other")
    parser.add_argument("--json", dest="json_out", help="write the figures as JSON to this file")
    parser.add_argument("--markdown", help="write the per-set table as Markdown to this file")
    parser.add_argument("--reliability", help="write a reliability diagram (PNG) of the reported claims")
    parser.add_argument(
        "--save-runs", help="fact-set mode: pickle every set's claims and results here, for what-if readings"
    )
    parser.add_argument("--reviews", action="store_true", help="the claims are the index's reviews (--index)")
    parser.add_argument("--reviewed-by", help="--reviews: only the reviews by this reviewer")
    parser.add_argument("--rules-file", help="--reviews: evaluate under this rules file (default: the shipped rules)")
    parser.add_argument("--rules-out", help="--reviews --fit: write the fitted rules file here")
    parser.add_argument("--dev-runs", help="--reviews --fit: pool the fit half of these saved dev runs (--save-runs)")
    args = parser.parse_args(argv)
    if args.reviews and (args.fact_sets or args.claims):
        parser.error("--reviews reads the claims from the index's reviews: give no claim file or --fact-sets")
    if args.rules_out and not (args.reviews and args.fit):
        parser.error("--rules-out goes with --reviews --fit")
    if args.reviews and args.fit and args.no_nli:
        parser.error("--reviews --fit fits the judge's cut-offs: it needs the judge (no --no-nli)")

    embedder = load_embedder_from_options(args)
    if embedder is None:
        return 1
    from index.judging.nli import load_nli

    nli = None if args.no_nli else load_nli(args.nli_model, threads=2)
    if args.reviews:
        return reviews_mode(args, embedder, nli)
    if args.fact_sets:
        return fact_sets_mode(args, embedder, nli)
    if not args.claims:
        parser.error("give a claim file, or --fact-sets")
    return claim_file_mode(args, embedder, nli)


def claim_file_mode(args, embedder, nli) -> int:
    from index.evaluation import calibrate_threshold, evaluate, load_claims
    from index.verify import ClaimVerifier, load_index

    claims = load_claims(args.claims, set(args.labels.split(",")) if args.labels else None)
    verifier = ClaimVerifier(
        embedder,
        load_index(args.index),
        support_threshold=args.threshold,
        retrieval=args.retrieval,
        nli=nli,
    )
    figures = evaluate(verifier, claims).as_dict() | {"backend": embedder.backend, "judge": nli.name if nli else None}
    if args.calibrate:
        threshold, accuracy = calibrate_threshold(verifier, claims)
        figures["calibrated"] = {"threshold": threshold, "supported_vs_not_found_accuracy": round(accuracy, 4)}

    print(f"backend           {embedder.backend}")
    print(f"judge             {figures['judge']}")
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


def reviews_mode(args, embedder, nli) -> int:
    """The model's verdict against the newsroom's reviews; with --fit, the rules refitted on them."""
    from datetime import UTC, datetime

    from index.evaluation import (
        MIN_REVIEWS_TO_FIT,
        all_reviews,
        fit_on_reviews,
        labelled_reviews,
        score_results,
        verify_all,
    )
    from index.judging.stance import CONTRADICTED, RULES, SUPPORTED, RulesFileError, read_rules_file, write_rules_file
    from index.reviews.store import ReviewStore
    from index.storage.archive import Archive, ArchiveError
    from index.verify import ClaimVerifier, load_index

    try:
        store = ReviewStore(Archive.open(args.index))
        rules = read_rules_file(args.rules_file, nli.identity)[0] if args.rules_file and nli else RULES
    except (FileNotFoundError, ArchiveError, RulesFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    claims = labelled_reviews(all_reviews(store, args.reviewed_by))
    decided = sum(c.label in (SUPPORTED, CONTRADICTED) for c in claims)
    print(f"{len(claims)} reviews ({decided} supported or contradicted) in {args.index}", file=sys.stderr)
    if not claims:
        print("error: no review to evaluate", file=sys.stderr)
        return 1
    if args.fit and decided < MIN_REVIEWS_TO_FIT:
        print(
            f"error: {decided} reviews with a supported or contradicted verdict; fitting needs at least "
            f"{MIN_REVIEWS_TO_FIT} (index/evaluation.py MIN_REVIEWS_TO_FIT says why)",
            file=sys.stderr,
        )
        return 1
    verifier = ClaimVerifier(embedder, load_index(args.index), retrieval=args.retrieval, nli=nli, rules=rules)
    results = verify_all(verifier, claims)
    table = {"reviews": score_results(claims, results).as_dict()}
    figures: dict = {"judge": nli.identity if nli else None, "rules_file": args.rules_file, "sets": table}
    # Editors' "not the same claim" marks: labelled negatives of same_claim, for its next fit
    # (benchmarks/same_claim_fit.py); each is a (review, claim) pairing the service no longer shows.
    marks = store.marks()
    figures["not_same_claim_marks"] = [
        {"review_id": review_id, "claim": claim, "marked_by": by} for review_id, claim, by in marks
    ]
    print(
        f"{len(marks)} 'not the same claim' marks: labelled negatives for the next fit of same_claim", file=sys.stderr
    )
    if args.fit:
        pooled_claims, pooled_results = dev_fit_half(args.dev_runs) if args.dev_runs else ([], [])
        fit = fit_on_reviews(claims, results, rules, (pooled_claims, pooled_results))
        table["reviews' held-out half, rules in force"] = fit.before.as_dict()
        table["reviews' held-out half, cut-offs fitted on the other half"] = fit.after.as_dict()
        figures |= {"fitted": repr(fit.rules), "cutoffs_adopted": fit.cutoffs_adopted}
        verdict = "adopted" if fit.cutoffs_adopted else "kept (no gain on the held-out half)"
        print(
            f"fitted on {len(claims)} reviews + {len(pooled_claims)} dev claims; cut-offs {verdict}: {fit.rules!r}",
            file=sys.stderr,
        )
        if args.rules_out:
            fitted_on = {
                "reviews": len(claims),
                "reviewed_by": args.reviewed_by,
                "index": str(Path(args.index).resolve()),
                "dev_claims": len(pooled_claims),
                "cutoffs_adopted": fit.cutoffs_adopted,
                "held_out": {
                    name: {k: row[k] for k in ("claims", "balanced_accuracy", "contradicted_precision", "ece")}
                    for name, row in table.items()
                    if "held-out" in name
                },
                "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            write_rules_file(args.rules_out, fit.rules, nli.identity, fitted_on)
            print(f"wrote {args.rules_out}: serve it with RULES_FILE={args.rules_out}", file=sys.stderr)
    print(markdown_table(table))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=2, default=str) + "\n", "utf-8")
    return 0


def dev_fit_half(path: str) -> tuple[list, list]:
    """The fit half of the dev fact sets in a `--save-runs` file (claims, results)."""
    import pickle

    return fit_half_of_runs(pickle.loads(Path(path).read_bytes()))  # our own file, written by --save-runs


def fit_half_of_runs(runs: dict) -> tuple[list, list]:
    """(claims, results) of the fit half of the fact sets in `runs` (set name -> (claims, results,
    fused)); the multi-evidence sets and the sample article are reported whole, never fitted."""
    from index.evaluation import MULTI_EVIDENCE_SETS, split_for_fit

    claims, results = [], []
    for name, (set_claims, set_results, _) in runs.items():
        if name in MULTI_EVIDENCE_SETS or name == "sample_article_dev":
            continue
        fit_claims, fit_results, _, _ = split_for_fit(set_claims, set_results)
        claims += fit_claims
        results += fit_results
    return claims, results


def verify_set(embedder, nli, articles: list[dict] | None, claims, retrieval: str):
    """Build an archive of `articles` (or the sample articles) in a temporary directory and verify every claim."""
    from index.ingestion.builder import build_index
    from index.verify import ClaimVerifier, load_index

    with tempfile.TemporaryDirectory(prefix="eval-") as tmp:
        tmp = Path(tmp)
        if articles is None:
            build_index([SAMPLE_ARTICLES], tmp / "index", embedder)
        else:
            source = tmp / "articles.jsonl"
            source.write_text("".join(json.dumps(a) + "\n" for a in articles), "utf-8")
            build_index([source], tmp / "index", embedder)
        verifier = ClaimVerifier(embedder, load_index(tmp / "index"), retrieval=retrieval, nli=nli)
        results, fused = [], []
        for first in range(0, len(claims), 32):
            texts = [c.claim for c in claims[first : first + 32]]
            results += verifier.verify_claims(texts, top_k=5)
            fused += plain_fusion(verifier, texts)
    return results, fused


def plain_fusion(verifier, claims: list[str], top_k: int = 5) -> list[list[tuple[str, ...]]]:
    """Per claim, the article ids of the first `top_k` items in plain reciprocal-rank-fusion order
    (BM25 + dense, duplicates collapsed, no judge): what the evidence order is measured against."""
    vectors = verifier.embedder.encode(claims)
    ranked = verifier.retrieve(claims, vectors, top_k * 3)
    sentences = verifier.index.archive.sentences(sorted({sid for row in ranked for sid, _ in row}))
    out = []
    for row in ranked:
        groups = verifier._collapse_duplicates([(sid, s) for sid, s in row if sid in sentences], sentences)[:top_k]
        out.append([tuple(sentences[sid].article.id for sid, _ in group) for group in groups])
    return out


def fusion_hits(claims, fused) -> dict:
    """hit@1 and hit@5 of plain fusion over the claims with gold articles."""
    ranks = []
    for claim, items in zip(claims, fused, strict=True):
        if claim.gold_articles:
            rank = next((i for i, ids in enumerate(items, 1) if set(ids) & set(claim.gold_articles)), None)
            ranks.append(rank)
    n = len(ranks) or 1
    return {"fusion_hit_at_1": sum(r == 1 for r in ranks) / n, "fusion_hit_at_5": sum(r is not None for r in ranks) / n}


def fact_sets_mode(args, embedder, nli) -> int:
    from index.evaluation import (
        FACT_SETS,
        MULTI_EVIDENCE_SETS,
        fact_set,
        fit_confidence,
        fit_half,
        fit_rules,
        load_claims,
        multi_evidence_set,
        reliability,
        score_results,
    )
    from index.judging.stance import DEGRADED_RULES, RULES

    names = FACT_SETS + MULTI_EVIDENCE_SETS if args.fact_sets == "all" else tuple(args.fact_sets.split(","))
    # Sets split into fit and report halves and pooled as all_fact_sets; the multi-evidence sets
    # (mixed labels) and the sample article are reported on their own rows, whole.
    halved = tuple(n for n in names if n not in MULTI_EVIDENCE_SETS)
    runs = {}
    for name in names:
        make = multi_evidence_set if name in MULTI_EVIDENCE_SETS else fact_set
        articles, claims = make(name, args.limit)
        print(f"{name}: {len(claims)} claims, {len(articles)} evidence articles", file=sys.stderr, flush=True)
        runs[name] = (claims, *verify_set(embedder, nli, articles, claims, args.retrieval))
    sample_claims = load_claims(DEV_CLAIMS)
    runs["sample_article_dev"] = (sample_claims, *verify_set(embedder, nli, None, sample_claims, args.retrieval))
    if args.save_runs:
        import pickle

        Path(args.save_runs).write_bytes(pickle.dumps(runs))

    rules, fit_info = (RULES if nli else DEGRADED_RULES), None
    if args.fit:
        fit_claims, fit_results = fit_half_of_runs(runs)
        if nli:
            rules, fit_info = fit_rules(fit_claims, fit_results)
        else:  # degraded: the cut-offs stay (stance.DEGRADED_RULES says why); the confidence map is fitted
            rules, fit_info = fit_confidence(fit_claims, fit_results, DEGRADED_RULES), {"points": len(fit_claims)}
        print(f"fitted on {len(fit_claims)} claims: {rules!r}", file=sys.stderr)

    table = {}
    reported_claims, reported_results, reported_fused = [], [], []
    for name, (claims, results, fused) in runs.items():
        if args.fit and name in halved:
            kept = [(c, r, f) for c, r, f in zip(claims, results, fused, strict=True) if not fit_half(c.claim)]
            claims, results, fused = [k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept]
        table[name] = score_results(claims, results, rules if args.fit else None).as_dict()
        if name == "sample_article_dev":
            continue
        table[name] |= {k: round(v, 4) for k, v in fusion_hits(claims, fused).items()}
        if name in halved:
            reported_claims += claims
            reported_results += results
            reported_fused += fused
    table["all_fact_sets"] = score_results(reported_claims, reported_results, rules if args.fit else None).as_dict()
    table["all_fact_sets"] |= {k: round(v, 4) for k, v in fusion_hits(reported_claims, reported_fused).items()}
    bins = reliability(reported_claims, reported_results, rules if args.fit else None)
    gold_cosines = sorted(
        e.score
        for c, r in zip(reported_claims, reported_results, strict=True)
        for e in r.evidence
        if set(c.gold_articles) & {e.article.id, *(a.id for a in e.also_in)}
    )
    figures = {
        "judge": nli.name if nli else None,
        "backend": embedder.backend,
        "retrieval": args.retrieval,
        "limit": args.limit,
        "half": "report half (by claim hash)" if args.fit else "all claims",
        "rules": repr(rules),
        "fit": fit_info,
        "sets": table,
        "reliability": bins,
        "gold_evidence_cosine_percentiles": {
            str(q): round(gold_cosines[int(q / 100 * (len(gold_cosines) - 1))], 4) for q in (1, 5, 10, 50)
        }
        if gold_cosines
        else {},
    }
    print(markdown_table(table))
    print("gold evidence cosine percentiles:", figures["gold_evidence_cosine_percentiles"])
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=2, default=str) + "\n", "utf-8")
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(table) + "\n", "utf-8")
    if args.reliability:
        draw_reliability(
            bins, Path(args.reliability), title=f"Verdict confidence, {table['all_fact_sets']['claims']} dev claims"
        )
    return 0


COLUMNS = (
    ("claims", "claims"), ("verdict_accuracy", "verdict acc."), ("macro_f1", "macro-F1"),
    ("balanced_accuracy", "bal. acc. S/R"), ("contradicted_precision", "contradicted P"),
    ("contradicted_precision_real_world", "contradicted P at 654:253"),
    ("contradicted_recall", "contradicted R"), ("ece", "ECE"), ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"),
    ("fusion_hit_at_5", "plain fusion hit@5"),
)  # fmt: skip


def markdown_table(table: dict) -> str:
    lines = ["| set | " + " | ".join(title for _, title in COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name, row in table.items():
        cells = [str(row[k]) if k == "claims" else f"{row[k]:.3f}" if k in row else "" for k, _ in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draw_reliability(bins: list[dict], path: Path, title: str) -> None:
    """A reliability diagram: accuracy against mean confidence per bin, bar width by share."""
    from PIL import Image, ImageDraw

    size, margin = 520, 60
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    plot = size - 2 * margin

    def xy(x: float, y: float) -> tuple[float, float]:
        return margin + x * plot, size - margin - y * plot

    draw.rectangle([xy(0, 1), xy(1, 0)], outline="black")
    draw.line([xy(0, 0), xy(1, 1)], fill=(150, 150, 150), width=1)
    total = sum(b["count"] for b in bins) or 1
    for b in bins:
        draw.rectangle([xy(b["low"], b["accuracy"]), xy(b["high"], 0)], outline=(40, 90, 160), fill=(120, 160, 220))
        draw.ellipse(
            [
                *(v - 4 for v in xy(b["confidence"], b["accuracy"])),
                *(v + 4 for v in xy(b["confidence"], b["accuracy"])),
            ],
            fill=(200, 60, 40),
        )
        share = f"{b['count'] / total:.0%}"
        draw.text(xy(b["low"] + 0.01, min(0.97, b["accuracy"] + 0.04)), share, fill="black")
    for tick in range(0, 11, 2):
        v = tick / 10
        draw.text((xy(v, 0)[0] - 8, size - margin + 6), f"{v:.1f}", fill="black")
        draw.text((margin - 30, xy(0, v)[1] - 6), f"{v:.1f}", fill="black")
    draw.text((margin, 20), title, fill="black")
    draw.text((size / 2 - 60, size - 25), "confidence (bars: accuracy per bin)", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


if __name__ == "__main__":
    sys.exit(main())
