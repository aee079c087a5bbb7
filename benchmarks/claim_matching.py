"""Claim matching on CLEF 2020 CheckThat! Task 2 (../shared/claim_matching): MAP@5 and same_claim.

    .venv/bin/python benchmarks/claim_matching.py                 # dev tweets, unmatched claims
    .venv/bin/python benchmarks/claim_matching.py --split train   # the train tweets
    .venv/bin/python benchmarks/claim_matching.py --adapter       # with the shipped query adapter

The end-to-end check of claim matching through the service; the same-claim decision itself is
fitted and judged on same-topic negatives by benchmarks/same_claim_fit.py.

1. The 10,389 Snopes verified claims are written as a ClaimReview DataFeed (claimReviewed =
   `vclaim`, name = the Snopes `title`; the release has no URL, rating or date, so each gets
   `https://claim-matching.invalid/snopes/<id>`, no rating and 2020-01-01) and imported with
   `scripts/import_reviews.py` into a copy of the sample index (timed).
2. Each tweet is asked through `POST /v1/verify` of the app (in-process, real model and
   judge); MAP@5 is computed from the response's `reviews` (a tweet's average precision over
   the first 5, divided by its number of relevant claims, as trec_eval's map_cut_5).
   The review search is the service's default (dense + BM25, no query adapter); `--adapter`
   matches with the shipped one.
3. same_claim: recall = tweets with `same_claim` on a relevant review; precision = the share
   of `same_claim` reviews that are relevant; wrongly true = unmatched real-world claims
   (fact-verification dev claims from ../shared/nli, which Snopes did not check, an easy,
   off-topic negative) with any `same_claim` review.
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
POLITIFACT = DATA / "politifact"
NLI_DATA = ROOT.parent / "shared" / "nli"
UNMATCHED_SETS = ("fever_dev", "healthver_dev", "fm2_dev", "scifact_dev", "covidfact_dev", "vitaminc_real_dev")
PLACEHOLDER_URL = "https://claim-matching.invalid/snopes/"
csv.field_size_limit(10**7)


def read_tsv(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


def politifact_sentences() -> dict[str, str]:
    """The debate and speech sentences of politifact/train_dev_queries.tsv by id, whitespace
    normalised (111 lines repeat an earlier one: the first is kept)."""
    said: dict[str, str] = {}
    for line in (POLITIFACT / "train_dev_queries.tsv").read_text("utf-8").splitlines():
        if "\t" in line:
            sid, text = line.split("\t", 1)
            said.setdefault(sid, " ".join(text.split()))
    return said


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "train"), default="dev", help="which tweets to ask")
    parser.add_argument("--unmatched-per-set", type=int, default=100, help=f"claims from each of {UNMATCHED_SETS}")
    parser.add_argument("--unmatched-seed", type=int, default=11)
    parser.add_argument("--limit", type=int, help="ask only the first N tweets (a quick look)")
    parser.add_argument("--work", type=Path, help="working directory (default var/bench/claim-matching)")
    parser.add_argument(
        "--adapter", action="store_true", help="match with the shipped query adapter, as REVIEW_ADAPTER=shipped"
    )
    args = parser.parse_args()
    if not (DATA / "snopes_verified_claims.tsv.gz").is_file():
        log(f"no claim-matching data at {DATA}")
        return 1
    one_worker_threads()

    from index.ingestion.builder import build_index
    from index.judging.nli import load_nli
    from index.retrieval.embedder import load_embedder
    from index.reviews import same_claim
    from index.reviews.adapter import load_adapter
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
    adapter = load_adapter(model=embedder.name, dimension=embedder.dimension) if args.adapter else None
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
    tweet_seconds = time.perf_counter() - started
    half = 0 if args.split == "train" else 1
    unmatched = unmatched_claims(args.unmatched_per_set, args.unmatched_seed, half)
    wrongly = 0
    for claim in unmatched:
        found = ask(claim)
        wrongly += any(r["same_claim"] for r in found)

    n = len(tweets)
    print(f"# Claim matching, {args.split} tweets ({command()})\n\n{machine()}\n")
    print(f"- import: {imported['records']} ClaimReview records in {imported['seconds']} s ({imported['out'].strip()})")
    shown = f"query adapter sha256 {adapter.sha256[:12]}" if adapter else "no query adapter"
    print(f"- MAP@5 over {n} tweets from `reviews` of /v1/verify ({shown}): **{sum(ap) / n:.3f}**", end="")
    print(f" ({tweet_seconds:.0f} s)")
    print(f"- same_claim decision: {same_claim.MODEL}")
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
