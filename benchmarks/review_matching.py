"""Reviews at scale: what matching against 100k reviews adds to a claim, and how fast reviews import.

    .venv/bin/python benchmarks/review_matching.py                          # 100k reviews, 300 claims
    .venv/bin/python benchmarks/review_matching.py --reviews 20k --claims 50
    .venv/bin/python benchmarks/review_matching.py --real politifact --claims 591   # real reviews, on-topic claims

1. The serving benchmark's index (20k synthetic sentences, seed 11, built once as
   `serving_load.py` builds it) and its claims (paraphrased, some with a figure changed, some
   about nothing in the index).
2. Reviews: sentences of another synthetic corpus (seed 23: the same generator, so the same
   kind of topics, names and figures, but not the claims asked) as reviewed claims, written as
   one ClaimReview DataFeed and imported with `scripts/import_reviews.py` into a copy of the
   index (once; later runs reuse it).
3. Import speed: the first `--import-records` of them imported into a fresh copy of the index,
   wall time of the whole command (model load included), every run.
4. Matching: two verifiers in this process with one worker's thread caps, the judge on and its
   cache off, on the index without and with the reviews; every claim is asked of both, the two
   taking turns going first. Reported: verify_claim p50/p95 without and with, the p50 of the
   per-claim difference, the `reviews` step alone (the engine's observer), the share of claims
   whose candidates the same-claim judge read, the review base's build time at load, and the
   dense recall@5 of the base's search (IVF above `EXACT_MAX_REVIEWS`) against exact search.
   The verifier with reviews matches as the service does by default, without the query
   adapter (`--adapter`: with the shipped one).

`--real politifact` (or `snopes`) uses a real fact-checker's reviews instead, and on-topic
claims: the 19,250 PolitiFact checks imported from their own export format, asked with the
591 debate and speech sentences they were checked for; or the 10,375 Snopes claims, with the
997 tweets. On-topic claims are what a newsroom's reviews meet: every one has reviews near it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from harness import (
    bench_dir,
    command,
    contention,
    human,
    import_reviews_into,
    log,
    machine,
    one_worker_threads,
    parse_size,
    percentile,
    rotated,
    seconds_of,
    table,
    write_json,
)

CLAIMS_SEED = 11
REVIEWS_SEED = 23
VERDICT_TEXTS = ("False", "True", "Mixture", "Mostly False", "Unproven")


def review_feed(texts: list[str]) -> dict:
    """The texts as a ClaimReview DataFeed (ratings cycled; URLs under a reserved domain)."""
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dataFeedElement": [
            {
                "@type": "DataFeedItem",
                "item": {
                    "@type": "ClaimReview",
                    "url": f"https://reviews.invalid/{REVIEWS_SEED}/{i}",
                    "claimReviewed": text,
                    "author": {"@type": "Organization", "name": "Benchmark Checks"},
                    "datePublished": "2025-01-01",
                    "reviewRating": {"@type": "Rating", "alternateName": VERDICT_TEXTS[i % len(VERDICT_TEXTS)]},
                },
            }
            for i, text in enumerate(texts)
        ],
    }


def review_texts(count: int) -> list[str]:
    """`count` distinct sentences of the reviews' corpus, in corpus order."""
    import synthetic_corpus

    from index.documents.sentences import split_sentences

    texts, seen = [], set()
    for record in synthetic_corpus.generate(seed=REVIEWS_SEED, sentences=int(count * 1.1) + 100):
        for start, end in split_sentences(record["text"]):
            text = record["text"][start:end]
            if text not in seen:
                seen.add(text)
                texts.append(text)
        if len(texts) >= count:
            break
    if len(texts) < count:
        raise SystemExit(f"the corpus gave {len(texts)} distinct sentences, not {count}")
    return texts[:count]


def real_reviews(name: str, work: Path) -> tuple[Path, int, list[str]]:
    """A real fact-checker's reviews, written as the importer reads them, and on-topic claims:
    PolitiFact's 19,250 checks (its own export format) and the 591 debate and speech sentences,
    or Snopes' 10,375 claims (a ClaimReview feed) and the 997 train and dev tweets."""
    import gzip

    import claim_matching

    from index.reviews.matching import matching_text

    if name == "politifact":
        feed = work / "politifact.jsonl"
        export = claim_matching.POLITIFACT / "politifact_verified_claims.jsonl.gz"
        with gzip.open(export, "rt", encoding="utf-8") as lines:
            records = [line for line in lines if line.strip()]
        feed.write_text("".join(records), "utf-8")
        return feed, len(records), list(claim_matching.politifact_sentences().values())
    feed = work / "snopes.json"
    count = claim_matching.snopes_feed(feed)
    tweets = [
        t for split in ("train", "dev") for _, t in claim_matching.read_tsv(claim_matching.DATA / f"{split}_tweets.tsv")
    ]
    return feed, count, [matching_text(" ".join(t.split())[:1000]) for t in tweets]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=parse_size, default=100_000, help="reviews matched against (default 100k)")
    parser.add_argument("--claims", type=int, default=300, help="claims asked (default 300)")
    parser.add_argument("--import-records", type=parse_size, default=10_000, help="records imported, timed (10k)")
    parser.add_argument("--skip-import", action="store_true", help="do not time the import")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--adapter", action="store_true", help="match with the shipped query adapter, as REVIEW_ADAPTER=shipped"
    )
    parser.add_argument(
        "--real",
        choices=("politifact", "snopes"),
        help="a real fact-checker's reviews and on-topic claims (../shared/claim_matching) instead of synthetic ones",
    )
    args = parser.parse_args(argv)
    one_worker_threads()  # before `index` is imported: one gunicorn worker's caps

    import numpy as np
    import serving_load

    from index.common import observe
    from index.judging.nli import load_nli
    from index.retrieval.embedder import load_embedder
    from index.reviews import matching
    from index.reviews.adapter import load_adapter
    from index.verify import ClaimVerifier, load_index

    index_dir, _ = serving_load.ensure_index(argparse.Namespace(sentences=20_000, seed=CLAIMS_SEED, index=None))
    if args.real:
        work = bench_dir() / f"reviews-real-{args.real}"
        work.mkdir(exist_ok=True)
        real_feed, args.reviews, claims = real_reviews(args.real, work)
        claims = claims[: args.claims]
        args.skip_import = True
    else:
        claims = json.loads(serving_load.ensure_claims(index_dir, 2000, CLAIMS_SEED).read_text("utf-8"))
        claims = claims[: args.claims]
        work = bench_dir() / f"reviews-{human(args.reviews)}-s{REVIEWS_SEED}"
        work.mkdir(exist_ok=True)
        texts = review_texts(max(args.reviews, args.import_records))
    figures: dict = {"machine": machine(), "reviews": args.reviews, "claims": len(claims), "real": args.real}

    if not args.skip_import:
        feed = work / f"import-{human(args.import_records)}.json"
        feed.write_text(json.dumps(review_feed(texts[: args.import_records])), "utf-8")
        figures["import"] = import_reviews_into(feed, index_dir, work / "import-index")
        figures["import"]["records"] = args.import_records
        shutil.rmtree(work / "import-index", ignore_errors=True)
        # The model's own rate on the same texts, threads as the import has them: the bound.
        from index.retrieval.embedder import load_embedder

        encoder = load_embedder(threads=os.cpu_count())
        figures["import"]["encode_only_s"] = round(seconds_of(lambda: encoder.encode(texts[: args.import_records])), 1)
        del encoder
        log(f"import of {args.import_records} records: {figures['import']}")

    with_reviews = work / "index"
    record = work / "index.import.json"
    if not record.is_file():
        if args.real:
            feed = real_feed
        else:
            feed = work / "reviews.json"
            feed.write_text(json.dumps(review_feed(texts[: args.reviews])), "utf-8")
        log(f"importing {args.reviews} reviews into {with_reviews} (once; later runs reuse it)")
        write_json(record, import_reviews_into(feed, index_dir, with_reviews) | {"records": args.reviews})
        feed.unlink()
    figures["reviews_import"] = json.loads(record.read_text("utf-8"))

    class Steps(observe.Observer):
        def __init__(self) -> None:
            self.seconds: dict[str, float] = {}

        def step(self, name: str, seconds: float) -> None:
            self.seconds[name] = seconds

    steps = Steps()
    observe.set_observer(steps)
    embedder = load_embedder(threads=1)
    nli = load_nli(threads=1, cache_pairs=0)  # every claim pays its own readings
    plain = ClaimVerifier(embedder, load_index(index_dir), nli=nli)
    started = time.perf_counter()
    adapter = load_adapter(model=embedder.name, dimension=embedder.dimension) if args.adapter else None
    figures["query_adapter"] = adapter.sha256[:12] if adapter else None
    reviewed = ClaimVerifier(embedder, load_index(with_reviews), nli=nli, review_adapter=adapter)
    figures["verifier_load_s"] = {"with_reviews": round(time.perf_counter() - started, 1)}
    started = time.perf_counter()
    view = reviewed.reviews.view(reviewed.index.view().generation)
    base_build = matching.ReviewBase.build(reviewed.reviews.store, view.generation, embedder.dimension)
    figures["review_base_build_s"] = round(time.perf_counter() - started, 1)
    figures["review_base"] = f"{type(base_build.vectors).__name__}, {base_build.vectors.ntotal} reviews"
    if view.size != args.reviews:
        raise SystemExit(f"{with_reviews} holds {view.size} reviews, not {args.reviews}")

    for claim in claims[:5]:  # warm both
        plain.verify_claim(claim), reviewed.verify_claim(claim)
    times: dict[str, list[float]] = {"without": [], "with": []}
    reviews_step, already_checked = [], 0
    for turn, claim in enumerate(claims):
        for name in rotated(["without", "with"], turn):
            verifier = plain if name == "without" else reviewed
            started = time.perf_counter()
            result = verifier.verify_claim(claim)
            times[name].append((time.perf_counter() - started) * 1000)
            if name == "with":
                reviews_step.append(steps.seconds["reviews"] * 1000)
                already_checked += result.already_checked
    differences = [w - wo for w, wo in zip(times["with"], times["without"], strict=True)]

    # The adapter's own cost: the review search with the plain and the adapted query (the
    # product included), paired per claim, taking turns going first; 3 rounds.
    adapter_cost = []
    if adapter:
        texts_vectors = [(matching.matching_text(c), embedder.encode([matching.matching_text(c)])) for c in claims]
        for turn in range(3 * len(claims)):
            text, vector = texts_vectors[turn % len(claims)]
            took = {}
            for name in rotated(["plain", "adapted"], turn):
                started = time.perf_counter()
                queries = adapter.apply(vector) if name == "adapted" else None
                view.search([text], vector, matching.REVIEWS_SHOWN, queries)
                took[name] = (time.perf_counter() - started) * 1000
            adapter_cost.append(took["adapted"] - took["plain"])

    # Dense recall@5 of the base's search against exact search over the same vectors.
    rows = reviewed.reviews.store.rows(view.generation)
    vectors = embedder.encode([matching.matching_text(c) for c in claims])
    vectors = adapter.apply(vectors) if adapter else vectors  # what the dense search looks with
    exact = np.argsort(-(rows.vectors @ vectors.T), axis=0)[:5].T
    _, approximate = view.base.vectors.search(np.ascontiguousarray(vectors), 5)
    recall = float(np.mean([len(set(rows.seqs[e]) & set(a)) / 5 for e, a in zip(exact, approximate, strict=True)]))

    def p(values: list[float], q: float) -> float:
        return round(percentile(values, q), 2)

    figures |= {
        "verify_ms": {name: {"p50": p(v, 50), "p95": p(v, 95)} for name, v in times.items()},
        "added_ms_p50": p(differences, 50),
        "adapter_ms_p50": p(adapter_cost, 50) if adapter_cost else None,
        "reviews_step_ms": {"p50": p(reviews_step, 50), "p95": p(reviews_step, 95)},
        "already_checked_share": round(already_checked / len(claims), 3),
        "dense_recall_at_5": round(recall, 4),
        "load_after": contention(),
    }
    print(f"# Review matching ({command()})\n\n{machine()}; {figures['load_after']}\n")
    verify, step = figures["verify_ms"], figures["reviews_step_ms"]
    lines = [
        ("verify_claim, no reviews", verify["without"]["p50"], verify["without"]["p95"]),
        (f"verify_claim, {human(args.reviews)} reviews", verify["with"]["p50"], verify["with"]["p95"]),
        ("difference, per claim", figures["added_ms_p50"], ""),
        ("the `reviews` step alone", step["p50"], step["p95"]),
        ("the query adapter's own part (paired, 3 rounds)", figures["adapter_ms_p50"] or "", ""),
    ]
    print(table("what | p50 ms | p95 ms", lines))
    print(
        f"\n- query adapter: {figures['query_adapter'] or 'none (the default; --adapter for the shipped one)'}"
        f"\n- {len(claims)} claims{' (real, on-topic: ' + args.real + ')' if args.real else ''};"
        f" already checked: {figures['already_checked_share']:.1%} of them (the decision reads no model)"
        f"\n- review base ({figures['review_base']}): built in {figures['review_base_build_s']} s;"
        f" dense recall@5 against exact search {figures['dense_recall_at_5']:.4f}"
        f"\n- import of {human(args.reviews)} reviews (once): {figures['reviews_import']}"
    )
    if "import" in figures:
        done = figures["import"]
        print(
            f"- import of {human(args.import_records)} ClaimReview records (scripts/import_reviews.py, model load"
            f" included): {done['seconds']} s; the model alone on the same texts: {done['encode_only_s']} s"
            f" ({done['out']}; {done['load']})"
        )
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
