"""`same_claim`: does a review cover this claim (the same claim, or a paraphrase), not merely its topic?

Every number of the decision is here. The signals, per (claim, review) pair:
- `cosine`: of the two claims' embeddings (all-MiniLM-L6-v2);
- `entails` / `entailed`: the NLI judge's entailment probability, read both ways (review claim
  as premise, the new claim as hypothesis, and the reverse). A paraphrase entails both ways;
  a claim on the same topic rarely does.

A figure or date stated differently (the precise checks of index/judging/checks.py, read both ways:
"Russia launched 133 drones" against a review of "... 500 drones") vetoes: a review of another
figure is a review of another claim, however close the wording. On the CLEF 2020 tweets such a
mismatch sits in 37 of 999 (tweet, its own Snopes claim) pairs (a tweet's count or year
differs from the claim's wording), so the veto costs some recall there (README, "Claim
matching"); names are not checked (a name one side lacks is in 97% of those pairs).

Only the first `JUDGED` candidates with a cosine of at least `JUDGE_FLOOR`, and below the
rule's `cosine_alone` (which decides without them), are read by the judge (two pairs each),
so a claim with no near review, or with a near-copy, costs no model call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.judging.checks import check_dates, check_quantities
from index.judging.nli import NliScorer
from index.judging.stance import PRECISE_KINDS
from index.reviews.review import Review

# The candidates the judge reads, and the cosine below which none is read (the rule below
# never says same_claim under it).
JUDGED = 2
JUDGE_FLOOR = 0.5


@dataclass(frozen=True)
class SameClaimRule:
    """same_claim ⇔ cosine ≥ `cosine_alone`, or cosine ≥ `cosine_with_judge` and the judge's
    entailment, read both ways, is at least `entailment` each way (its minimum)."""

    cosine_alone: float
    cosine_with_judge: float
    entailment: float

    def decide(self, cosine: float, entails: float | None, entailed: float | None, differs: bool = False) -> bool:
        if differs:
            return False
        if cosine >= self.cosine_alone:
            return True
        if entails is None or entailed is None or cosine < self.cosine_with_judge:
            return False
        return min(entails, entailed) >= self.entailment


# Chosen by `benchmarks/claim_matching.py --fit` (a grid over all three) on the 800 *train* tweets
# of CLEF 2020 CheckThat! 2a against the 10,375 Snopes reviews, and 599 unmatched real-world claims
# (FEVER, HealthVer, Fool Me Twice, SciFact, COVID-Fact, VitaminC dev claims; the hash-even half):
# the highest recall with at most 2% of the unmatched claims wrongly same_claim (the bar is 3%).
# There: recall 0.748, precision 0.659 (the "wrong" ones are often Snopes' own near-duplicate
# claims), wrongly true 1.8%. The judge's part is small but real: the cosine alone at the same
# bound (0.56) reaches recall 0.690. Figures on the dev tweets: README, "Quality", "Claim matching".
RULE = SameClaimRule(cosine_alone=0.68, cosine_with_judge=JUDGE_FLOOR, entailment=0.05)
# Without a judge (degraded): the cosine alone, the lowest cut-off within the same bound on the
# same data (recall 0.690, wrongly true 2.0%).
DEGRADED_RULE = SameClaimRule(cosine_alone=0.56, cosine_with_judge=2.0, entailment=2.0)


@dataclass(frozen=True)
class Signals:
    cosine: float
    entails: float | None = None  # P(entailment), the review's claim as premise
    entailed: float | None = None  # P(entailment), the new claim as premise
    differs: bool = False  # a figure or date stated differently (the precise checks, both ways)


def differs(claim: str, reviewed: str) -> bool:
    """Whether the two claims state a figure or date differently for the same unit (the
    precise checks alone, both ways: the other checks of `run_checks` cost 5 ms a claim at
    100k reviews and never veto)."""
    for a, b in ((claim, reviewed), (reviewed, claim)):
        if any(f.kind in PRECISE_KINDS for f in check_quantities(a, b) + check_dates(a, b)):
            return True
    return False


def signals(
    claims: Sequence[str], candidates: Sequence[Sequence[tuple[Review, float]]], nli: NliScorer | None
) -> list[list[Signals]]:
    """Per claim, per candidate (review, cosine), the signals; the judge reads the pairs in one call."""
    rule = RULE if nli is not None else DEGRADED_RULE
    differing = {  # only where the rule could say same_claim: the checks are the costly part
        (row, rank): differs(claims[row], review.claim)
        for row, found in enumerate(candidates)
        for rank, (review, cosine) in enumerate(found)
        if cosine >= rule.cosine_alone or (rank < JUDGED and cosine >= rule.cosine_with_judge)
    }
    judged = [
        (row, rank)
        for row, found in enumerate(candidates)
        for rank, (_, cosine) in enumerate(found[:JUDGED])
        if rule.cosine_with_judge <= cosine < rule.cosine_alone and not differing.get((row, rank), False)
    ]
    readings = {}
    if nli is not None and judged:
        pairs = []
        for row, rank in judged:
            review = candidates[row][rank][0]
            pairs += [(review.claim, claims[row]), (claims[row], review.claim)]
        scores = nli.score(pairs)
        for i, key in enumerate(judged):
            readings[key] = (scores[2 * i].entailment, scores[2 * i + 1].entailment)
    return [
        [
            Signals(cosine, *readings.get((row, rank), (None, None)), differing.get((row, rank), False))
            for rank, (_, cosine) in enumerate(found)
        ]
        for row, found in enumerate(candidates)
    ]


def decide(
    claims: Sequence[str], candidates: Sequence[Sequence[tuple[Review, float]]], nli: NliScorer | None
) -> list[list[bool]]:
    """Per claim, per candidate, whether the review covers the claim."""
    rule = RULE if nli is not None else DEGRADED_RULE
    return [
        [rule.decide(s.cosine, s.entails, s.entailed, s.differs) for s in row]
        for row in signals(claims, candidates, nli)
    ]
