"""Measuring retrieval and verdicts on labelled claim sets, and fitting the verdict's numbers.

Two kinds of set:
- the sample article's dev claims (`tests/data/dev_claims.jsonl`): gold = substrings of
  the deciding sentence;
- the dev splits of the fact-verification data in ../shared/nli (`fact_set`): each dev
  claim's evidence becomes an article of a per-set archive, so retrieval has to find it
  among every other claim's evidence; gold = that article;
- the newsroom's own reviews (`labelled_reviews`): gold = the reviewer's verdict, and the
  articles of the evidence sentences the reviewer ticked.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from index.common.metrics import (
    balanced_accuracy,
    expected_calibration_error,
    fit_isotonic,
    macro_f1,
    precision_recall,
    reliability_bins,
)
from index.judging.stance import (
    CONTRADICTED,
    JUDGE_KINDS,
    MIXED,
    NOT_FOUND,
    RULES,
    SUPPORTED,
    VERDICTS,
    DegradedRules,
    Evidence,
    VerdictRules,
    decide_verdict,
    decided_first,
    judge,
    judge_without_model,
)
from index.reviews import review as reviews
from index.reviews.review import Review
from index.reviews.store import ReviewStore
from index.verify import ClaimVerifier, Verification

# The team's shared data: ../shared beside the checkout. CI has it, a plain clone does not (the
# tests that read it then skip); CLAIMCHECK_SHARED_DIR points elsewhere.
SHARED_DIR = Path(os.environ.get("CLAIMCHECK_SHARED_DIR") or Path(__file__).resolve().parent.parent.parent / "shared")
NLI_DIR = SHARED_DIR / "nli"
# Fact-verification dev splits (claim + evidence); the stress sets are FEVER-derived.
FACT_SETS = (
    "fever",
    "vitaminc_real",
    "fm2",
    "healthver",
    "scifact",
    "covidfact",
    "fnc1",
    "wice",
    "fever2_adversarial",
    "fever_symmetric",
)
# Supported to refuted claims in the real-world sample issue 16 reports (654 to 253, with 154
# disputed): precision depends on how many true claims there are to be wrong about, so the
# `contradicted` precision is also reported as if the dev claims came in this ratio.
REAL_WORLD_SUPPORTED_PER_REFUTED = 654 / 253
# Sets where a claim has several pieces of evidence that may disagree, as real claims do
# (`multi_evidence_set`); reported, never fitted on.
MULTI_EVIDENCE_SETS = ("healthver_multi",)
# Each knot of the confidence map rests on at least this many dev claims: a rate over 50
# claims has a standard error of at most 0.07, over 5 of 0.22. On the report half this took
# ECE from 0.045 (no minimum, knots of 0 and 1 from a handful of claims) to 0.034.
CALIBRATION_MIN_BLOCK = 50
_LABEL_TO_VERDICT = {"entailment": SUPPORTED, "contradiction": CONTRADICTED, "neutral": NOT_FOUND}


@dataclass(frozen=True)
class LabelledClaim:
    claim: str
    label: str  # supported | contradicted | not_found
    gold: tuple[str, ...]  # substrings of the sentence(s) that decide the claim
    kind: str = ""
    gold_articles: tuple[str, ...] = ()  # or: ids of the articles that hold its evidence


def fact_set(
    name: str, limit: int | None, seed: int = 7, distractors: int = 2000, data_dir: Path = NLI_DIR
) -> tuple[list[dict], list[LabelledClaim]]:
    """(articles, claims) from one dev split: one pair per chosen claim, `limit` claims at most.

    Each chosen pair's premise is an article (`title` = the set's name); the claim's gold is
    that article, except for neutral claims (the premise says nothing about them). Claims
    are chosen so that no two share a premise, and none of a chosen claim's other premises
    enters the archive (VitaminC pairs one claim with two revisions of a sentence, labelled
    differently; HealthVer pairs one snippet with several claims): each claim has exactly
    one piece of its own evidence in the archive, its gold. Up to `distractors` premises of
    the split's other claims join the archive, so retrieval has to find the evidence among
    on-topic sentences, as in a newsroom's archive (small splits have few to give).
    """
    rows = _dev_rows(name, data_dir)
    rng = random.Random(seed)
    rng.shuffle(rows)
    premises_of: dict[str, set[str]] = {}
    for row in rows:
        premises_of.setdefault(row["hypothesis"], set()).add(row["premise"])
    chosen: dict[str, dict] = {}
    used: set[str] = set()  # every premise of a chosen claim: never a distractor
    for row in rows:
        if limit and len(chosen) >= limit:
            break
        claim = row["hypothesis"]
        if claim in chosen or row["premise"] in used or premises_of[claim] & used:
            continue
        chosen[claim] = row
        used |= premises_of[claim]
    articles: dict[str, dict] = {}
    claims = []
    for claim, row in chosen.items():
        gold_id = _add_evidence(articles, name, row["premise"])
        label = _LABEL_TO_VERDICT[row["label"]]
        claims.append(LabelledClaim(claim, label, (), "", (gold_id,) if label != NOT_FOUND else ()))
    extra = 0
    for row in rows:
        if extra >= distractors:
            break
        if row["premise"] not in used and _evidence_id(name, row["premise"]) not in articles:
            _add_evidence(articles, name, row["premise"])
            extra += 1
    return list(articles.values()), claims


def multi_evidence_set(
    name: str, limit: int | None = None, seed: int = 7, data_dir: Path = NLI_DIR
) -> tuple[list[dict], list[LabelledClaim]]:
    """(articles, claims) from a dev split whose claims come with several labelled pieces of evidence.

    `name` is `<split>_multi` (HealthVer: 230 dev claims, 7.4 snippets each). Every piece of
    evidence of every claim becomes an article, so a claim is asked against an archive on
    one subject that holds its own evidence, some deciding and some not, and every other
    claim's. The claim's label comes from its evidence as real-world sets label theirs:
    supported when some evidence entails it and none contradicts it, contradicted for the
    converse, mixed when both occur, not_found when all evidence is neutral. Gold: the
    articles holding the entailing or contradicting evidence.
    """
    evidence: dict[str, list[tuple[str, str]]] = {}
    for row in _dev_rows(name.removesuffix("_multi"), data_dir):
        evidence.setdefault(row["hypothesis"], []).append((row["premise"], row["label"]))
    claim_texts = sorted(c for c, ev in evidence.items() if len(ev) > 1)
    random.Random(seed).shuffle(claim_texts)
    claim_texts = claim_texts[:limit] if limit else claim_texts
    articles: dict[str, dict] = {}
    claims = []
    for claim in claim_texts:
        labels = {label for _, label in evidence[claim]}
        gold = tuple(_add_evidence(articles, name, p) for p, label in evidence[claim] if label != "neutral")
        for p, label in evidence[claim]:
            if label == "neutral":
                _add_evidence(articles, name, p)
        entails, contradicts = "entailment" in labels, "contradiction" in labels
        label = {(True, True): MIXED, (True, False): SUPPORTED, (False, True): CONTRADICTED}.get(
            (entails, contradicts), NOT_FOUND
        )
        claims.append(LabelledClaim(claim, label, (), "", gold))
    return list(articles.values()), claims


def _dev_rows(name: str, data_dir: Path) -> list[dict]:
    """The pairs of a set's dev split (`<name>_dev.jsonl.gz`, or `<name>.jsonl.gz` for a stress set)."""
    path = data_dir / f"{name}_dev.jsonl.gz"
    with gzip.open(path if path.is_file() else data_dir / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _evidence_id(name: str, premise: str) -> str:
    return f"{name}-" + hashlib.sha256(premise.encode()).hexdigest()[:12]


def _add_evidence(articles: dict[str, dict], name: str, premise: str) -> str:
    """Put a piece of evidence in a set's archive as an article (once); returns its id."""
    key = _evidence_id(name, premise)
    articles.setdefault(key, {"id": key, "title": name.replace("_", " "), "text": premise})
    return key


# A reviewer's verdict as the verdict the service should give: `unproven` (the reviewer found no
# settling evidence) is the service's `not_found`.
REVIEW_LABELS = {
    reviews.SUPPORTED: SUPPORTED,
    reviews.CONTRADICTED: CONTRADICTED,
    reviews.MIXED: MIXED,
    reviews.UNPROVEN: NOT_FOUND,
}
# Fewer reviews than this with a supported or contradicted verdict, and `--fit --reviews`
# refuses: one calibration block (`CALIBRATION_MIN_BLOCK`, above: a rate over 50 claims has a
# standard error of at most 0.07); over fewer, one claim moves the fit's balanced accuracy by
# several points.
MIN_REVIEWS_TO_FIT = 50


def all_reviews(store: ReviewStore, reviewed_by: str | None = None) -> list[Review]:
    """Every live review of the archive (or only those by `reviewed_by`), newest first."""
    found, cursor = [], None
    while True:
        page, cursor = store.list_reviews(limit=500, cursor=cursor, reviewed_by=reviewed_by)
        found += page
        if cursor is None:
            return found


def labelled_reviews(items: Iterable[Review]) -> list[LabelledClaim]:
    """Reviews as labelled claims: the reviewer's verdict is the label (`REVIEW_LABELS`), the
    articles of the evidence sentences still valid are the gold evidence."""
    return [
        LabelledClaim(
            r.claim,
            REVIEW_LABELS[r.verdict],
            (),
            "review",
            tuple(sorted({e.article_id for e in r.evidence if e.valid and e.article_id})),
        )
        for r in items
    ]


def verify_all(verifier: ClaimVerifier, claims: Sequence[LabelledClaim], batch: int = 32) -> list[Verification]:
    """Every claim verified (top 5), `batch` claims a call."""
    results: list[Verification] = []
    for first in range(0, len(claims), batch):
        results += verifier.verify_claims([c.claim for c in claims[first : first + batch]], top_k=5)
    return results


def split_for_fit(
    claims: Sequence[LabelledClaim], results: Sequence[Verification], salt: str = ""
) -> tuple[list[LabelledClaim], list[Verification], list[LabelledClaim], list[Verification]]:
    """(fit claims, their results, report claims, their results), halved by `fit_half` (of the
    claim with `salt` in front: another salt, another split, independent of the first)."""
    halves: tuple[list, list, list, list] = ([], [], [], [])
    for claim, result in zip(claims, results, strict=True):
        first = 0 if fit_half(salt + claim.claim) else 2
        halves[first].append(claim)
        halves[first + 1].append(result)
    return halves


@dataclass(frozen=True)
class ReviewFit:
    """What `fit_on_reviews` found: the rules, and the evidence for adopting their cut-offs."""

    rules: VerdictRules
    cutoffs_adopted: bool
    before: Scores  # the reviews' held-out half under the rules in force
    after: Scores  # the same half under cut-offs fitted on the other half


def fit_on_reviews(
    claims: Sequence[LabelledClaim],
    results: Sequence[Verification],
    in_force: VerdictRules,
    pooled: tuple[Sequence[LabelledClaim], Sequence[Verification]] = ((), ()),
    min_contradicted_precision: float = 0.6,
) -> ReviewFit:
    """The verdict rules refitted on a newsroom's reviews, guarded against over-fitting them.

    - **Cut-offs**: fitted (`fit_rules`) on one half of the reviews (a salted hash, so any
      earlier split of the same claims does not decide it) plus `pooled` claims, and scored
      on the other half against the rules in force. They are adopted, refitted on every
      review, only if that half's balanced accuracy rises and its `contradicted` precision
      stays at least where it was or at `min_contradicted_precision`; else the cut-offs in
      force stay.
    - **Confidence map**: refitted on every review under the chosen cut-offs, per verdict with
      20 reviews or more; a verdict with fewer keeps the map in force.

    Measured (benchmarks/reviews_fit.py, docs/reviews.md, "The newsroom's reviews tune its verdicts"):
    cut-offs fitted on a few hundred reviews alone moved held-out balanced accuracy from
    -0.45 to +0.06 across five real-world dev sets (the precision constraint on a small
    sample picks extreme cut-offs); pooled with the dev sets they did not move at all; the
    confidence map alone lowered ECE on four of five.
    """
    fit_c, fit_r, held_c, held_r = split_for_fit(claims, results, salt="reviews:")
    candidate, _ = fit_rules(
        [*fit_c, *pooled[0]], [*fit_r, *pooled[1]], min_contradicted_precision=min_contradicted_precision
    )
    before, after = score_results(held_c, held_r, in_force), score_results(held_c, held_r, candidate)
    floor = min(before.contradicted_precision, min_contradicted_precision)
    adopted = after.balanced_accuracy > before.balanced_accuracy and after.contradicted_precision >= floor
    cutoffs = in_force
    if adopted:
        cutoffs, _ = fit_rules(
            [*claims, *pooled[0]], [*results, *pooled[1]], min_contradicted_precision=min_contradicted_precision
        )
    fitted = fit_confidence(claims, results, dataclasses.replace(cutoffs, confidence_knots={}))
    knots = {**in_force.confidence_knots, **fitted.confidence_knots}
    return ReviewFit(dataclasses.replace(fitted, confidence_knots=knots), adopted, before, after)


def fit_half(claim: str) -> bool:
    """Claims whose hash is even fit the rules; the other half reports them."""
    return int(hashlib.sha256(claim.encode()).hexdigest(), 16) % 2 == 0


@dataclass
class Evaluation:
    claims: int
    hit_at_1: float
    hit_at_5: float
    mrr: float
    verdict_accuracy: float
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # gold label → predicted → count
    threshold: float = 0.0

    def as_dict(self) -> dict:
        return {
            "claims": self.claims,
            "hit@1": round(self.hit_at_1, 4),
            "hit@5": round(self.hit_at_5, 4),
            "mrr": round(self.mrr, 4),
            "verdict_accuracy": round(self.verdict_accuracy, 4),
            "threshold": self.threshold,
            "confusion": self.confusion,
        }


def load_claims(path: str | Path, labels: set[str] | None = None) -> list[LabelledClaim]:
    """Read a JSONL claim set; `labels` keeps only claims with those gold labels."""
    claims = []
    for line_no, line in enumerate(Path(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            claim = LabelledClaim(row["claim"], row["label"], tuple(row.get("gold", ())), row.get("kind", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{line_no}: not a labelled claim: {exc}") from exc
        if labels is None or claim.label in labels:
            claims.append(claim)
    return claims


def _rank_of_gold(evidence: Sequence[Evidence], claim: LabelledClaim) -> int | None:
    for rank, e in enumerate(evidence, start=1):
        if claim.gold_articles and (
            e.article.id in claim.gold_articles or any(a.id in claim.gold_articles for a in e.also_in)
        ):
            return rank
        if claim.gold and any(g in e.text for g in claim.gold):
            return rank
    return None


@dataclass
class Scores:
    """The figures of one claim set (or one half of it)."""

    claims: int
    verdict_accuracy: float
    macro_f1: float
    balanced_accuracy: float  # over supported/contradicted gold claims: mean of their recalls
    contradicted_precision: float
    contradicted_precision_real_world: float  # at REAL_WORLD_SUPPORTED_PER_REFUTED (precision_at_prior)
    contradicted_recall: float
    supported_precision: float
    supported_recall: float
    ece: float
    hit_at_1: float
    hit_at_5: float
    confusion: dict[str, dict[str, int]]

    def as_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in dataclasses.asdict(self).items()}


def score_results(
    claims: Sequence[LabelledClaim], results: Sequence[Verification], rules: VerdictRules | None = None
) -> Scores:
    """Figures for verified claims; with `rules`, the verdicts are re-decided from the recorded readings."""
    predicted, confidences, ranks = [], [], []
    for claim, result in zip(claims, results, strict=True):
        evidence, verdict, confidence = _decided(result, rules)
        predicted.append(verdict)
        confidences.append(confidence)
        if claim.gold or claim.gold_articles:
            ranks.append(_rank_of_gold(evidence, claim))
    gold = [c.label for c in claims]
    confusion: dict[str, Counter] = {}
    for g, p in zip(gold, predicted, strict=True):
        confusion.setdefault(g, Counter())[p] += 1
    c_precision, c_recall = precision_recall(gold, predicted, CONTRADICTED)
    s_precision, s_recall = precision_recall(gold, predicted, SUPPORTED)
    with_gold = len(ranks) or 1
    decided = [(g, p) for g, p in zip(gold, predicted, strict=True) if g in (SUPPORTED, CONTRADICTED)]
    return Scores(
        claims=len(claims),
        verdict_accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / (len(claims) or 1),
        macro_f1=macro_f1(gold, predicted, VERDICTS),
        balanced_accuracy=balanced_accuracy(
            [g for g, _ in decided], [p for _, p in decided], (SUPPORTED, CONTRADICTED)
        ),
        contradicted_precision=c_precision,
        contradicted_precision_real_world=precision_at_prior(confusion, REAL_WORLD_SUPPORTED_PER_REFUTED),
        contradicted_recall=c_recall,
        supported_precision=s_precision,
        supported_recall=s_recall,
        ece=expected_calibration_error(confidences, [g == p for g, p in zip(gold, predicted, strict=True)]),
        hit_at_1=sum(r == 1 for r in ranks) / with_gold,
        hit_at_5=sum(r is not None and r <= 5 for r in ranks) / with_gold,
        confusion={label: dict(counts) for label, counts in sorted(confusion.items())},
    )


def precision_at_prior(confusion: dict[str, dict[str, int]], supported_per_refuted: float) -> float:
    """`contradicted` precision over supported and refuted claims, as if they came `supported_per_refuted` to one.

    From the rates the confusion matrix gives: refuted claims called contradicted, and
    supported claims called contradicted (0.0 when neither happens)."""
    supported, refuted = confusion.get(SUPPORTED, {}), confusion.get(CONTRADICTED, {})
    true_rate = refuted.get(CONTRADICTED, 0) / sum(refuted.values()) if refuted else 0.0
    false_rate = supported.get(CONTRADICTED, 0) / sum(supported.values()) if supported else 0.0
    said = true_rate + supported_per_refuted * false_rate
    return true_rate / said if said else 0.0


def _decided(result: Verification, rules: VerdictRules | DegradedRules | None) -> tuple[list[Evidence], str, float]:
    """(evidence in shown order, verdict, confidence) as recorded, or re-decided under `rules`."""
    if rules is None:
        return list(result.evidence), result.verdict, result.confidence
    evidence = decided_first(redecide(result.evidence, rules))
    verdict, confidence, _ = decide_verdict(evidence, rules)
    return evidence, verdict, confidence


def redecide(evidence: Sequence[Evidence], rules: VerdictRules | DegradedRules) -> list[Evidence]:
    """The evidence re-judged under other rules, from what is recorded on it (no model call):
    under `VerdictRules` from the judge's readings (a sentence it did not read is related),
    under `DegradedRules` from each sentence's cosine and checks."""
    out = []
    for e in evidence:
        findings = [r for r in e.reasons if r.kind not in JUDGE_KINDS]
        if isinstance(rules, DegradedRules):
            decision = judge_without_model(findings, e.score, rules)
        else:
            decision = judge(e.nli, findings, e.substituted, rules)
        out.append(dataclasses.replace(e, stance=decision.stance, strength=decision.strength, reasons=decision.reasons))
    return out


def verdict_points(
    claims: Sequence[LabelledClaim], results: Sequence[Verification], rules: VerdictRules | DegradedRules
) -> list[tuple[str, float, bool]]:
    """(verdict, deciding strength, correct) per claim under `rules` (what the confidence map is fitted on)."""
    points = []
    for claim, result in zip(claims, results, strict=True):
        evidence = redecide(result.evidence, rules)
        bare = dataclasses.replace(rules, confidence_knots={})
        verdict, strength, _ = decide_verdict(evidence, bare)
        points.append((verdict, strength, verdict == claim.label))
    return points


def fit_rules(
    claims: Sequence[LabelledClaim], results: Sequence[Verification], min_contradicted_precision: float = 0.6
) -> tuple[VerdictRules, dict]:
    """Search the judge's probability cut-offs, then fit the confidence map, on these claims.

    Objective: the balanced accuracy over supported/contradicted claims, plus half the
    accuracy on not_found claims (the verdict must abstain where nothing says so, but an
    editor asks mostly about claims the archive does address), among the settings whose
    `contradicted` precision is at least `min_contradicted_precision`: a wrong
    "contradicted" costs an editor most (0.6 is the issue's bar; a margin above it, 0.7,
    left the shipped model no setting with balanced accuracy above 0.45).
    """
    grid = [round(0.3 + 0.05 * i, 2) for i in range(14)]  # 0.30 … 0.95
    best, best_key = RULES, (-1.0,)
    for support in grid:
        for contradiction in grid:
            rules = VerdictRules(support, contradiction, RULES.mixed_probability)
            s = score_results(claims, results, rules)
            nf = s.confusion.get(NOT_FOUND, {})
            nf_accuracy = nf.get(NOT_FOUND, 0) / sum(nf.values()) if nf else 0.0
            feasible = s.contradicted_precision >= min_contradicted_precision
            key = (float(feasible), s.balanced_accuracy + 0.5 * nf_accuracy, -abs(support - contradiction))
            if key > best_key:
                best, best_key = rules, key
    return fit_confidence(claims, results, best), {"objective": best_key, "points": len(claims)}


def fit_confidence(
    claims: Sequence[LabelledClaim], results: Sequence[Verification], rules: VerdictRules | DegradedRules
) -> VerdictRules | DegradedRules:
    """`rules` with the confidence map fitted on these claims: per verdict with at least 20 claims,
    an isotonic map from the deciding strength to P(correct), blocks of `CALIBRATION_MIN_BLOCK`."""
    points = verdict_points(claims, results, rules)
    knots = {}
    for verdict in VERDICTS:
        mine = [(strength, correct) for v, strength, correct in points if v == verdict]
        if len(mine) >= 20:
            knots[verdict] = tuple(fit_isotonic([m[0] for m in mine], [m[1] for m in mine], CALIBRATION_MIN_BLOCK))
    return dataclasses.replace(rules, confidence_knots=knots)


def reliability(
    claims: Sequence[LabelledClaim], results: Sequence[Verification], rules: VerdictRules | None = None
) -> list[dict]:
    """Reliability-diagram bins of the verdict confidence."""
    confidences, correct = [], []
    for claim, result in zip(claims, results, strict=True):
        _, verdict, confidence = _decided(result, rules)
        confidences.append(confidence)
        correct.append(verdict == claim.label)
    return reliability_bins(confidences, correct)


def evaluate(verifier: ClaimVerifier, claims: list[LabelledClaim], top_k: int = 5) -> Evaluation:
    """hit@1, hit@5 and MRR over claims with gold sentences; verdict accuracy and confusion over all."""
    results = verifier.verify_claims([c.claim for c in claims], top_k=max(top_k, 5))
    ranks = []
    confusion: dict[str, Counter] = {}
    correct = 0
    for claim, result in zip(claims, results, strict=True):
        if claim.gold:
            ranks.append(_rank_of_gold(result.evidence, claim))
        confusion.setdefault(claim.label, Counter())[result.verdict] += 1
        correct += result.verdict == claim.label
    with_gold = len(ranks) or 1
    return Evaluation(
        claims=len(claims),
        hit_at_1=sum(r == 1 for r in ranks) / with_gold,
        hit_at_5=sum(r is not None and r <= 5 for r in ranks) / with_gold,
        mrr=sum(1 / r for r in ranks if r) / with_gold,
        verdict_accuracy=correct / (len(claims) or 1),
        confusion={label: dict(counts) for label, counts in sorted(confusion.items())},
        threshold=verifier.degraded_rules.support_cosine,
    )


def calibrate_threshold(verifier: ClaimVerifier, claims: list[LabelledClaim]) -> tuple[float, float]:
    """The support threshold that best separates `supported` from `not_found` claims: (threshold, accuracy).

    Candidates are midpoints between consecutive best-evidence scores; ties go to the
    widest margin, so the threshold sits in the middle of the gap, not at its edge.
    """
    labelled = [c for c in claims if c.label in (SUPPORTED, NOT_FOUND)]
    results = verifier.verify_claims([c.claim for c in labelled], top_k=5)
    scored = sorted(
        (max((e.score for e in r.evidence), default=0.0), c.label == SUPPORTED)
        for c, r in zip(labelled, results, strict=True)
    )
    best = (-1.0, 0.0, 0.0)  # (accuracy, margin, threshold)
    for (low, _), (high, _) in pairwise(scored):
        threshold = (low + high) / 2
        accuracy = sum((score >= threshold) == positive for score, positive in scored) / len(scored)
        best = max(best, (accuracy, high - low, threshold))
    return round(best[2], 3), best[0]
