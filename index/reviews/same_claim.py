"""`same_claim`: does a review cover this claim (the same claim, or a paraphrase), not merely its topic?

Every number of the decision is here, and every reason the page shows for it.

A newsroom's reviews cover its own beat, so a new claim usually has reviews on its topic; the
hard case is the normal case: "The polar bear population has been growing" against a review
of a polar bear attack. The decision is therefore fitted and judged on **same-topic
negatives**: each development query asked again with its own review(s) left out, so that
what remains near it is its own topic (`benchmarks/same_claim_fit.py`; docs/reviews.md, "Claim
matching").

The signals of a (claim, review) pair, all cheap (no model call beyond the embedding the
request already has; `pair_signals`):
- `cosine`: of the claim's and the review's embeddings (the review's claim and headline);
- `lead`: that cosine minus the best other shown review's. A review of the same claim stands
  apart from the rest of its topic; among same-topic reviews none does. The strongest signal;
- `claim_covered` / `review_covered`: the share of the claim's content words the review
  states, and of the review claim's content words the claim states;
- `shared_figure`: both state one same figure ("17 percent").

P(same claim) is a logistic regression over them (`SameClaimModel`), and `same_claim` is
P ≥ `cut`. A figure or date stated differently (the precise checks of index/judging/checks.py,
both ways: "133 drones" against a review of "500 drones") vetoes: a review of another figure
is a review of another claim, however close the wording.

What was measured and left out (`benchmarks/same_claim_fit.py --judge`): the NLI judge's
entailment read both ways on the first two candidates, as two more signals, lifts dev
recall@1 from 0.239 to 0.315 on tweets and from 0.101 to 0.143 on debates at the same false
"already checked" bound (0.0% / 0.8% on dev). But even read only where the cheap signals leave
the answer open, it is needed for 44–64% of on-topic claims (so the median claim pays at least
2 pairs, 21 ms at 10.7 ms a pair on this CPU), against the review step's 5 ms budget. A cross-encoder trained for the
decision itself (3-fold, one epoch; not shipped) did no better than the judge. So the decision
reads no model, and the degraded service (no judge) decides exactly as the full one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from index.judging.checks import check_dates, check_quantities, extract_quantities
from index.judging.stance import PRECISE_KINDS
from index.retrieval.lexical import tokenize
from index.reviews.review import Review

# The signals the fitted decision weighs, in this order.
FEATURES = ("cosine", "lead", "claim_covered", "review_covered", "shared_figure")
_STEM = 5  # words compared by their first letters, as the checks do ("announce" ~ "announced")


@dataclass(frozen=True)
class PairSignals:
    cosine: float  # the two claims' embeddings
    lead: float  # cosine minus the best other shown review's: how far this review stands apart
    claim_covered: float  # the share of the claim's content words the review (claim + headline) states
    review_covered: float  # the share of the review claim's content words the claim states
    shared_figure: bool  # a figure both state (value and unit)
    differs: bool  # a figure or date stated differently (the veto)
    figure: str | None = None  # the first figure both state, as the claim writes it (for `reasons`)

    def as_dict(self) -> dict[str, float | bool]:
        return {name: getattr(self, name) for name in (*FEATURES, "differs")}


@dataclass(frozen=True)
class SameClaimModel:
    """same_claim ⇔ no figure or date differs, and P(same) = σ(bias + Σ weight·signal) ≥ `cut`."""

    weights: tuple[float, ...]  # one per FEATURES name
    bias: float
    cut: float

    def probability(self, s: PairSignals) -> float:
        z = self.bias + sum(w * float(getattr(s, name)) for w, name in zip(self.weights, FEATURES, strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def decide(self, s: PairSignals) -> bool:
        return not s.differs and self.probability(s) >= self.cut

    def could_reach_cut(self, cosine: float, lead: float) -> bool:
        """Whether a pair with this cosine and lead could reach the cut at all, its other signals
        at their most (every word covered, a figure shared): if not, they need not be read."""
        best = PairSignals(cosine, lead, 1.0, 1.0, True, False)
        return self.probability(best) >= self.cut


# Fitted by `benchmarks/same_claim_fit.py` (logistic regression, scikit-learn, C = 1) on the
# *train* queries of both domains only: 800 CLEF 2020 tweets against the 10,375 Snopes claims,
# 472 debate and speech sentences against the 19,250 PolitiFact checks; every shown candidate,
# with the gold (the query's own review a positive) and with the gold left out (the same-topic
# negatives). A candidate that repeats the left-out review's claim (read by hand, or nearly word
# for word: cosine ≥ 0.95 to it) is a true duplicate and not taken for a negative. The cut is the
# lowest whose false "already checked" stays within 1.5% on the train queries of each domain,
# a margin under the 2% bar. Figures on the dev sets: docs/reviews.md, "Claim matching".
MODEL = SameClaimModel(weights=(5.08, 11.82, 1.56, 3.31, 0.78), bias=-6.29, cut=0.84)


# ---- the signals of a pair ------------------------------------------------------------------


def content_words(text: str) -> frozenset[str]:
    """The text's content words (lexical.tokenize: no function words, numbers kept), truncated to
    `_STEM` letters."""
    return frozenset(word[:_STEM] for word in tokenize(text))


def covered(words: frozenset[str], by: frozenset[str]) -> float:
    """The share of `words` that `by` holds too (0 for no words)."""
    return len(words & by) / len(words) if words else 0.0


def shared_figures(claim: str, reviewed: str) -> list[str]:
    """The figures both state (same value and unit), as the claim writes them."""
    theirs = {(q.value, q.unit) for q in extract_quantities(reviewed)}
    return [q.text for q in extract_quantities(claim) if (q.value, q.unit) in theirs]


def differs(claim: str, reviewed: str) -> bool:
    """Whether the two claims state a figure or date differently for the same unit (the
    precise checks alone, both ways: the other checks of `run_checks` never veto)."""
    for a, b in ((claim, reviewed), (reviewed, claim)):
        if any(f.kind in PRECISE_KINDS for f in check_quantities(a, b) + check_dates(a, b)):
            return True
    return False


def pair_signals(
    claim: str, reviewed: str, review_text: str, cosine: float, other_cosines: Sequence[float]
) -> PairSignals:
    """The signals of one (claim, review) pair. `reviewed` is the review's claim, `review_text`
    what the claim is matched against (the claim and its headline), `other_cosines` those of
    the other reviews shown with it."""
    mine = content_words(claim)
    figures = shared_figures(claim, reviewed)
    return PairSignals(
        cosine=cosine,
        lead=cosine - max(other_cosines, default=0.0),
        claim_covered=covered(mine, content_words(review_text)),
        review_covered=covered(content_words(reviewed), mine),
        shared_figure=bool(figures),
        differs=differs(claim, reviewed),
        figure=figures[0] if figures else None,
    )


def _pair(claim: str, review: Review, cosine: float, others: list[float], model: SameClaimModel) -> PairSignals:
    """`pair_signals`, reading the texts only where the decision could say yes (a review far
    down its topic cannot: measured, that halves the decision's cost on on-topic claims)."""
    lead = cosine - max(others, default=0.0)
    if not model.could_reach_cut(cosine, lead):
        return PairSignals(cosine, lead, 0.0, 0.0, False, False)
    return pair_signals(claim, review.claim, review.match_text, cosine, others)


def signals(
    claims: Sequence[str], candidates: Sequence[Sequence[tuple[Review, float]]], model: SameClaimModel = MODEL
) -> list[list[PairSignals]]:
    """Per claim, per shown candidate (review, cosine), its signals (the texts' only where the
    decision could say yes)."""
    return [
        [
            _pair(claim, review, cosine, [c for other, (_, c) in enumerate(found) if other != rank], model)
            for rank, (review, cosine) in enumerate(found)
        ]
        for claim, found in zip(claims, candidates, strict=True)
    ]


def decide(
    claims: Sequence[str], candidates: Sequence[Sequence[tuple[Review, float]]], model: SameClaimModel = MODEL
) -> list[list[bool]]:
    """Per claim, per candidate, whether the review covers the claim."""
    return [[model.decide(s) for s in row] for row in signals(claims, candidates, model)]


# ---- why, for an editor ---------------------------------------------------------------------

# What makes a signal worth naming to an editor: a near-paraphrase, most of the review's words.
PARAPHRASE_COSINE = 0.8
MOST_WORDS = 0.6


def reasons(s: PairSignals) -> list[str]:
    """Why a review was matched, in an editor's words: the same figure, a paraphrase, its words,
    standing apart from the other reviews. Empty when nothing stands out."""
    said = []
    if s.figure:
        said.append(f"the same figure: {s.figure}")
    if s.cosine >= PARAPHRASE_COSINE:
        said.append(f"a close paraphrase (similarity {s.cosine:.2f})")
    if s.review_covered >= MOST_WORDS:
        said.append(f"{s.review_covered:.0%} of the review's words")
    if s.lead >= 0.1:
        said.append(f"stands apart from the other reviews on the topic (+{s.lead:.2f})")
    return said


def speaker_reason(speaker: str | None, review: Review) -> str | None:
    """ "the same speaker: …" when a transcript's speaker made the reviewed claim; else None. Shown,
    not weighed: the development sentences carry no speaker to fit it on."""
    if speaker and review.claimant and same_person(speaker, review.claimant):
        return f"the same speaker: {review.claimant}"
    return None


def same_person(a: str, b: str) -> bool:
    """Whether two names plausibly name one person: the same last word ("Trump", "Donald
    Trump", "President Donald J. Trump"), case and punctuation aside."""
    last = [name.replace(".", " ").split()[-1].lower() if name.split() else "" for name in (a, b)]
    return bool(last[0]) and last[0] == last[1]
