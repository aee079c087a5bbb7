"""Claim matching on CLEF 2020 CheckThat! Task 2 (../shared/claim_matching): MAP@5 and same_claim.

    .venv/bin/python benchmarks/claim_matching.py                 # dev tweets, unmatched claims
    .venv/bin/python benchmarks/claim_matching.py --split train   # the tweets the rule's cut-offs were chosen on

1. The 10,389 Snopes verified claims are written as a ClaimReview DataFeed (claimReviewed =
   `vclaim`, name = the Snopes `title`; the release has no URL, rating or date, so each gets
   `https://claim-matching.invalid/snopes/<id>`, no rating and 2020-01-01) and imported with
   `scripts/import_reviews.py` into a copy of the sample index (timed).
2. Each tweet is asked through `POST /v1/verify` of the app (in-process, real model and
   judge); MAP@5 is computed from the response's `reviews` (a tweet's average precision over
   the first 5, divided by its number of relevant claims, as trec_eval's map_cut_5).
   The review search uses the shipped query adapter (models/review-adapter, as the service
   does by default); `--no-adapter` matches with the plain vector (REVIEW_ADAPTER=off).
3. same_claim (its cut-offs chosen with `--split train --signals F` then `--fit F`, on the
   train tweets and the other half of the unmatched claims): recall = tweets with
   `same_claim` on a relevant review; precision = the share of `same_claim` reviews that
   are relevant; wrongly true = unmatched real-world claims (fact-verification dev claims
   from ../shared/nli, which Snopes did not check) with any `same_claim` review.
`--signals FILE` also writes every (query, review) pair's cosine and the judge's entailment
both ways (JSONL), to choose the same-claim rule's cut-offs (index/reviews/same_claim.py).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import random
import sys
import time
from pathlib import Path

from harness import ROOT, SAMPLE_ARTICLES, bench_dir, command, import_reviews_into, log, machine, one_worker_threads

DATA = ROOT.parent / "shared" / "claim_matching"
NLI_DATA = ROOT.parent / "shared" / "nli"
UNMATCHED_SETS = ("fever_dev", "healthver_dev", "fm2_dev", "scifact_dev", "covidfact_dev", "vitaminc_real_dev")
PLACEHOLDER_URL = "https://claim-matching.invalid/snopes/"
csv.field_size_limit(10**7)


def read_tsv(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


def qrels(split: str) -> dict[str, set[str]]:
    relevant: dict[str, set[str]] = {}
    for line in (DATA / f"{split}_qrels.tsv").read_text("utf-8").splitlines():
        if line.strip():
            tweet, _, vclaim, _ = line.split()
            relevant.setdefault(tweet, set()).add(vclaim)
    return relevant


def snopes_rows() -> list[list[str]]:
    """(id, vclaim, title) rows. 28 claims hold a line break inside a quoted field: with quoting
    off the break splits the row, so a row short of its 3 cells is joined to the next."""
    rows: list[list[str]] = []
    pending: list[str] = []
    for row in read_tsv(DATA / "snopes_verified_claims.tsv.gz"):
        if pending:
            row = [*pending[:-1], f"{pending[-1]} {row[0]}", *row[1:]]
            pending = []
        if len(row) < 3:
            pending = row
            continue
        rows.append(row[:3])
    return rows


def snopes_feed(path: Path) -> int:
    rows = snopes_rows()
    items = [
        {
            "@type": "DataFeedItem",
            "item": {
                "@type": "ClaimReview",
                "url": f"{PLACEHOLDER_URL}{vid}",
                "claimReviewed": vclaim,
                "name": title,
                "author": {"@type": "Organization", "name": "Snopes"},
                "datePublished": "2020-01-01",
            },
        }
        for vid, vclaim, title in rows
    ]
    feed = {"@context": "https://schema.org", "@type": "DataFeed", "dataFeedElement": items}
    path.write_text(json.dumps(feed), "utf-8")
    return len(items)


def unmatched_claims(per_set: int, seed: int, half: int) -> list[str]:
    """`per_set` claims of each set, from one half of it (by hash: half 0 fits the rule with the
    train tweets, half 1 reports it with the dev tweets, so the two never share a claim)."""
    claims = []
    for name in UNMATCHED_SETS:
        with gzip.open(NLI_DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            hypotheses = sorted({json.loads(line)["hypothesis"] for line in f})
        hypotheses = [h for h in hypotheses if hashlib.sha1(h.encode("utf-8")).digest()[0] % 2 == half]
        claims += random.Random(seed).sample(hypotheses, min(per_set, len(hypotheses)))
    return claims


def average_precision(found: list[str], relevant: set[str], k: int = 5) -> float:
    hits, total = 0, 0.0
    for rank, vid in enumerate(found[:k], start=1):
        if vid in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant) if relevant else 0.0


def fit(signals: Path, max_wrongly: float) -> None:
    """Grid-search the same-claim rule's cut-offs on a `--signals` file: the highest recall on its
    tweets whose rate of unmatched claims with any same_claim stays within `max_wrongly`."""
    from index.reviews.same_claim import JUDGE_FLOOR, JUDGED, SameClaimRule

    queries: dict[tuple[str, int], list[dict]] = {}
    rows = [json.loads(line) for line in signals.read_text("utf-8").splitlines()]
    query = -1
    for row in rows:
        query += row["rank"] == 0
        queries.setdefault((row["kind"], query), []).append(row)
    tweets = [q for (kind, _), q in queries.items() if kind == "tweet"]
    unmatched = [q for (kind, _), q in queries.items() if kind == "unmatched"]

    def decided(rule: SameClaimRule, row: dict) -> bool:
        read = row["rank"] < JUDGED and row["cosine"] >= JUDGE_FLOOR
        return rule.decide(row["cosine"], row["entails"] if read else None, row["entailed"] if read else None)

    grid = [x / 100 for x in range(50, 100, 2)]
    best = None
    for alone in grid:
        for with_judge in [g for g in grid if g <= alone]:
            for entailment in [x / 20 for x in range(1, 20)]:
                rule = SameClaimRule(alone, with_judge, entailment)
                wrong = sum(any(decided(rule, r) for r in q) for q in unmatched) / len(unmatched)
                if wrong > max_wrongly:
                    continue
                recall = sum(any(decided(rule, r) and r["gold"] for r in q) for q in tweets) / len(tweets)
                said = sum(decided(rule, r) for q in tweets for r in q)
                right = sum(decided(rule, r) and r["gold"] for q in tweets for r in q)
                key = (recall, -wrong)
                if best is None or key > best[0]:
                    best = (key, rule, wrong, right / said if said else float("nan"))
    (recall, _), rule, wrong, precision = best
    print(f"fit on {signals} ({len(tweets)} tweets, {len(unmatched)} unmatched claims): {rule}")
    print(f"recall {recall:.3f}, precision {precision:.3f}, wrongly true {wrong:.3f} (at most {max_wrongly})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "train"), default="dev", help="which tweets to ask")
    parser.add_argument("--unmatched-per-set", type=int, default=100, help=f"claims from each of {UNMATCHED_SETS}")
    parser.add_argument("--unmatched-seed", type=int, default=11)
    parser.add_argument("--limit", type=int, help="ask only the first N tweets (a quick look)")
    parser.add_argument("--signals", type=Path, help="write every pair's cosine and entailments here (JSONL)")
    parser.add_argument("--work", type=Path, help="working directory (default var/bench/claim-matching)")
    parser.add_argument("--fit", type=Path, metavar="SIGNALS", help="only fit the same-claim rule on a signals file")
    parser.add_argument("--max-wrongly", type=float, default=0.02, help="with --fit: the unmatched claims' bound")
    parser.add_argument(
        "--no-adapter", action="store_true", help="match without the query adapter, as REVIEW_ADAPTER=off"
    )
    args = parser.parse_args()
    if args.fit:
        fit(args.fit, args.max_wrongly)
        return 0
    if not (DATA / "snopes_verified_claims.tsv.gz").is_file():
        log(f"no claim-matching data at {DATA}")
        return 1
    one_worker_threads()

    from index.ingestion.builder import build_index
    from index.judging.nli import load_nli
    from index.retrieval.embedder import load_embedder
    from index.reviews import same_claim
    from index.reviews.adapter import load_adapter
    from index.reviews.matching import matching_text
    from index.verify import ClaimVerifier, load_index
    from service import create_app
    from service.config import Settings

    work = args.work or bench_dir() / "claim-matching"
    embedder = load_embedder()
    base = work / "base-index"
    if not (base / "CURRENT").is_file():
        build_index([SAMPLE_ARTICLES], base, embedder)
    index_dir = work / "index"
    if not (index_dir / "CURRENT").is_file() or not (work / "imported").is_file():
        feed = work / "snopes_claimreview.json"
        n = snopes_feed(feed)
        done = import_reviews_into(feed, base, index_dir)
        (work / "imported").write_text(json.dumps({"records": n, **done}))
    imported = json.loads((work / "imported").read_text())
    log(f"import: {imported}")

    nli = load_nli(threads=1)
    adapter = None if args.no_adapter else load_adapter(model=embedder.name, dimension=embedder.dimension)
    verifier = ClaimVerifier(embedder, load_index(index_dir), nli=nli, review_adapter=adapter)
    client = create_app(Settings(index_dir=str(index_dir)), verifier=verifier).test_client()
    vclaim_of = {}  # review id -> Snopes id

    def ask(claim: str) -> list[dict]:
        response = client.post("/v1/verify", json={"claim": claim[:1000]})
        assert response.status_code == 200, response.get_json()
        found = response.get_json()["reviews"]
        for r in found:
            vclaim_of[r["id"]] = r["url"].removeprefix(PLACEHOLDER_URL)
        return found

    tweets = read_tsv(DATA / f"{args.split}_tweets.tsv")[: args.limit]
    relevant = qrels(args.split)
    signals_out = args.signals.open("w", encoding="utf-8") if args.signals else None

    def record(kind: str, claim: str, found: list[dict], gold: set[str]) -> None:
        if signals_out is None or not found:
            return
        text = matching_text(claim[:1000])
        pairs = [(r["claim"], text) for r in found] + [(text, r["claim"]) for r in found]
        readings = nli.score(pairs)
        for rank, r in enumerate(found):
            row = {
                "kind": kind, "rank": rank, "cosine": r["score"], "entails": readings[rank].entailment,
                "entailed": readings[len(found) + rank].entailment, "gold": vclaim_of[r["id"]] in gold,
            }  # fmt: skip
            signals_out.write(json.dumps(row) + "\n")

    started = time.perf_counter()
    ap, recall_hits, same_true, same_right = [], 0, 0, 0
    for tweet_id, text in tweets:
        found = ask(text)
        gold = relevant.get(tweet_id, set())
        ap.append(average_precision([vclaim_of[r["id"]] for r in found], gold))
        same = [vclaim_of[r["id"]] for r in found if r["same_claim"]]
        recall_hits += any(v in gold for v in same)
        same_true += len(same)
        same_right += sum(v in gold for v in same)
        record("tweet", text, found, gold)
    tweet_seconds = time.perf_counter() - started
    half = 0 if args.split == "train" else 1
    unmatched = unmatched_claims(args.unmatched_per_set, args.unmatched_seed, half)
    wrongly = 0
    for claim in unmatched:
        found = ask(claim)
        wrongly += any(r["same_claim"] for r in found)
        record("unmatched", claim, found, set())
    if signals_out:
        signals_out.close()

    n = len(tweets)
    print(f"# Claim matching, {args.split} tweets ({command()})\n\n{machine()}\n")
    print(f"- import: {imported['records']} ClaimReview records in {imported['seconds']} s ({imported['out'].strip()})")
    shown = f"query adapter sha256 {adapter.sha256[:12]}" if adapter else "no query adapter"
    print(f"- MAP@5 over {n} tweets from `reviews` of /v1/verify ({shown}): **{sum(ap) / n:.3f}**", end="")
    print(f" ({tweet_seconds:.0f} s)")
    print(f"- same_claim rule: {same_claim.RULE}")
    print(
        f"- same_claim recall (tweets with same_claim on a relevant review): {recall_hits}/{n} = {recall_hits / n:.3f}"
    )
    precision = same_right / same_true if same_true else float("nan")
    print(f"- same_claim precision on the tweets: {same_right}/{same_true} = {precision:.3f}")
    print(
        f"- same_claim wrongly true on {len(unmatched)} unmatched claims ({', '.join(UNMATCHED_SETS)}, "
        f"{args.unmatched_per_set} each from half {half}, seed {args.unmatched_seed}): "
        f"{wrongly} = {wrongly / len(unmatched):.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
