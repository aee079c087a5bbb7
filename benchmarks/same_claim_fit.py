"""Fit and judge `same_claim` on same-topic negatives, in two domains (issue 36).

    .venv/bin/python benchmarks/same_claim_fit.py                   # rankings; the decision fitted on train, dev read
    .venv/bin/python benchmarks/same_claim_fit.py --judge           # the NLI judge both ways as two more signals (slow)
    .venv/bin/python benchmarks/same_claim_fit.py --show-flagged 40 # dev queries still flagged, their gold left out

Domains (../shared/claim_matching, read-only): tweets against the 10,375 Snopes claims (CLEF
2020 CheckThat! 2A), and sentences said in debates and speeches against the 19,250 PolitiFact
fact-checks (CLEF 2022 CheckThat! 2B). Each has a train and a dev split of queries.

The matching is an offline copy of the service's (index/reviews/matching.py): the same texts
(a review's `match_text`, a query's `matching_text`), the same embedder, exact dense search (the
review index is exact up to 20,000 reviews), BM25 over the same texts, reciprocal-rank fusion.

Two protocols per query, as the issue sets them:
- **with the gold**: against every review. Its own review(s) are the positives; MAP@5 and
  `same_claim` recall@1 (the first review is its own and is called the same claim) come from here.
- **leave the gold out**: against every review but its own. Anything still called the same
  claim is a false "already checked" on the query's own topic: the hard negatives, from the
  same beat. (Fact-checkers do check a claim twice; `--show-flagged` lists what stays flagged,
  to read.)

A candidate still flagged with the gold left out is a **true duplicate**, not a false "already
checked", when it repeats the left-out review's claim: read by hand (benchmarks/data/
same_claim_repeats.jsonl: every left-out candidate an earlier fit scored 0.3 or more, 171 pairs,
each labelled `same` or not with a reason) or nearly word for word (cosine ≥ 0.95 to a left-out
review: Snopes holds the same claim twice, differently quoted). Flags on pairs not in the file
count as false. True duplicates are not taken for negatives in the fit either.

The ranking: a component (BM25 fusion, the query adapter) is kept only if the ranking with it
alone beats plain cosine's MAP@5 on **both** dev sets (issue 36); `--variant` overrides.

The decision (index/reviews/same_claim.py) is fitted on the train queries of both domains only
(both protocols' candidates: the gold a positive, everything else but true duplicates a
negative); its operating point is the lowest cut-off whose false "already checked" stays within
`--max-false` on the train queries of each domain; the dev figures are then read once.
Writes var/bench/same_claim_fit.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from claim_matching import DATA, POLITIFACT, average_precision, politifact_sentences, qrels, read_tsv, snopes_rows
from harness import bench_dir, command, ensure_onnx_export, log, machine, write_json

REPEATS = Path(__file__).resolve().parent / "data" / "same_claim_repeats.jsonl"
NEAR_COPY = 0.95  # cosine of a flagged review to a left-out one at which it repeats it word for word
JUDGED = 2  # with --judge: the first candidates the judge reads
DEPTH = 50  # each ranking's depth before fusion, as matching.CANDIDATES
SHOWN = 5  # the reviews a claim's answer lists, as matching.REVIEWS_SHOWN
VARIANTS = ("cosine", "fused", "adapter", "adapter+fused")


@dataclass
class Queries:
    ids: list[str]
    texts: list[str]
    gold: list[set[int]]  # positions of the relevant reviews
    vectors: np.ndarray | None = None


@dataclass
class Domain:
    name: str
    review_ids: list[str]
    claims: list[str]  # the review's claim as the fact-checker states it
    texts: list[str]  # what a claim is matched against: claim + title (review.match_text)
    speakers: list[str | None]
    splits: dict[str, Queries] = field(default_factory=dict)
    vectors: np.ndarray | None = None
    lexical: object = None


def tweets_domain() -> Domain:
    from index.reviews.matching import matching_text
    from index.reviews.review import match_text

    rows = snopes_rows()
    ids = [vid for vid, _, _ in rows]
    claims = [" ".join(claim.split()) for _, claim, _ in rows]
    texts = [match_text(c, " ".join(title.split()) or None) for c, (_, _, title) in zip(claims, rows, strict=True)]
    domain = Domain("tweets", ids, claims, texts, [None] * len(ids))
    where = {vid: i for i, vid in enumerate(ids)}
    for split in ("train", "dev"):
        relevant = qrels(split)
        rows = read_tsv(DATA / f"{split}_tweets.tsv")
        domain.splits[split] = Queries(
            [tid for tid, _ in rows],
            [matching_text(" ".join(text.split())[:1000]) for _, text in rows],
            [{where[v] for v in relevant.get(tid, ()) if v in where} for tid, _ in rows],
        )
    return domain


def politifact_domain() -> Domain:
    from index.reviews.review import match_text

    with gzip.open(POLITIFACT / "politifact_verified_claims.jsonl.gz", "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    ids = [r["id"] for r in records]
    claims = [" ".join(r["claim"].split()) for r in records]
    texts = [
        match_text(c, " ".join((r.get("title") or "").split()) or None) for c, r in zip(claims, records, strict=True)
    ]
    domain = Domain("debates", ids, claims, texts, [r.get("speaker") for r in records])
    where = {vid: i for i, vid in enumerate(ids)}
    sentences = politifact_sentences()
    for split in ("train", "dev"):
        relevant: dict[str, set[int]] = {}
        for line in (POLITIFACT / f"{split}_qrels.tsv").read_text("utf-8").splitlines():
            if line.strip():
                sid, _, vid, _ = line.split()
                relevant.setdefault(sid, set()).add(where[vid])
        chosen = sorted(relevant)
        domain.splits[split] = Queries(chosen, [sentences[s] for s in chosen], [relevant[s] for s in chosen])
    return domain


def embed(texts: list[str], embedder) -> np.ndarray:
    import hashlib

    key = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = bench_dir() / f"embedded-{key}.npy"
    if path.is_file():
        return np.load(path)
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    np.save(path, vectors)
    return vectors


def prepare(domain: Domain, embedder) -> None:
    from index.retrieval.lexical import LexicalIndex

    started = time.perf_counter()
    domain.vectors = embed(domain.texts, embedder)
    for queries in domain.splits.values():
        queries.vectors = embed(queries.texts, embedder)
    domain.lexical = LexicalIndex.build(domain.texts, np.arange(len(domain.texts), dtype=np.int64))
    log(f"{domain.name}: {len(domain.texts)} reviews, embedded and indexed in {time.perf_counter() - started:.0f} s")


def rank(
    domain: Domain, queries: Queries, variant: str, leave_gold_out: bool, adapter=None
) -> list[list[tuple[int, float]]]:
    """Per query, the first SHOWN (review position, plain cosine), as the service ranks them."""
    from index.retrieval.lexical import reciprocal_rank_fusion

    plain = queries.vectors @ domain.vectors.T
    looking = (
        plain if adapter is None or "adapter" not in variant else adapter.apply(queries.vectors) @ domain.vectors.T
    )
    extra = max(len(g) for g in queries.gold) if leave_gold_out else 0
    lexical = domain.lexical.search(queries.texts, DEPTH + extra) if "fused" in variant else None
    out = []
    for row, gold in enumerate(queries.gold):
        drop = gold if leave_gold_out else set()
        top = np.argpartition(-looking[row], DEPTH + extra)[: DEPTH + extra]
        dense = [int(i) for i in top[np.argsort(-looking[row][top], kind="stable")] if int(i) not in drop][:DEPTH]
        if lexical is not None:
            words = [int(i) for i, _ in lexical[row] if int(i) not in drop][:DEPTH]
            fused = reciprocal_rank_fusion([dense, words])
            best = sorted(fused, key=lambda i: -fused[i])[:SHOWN]
        else:
            best = dense[:SHOWN]
        out.append([(i, float(plain[row, i])) for i in best])
    return out


def map5(domain: Domain, queries: Queries, found: list[list[tuple[int, float]]]) -> float:
    ids = domain.review_ids
    return float(
        np.mean(
            [
                average_precision([ids[i] for i, _ in row], {ids[g] for g in gold})
                for row, gold in zip(found, queries.gold, strict=True)
            ]
        )
    )


def signals(domain: Domain, queries: Queries, found, judge=None) -> list[list[dict]]:
    """Per query, per candidate: the decision's signals (same_claim.pair_signals) and its label."""
    from index.reviews import same_claim

    rows = []
    for qid, text, gold, candidates in zip(queries.ids, queries.texts, queries.gold, found, strict=True):
        cosines = [c for _, c in candidates]
        rows.append(
            [
                {
                    **same_claim.pair_signals(
                        text, domain.claims[i], domain.texts[i], cosine, [c for j, c in enumerate(cosines) if j != rank]
                    ).as_dict(),
                    "rank": rank,
                    "review": i,
                    "label": int(i in gold),
                    "query": qid,
                    "near_copy": i not in gold
                    and max(float(domain.vectors[i] @ domain.vectors[g]) for g in gold) >= NEAR_COPY,
                }
                for rank, (i, cosine) in enumerate(candidates)
            ]
        )
    if judge is not None:
        pairs, where = [], []
        for q, (text, row) in enumerate(zip(queries.texts, rows, strict=True)):
            for r, cand in enumerate(row[:JUDGED]):
                claim = domain.claims[cand["review"]]
                pairs += [(claim, text), (text, claim)]
                where.append((q, r))
        scores = judge.score(pairs)
        for k, (q, r) in enumerate(where):
            rows[q][r]["entails"] = scores[2 * k].entailment
            rows[q][r]["entailed"] = scores[2 * k + 1].entailment
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        default=None,
        help="the ranking the decision is fitted on (default: the best by dev MAP@5 on both)",
    )
    parser.add_argument("--judge", action="store_true", help="read the NLI judge both ways on the first two candidates")
    parser.add_argument(
        "--max-false", type=float, default=0.015, help="false 'already checked' allowed on train, each domain"
    )
    parser.add_argument(
        "--show-flagged", type=int, default=0, help="print up to N dev queries still flagged with the gold left out"
    )
    parser.add_argument("--json", default=str(bench_dir() / "same_claim_fit.json"))
    args = parser.parse_args()
    if not (DATA / "README.md").is_file() or not (POLITIFACT / "README.md").is_file():
        print(f"error: {DATA} (with politifact/) is needed", file=sys.stderr)
        return 2

    from index.retrieval.embedder import load_embedder
    from index.reviews.adapter import load_adapter

    ensure_onnx_export()
    embedder = load_embedder(threads=1)
    adapter = load_adapter()
    domains = [tweets_domain(), politifact_domain()]
    for domain in domains:
        prepare(domain, embedder)

    print(f"# same_claim on same-topic negatives\n\n{machine()}\n`{command()}`\n")
    print("## Ranking: MAP@5 (with the gold)\n")
    print("| variant | " + " | ".join(f"{d.name} {s}" for d in domains for s in ("train", "dev")) + " |")
    print("|---|" + "---:|" * 4)
    report: dict = {"machine": machine(), "command": command(), "map5": {}}
    for variant in VARIANTS:
        cells = []
        for domain in domains:
            for split in ("train", "dev"):
                value = map5(domain, domain.splits[split], rank(domain, domain.splits[split], variant, False, adapter))
                report["map5"][f"{variant} {domain.name} {split}"] = round(value, 4)
                cells.append(f"{value:.3f}")
        print(f"| {variant} | " + " | ".join(cells) + " |")

    def beats_cosine(v: str) -> bool:
        return all(report["map5"][f"{v} {d.name} dev"] > report["map5"][f"cosine {d.name} dev"] for d in domains)

    kept = [part for part in ("fused", "adapter") if beats_cosine(part)]
    variant = args.variant or ("+".join(p for p in ("adapter", "fused") if p in kept) or "cosine")
    print(f"Kept (beats plain cosine on both dev sets alone): {kept or 'nothing'}")
    print(f"\nDecision fitted on the ranking: **{variant}**\n")

    judge = None
    if args.judge:
        from index.judging.nli import load_nli

        judge = load_nli(threads=1)
    data = {}
    for domain in domains:
        for split in ("train", "dev"):
            queries = domain.splits[split]
            for protocol, leave in (("gold", False), ("lgo", True)):
                started = time.perf_counter()
                found = rank(domain, queries, variant, leave, adapter)
                data[domain.name, split, protocol] = signals(domain, queries, found, judge)
                log(f"{domain.name} {split} {protocol}: {time.perf_counter() - started:.0f} s")
    report["variant"] = variant
    fitted = fit_and_report(domains, data, args, report)
    if args.show_flagged:
        show_flagged(domains, data, fitted, args.show_flagged)
    write_json(args.json, report)
    return 0


def read_repeats() -> dict[tuple[str, str], bool]:
    """(query id, review id) → whether the review repeats the query's claim, read by hand."""
    rows = [json.loads(line) for line in REPEATS.read_text("utf-8").splitlines() if line.strip()]
    return {(r["query"], r["review"]): bool(r["same"]) for r in rows}


def fit_and_report(domains, data, args, report) -> tuple:
    from sklearn.linear_model import LogisticRegression

    from index.reviews import same_claim

    repeats = read_repeats()
    ids = {d.name: d.review_ids for d in domains}
    names = list(same_claim.FEATURES) + (["entails", "entailed"] if args.judge else [])

    def duplicate(domain: str, c: dict) -> bool | None:
        """True: repeats the left-out claim; False: read and it does not; None: not read."""
        if c["near_copy"]:
            return True
        return repeats.get((c["query"], ids[domain][c["review"]]))

    def matrix(rows: list[dict]) -> np.ndarray:
        return np.array([[float(r.get(n) or 0.0) for n in names] for r in rows])

    train = [
        c
        for d in domains
        for p in ("gold", "lgo")
        for row in data[d.name, "train", p]
        for c in row
        if c["label"] or not duplicate(d.name, c)
    ]
    x, y = matrix(train), np.array([c["label"] for c in train])
    fitted = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    weights = dict(zip(names, fitted.coef_[0].round(2).tolist(), strict=True))
    bias = round(float(fitted.intercept_[0]), 2)
    print(f"Logistic regression on {len(train)} train candidates ({int(y.sum())} positive): {weights}, bias {bias}\n")

    def score(rows: list[list[dict]]) -> list[list[float]]:
        def p(c: dict) -> float:
            return (
                0.0
                if c["differs"]
                else 1 / (1 + np.exp(-(bias + sum(weights[n] * float(c.get(n) or 0.0) for n in names))))
            )

        return [[p(c) for c in row] for row in rows]

    def measure(domain: str, split: str, cut: float) -> dict:
        gold_rows, lgo_rows = data[domain, split, "gold"], data[domain, split, "lgo"]
        gold_scores, lgo_scores = score(gold_rows), score(lgo_rows)
        n = len(gold_rows)
        pairs = list(zip(gold_rows, gold_scores, strict=True))
        first = sum(bool(r) and r[0]["label"] and v[0] >= cut for r, v in pairs)
        ranked_first = sum(bool(r) and r[0]["label"] for r, _ in pairs)
        anywhere = sum(any(c["label"] and p >= cut for c, p in zip(r, v, strict=True)) for r, v in pairs)
        flagged = [c["label"] for r, v in pairs for c, p in zip(r, v, strict=True) if p >= cut]
        false = duplicates = unread = 0
        for r, v in zip(lgo_rows, lgo_scores, strict=True):
            hits = [duplicate(domain, c) for c, p in zip(r, v, strict=True) if p >= cut]
            if not hits:
                continue
            if all(hits):
                duplicates += 1
            else:
                false += 1
                unread += any(h is None for h in hits)
        return {
            "recall@1": first / n,  # the first review is the query's own, and is called the same claim
            "recall@1_given_first": first / max(ranked_first, 1),  # of the queries ranked right
            "recall@5": anywhere / n,
            "precision": (sum(flagged) / len(flagged)) if flagged else 1.0,
            "false_already_checked": false / n,
            "true_duplicates": duplicates,
            "false_on_unread_pairs": unread,
            "queries": n,
        }

    cuts = [round(c, 2) for c in np.arange(0.05, 0.995, 0.01)]
    chosen = next(
        (
            c
            for c in cuts
            if all(measure(d.name, "train", c)["false_already_checked"] <= args.max_false for d in domains)
        ),
        cuts[-1],
    )
    print(
        f"Operating point: P ≥ {chosen} (the lowest with false 'already checked' ≤ {args.max_false:.1%}"
        " on each train set)\n"
    )
    print(
        "Precision/recall on the dev sets by cut-off (recall@1 / precision / false 'already checked', gold left out):\n"
    )
    print("| cut-off | " + " | ".join(f"{d.name} dev" for d in domains) + " |")
    print("|---:|" + "---|" * len(domains))
    curves: dict = {}
    for cut in sorted({*cuts[::5], chosen}):
        cells = []
        for d in domains:
            m = measure(d.name, "dev", cut)
            curves.setdefault(d.name, []).append({"cut": cut, **{k: round(v, 4) for k, v in m.items()}})
            cells.append(f"{m['recall@1']:.3f} / {m['precision']:.3f} / {m['false_already_checked']:.1%}")
        mark = "**" if cut == chosen else ""
        print(f"| {mark}{cut}{mark} | " + " | ".join(cells) + " |")
    print()
    for d in domains:
        for split in ("train", "dev"):
            m = measure(d.name, split, chosen)
            shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items())
            print(f"- {d.name} {split} at {chosen}: {shown}")
            report.setdefault("at_operating_point", {})[f"{d.name} {split}"] = {k: round(v, 4) for k, v in m.items()}
    if args.judge:
        # Where would the judge be needed? Only where the cheap signals leave the answer open:
        # the cut is reachable with the judge's readings at their most, and not reached at their least.
        cheap = [n for n in names if n not in ("entails", "entailed")]
        most = sum(max(weights[n], 0.0) for n in ("entails", "entailed"))
        least = sum(min(weights[n], 0.0) for n in ("entails", "entailed"))
        edge = float(np.log(chosen / (1 - chosen)))
        for d in domains:
            for protocol in ("gold", "lgo"):
                rows = data[d.name, "dev", protocol]
                open_pairs = [
                    sum(
                        1
                        for c in row[:JUDGED]
                        if not c["differs"]
                        and bias + sum(weights[n] * float(c[n]) for n in cheap) + least
                        < edge
                        <= bias + sum(weights[n] * float(c[n]) for n in cheap) + most
                    )
                    for row in rows
                ]
                share = sum(1 for k in open_pairs if k) / len(rows)
                print(
                    f"- judge needed ({d.name} dev, {protocol}): {share:.1%} of queries, "
                    f"{sum(open_pairs) / len(rows):.2f} candidates a query (2 pairs each)"
                )
                report.setdefault("judge_needed", {})[f"{d.name} {protocol}"] = round(share, 4)
    print(
        f"\nFor index/reviews/same_claim.py: MODEL = SameClaimModel(weights={tuple(weights.values())}, "
        f"bias={bias}, cut={chosen})"
    )
    report.update(weights=weights, bias=bias, cut=chosen, curves=curves, features=names)
    return score, chosen, duplicate


def show_flagged(domains, data, fitted, limit: int) -> None:
    score, cut, duplicate = fitted
    print("\n## Still flagged with the gold left out (dev), to read\n")
    for d in domains:
        queries, rows = d.splits["dev"], data[d.name, "dev", "lgo"]
        shown = 0
        for text, row, values in zip(queries.texts, rows, score(rows), strict=True):
            hits = [(c, v) for c, v in zip(row, values, strict=True) if v >= cut]
            if hits and shown < limit:
                shown += 1
                c, v = hits[0]
                kind = {True: "a true duplicate", False: "false (read)", None: "false (not read)"}[duplicate(d.name, c)]
                print(
                    f"- [{d.name}, {kind}] {text[:160]!r}\n  → {d.claims[c['review']][:160]!r}"
                    f" (P {v:.2f}, cos {c['cosine']:.2f})"
                )


if __name__ == "__main__":
    sys.exit(main())
