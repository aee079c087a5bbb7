"""Measuring retrieval and verdicts on a labelled claim set, and calibrating the support threshold."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from index.stance import NOT_FOUND, SUPPORTED
from index.verify import ClaimVerifier


@dataclass(frozen=True)
class LabelledClaim:
    claim: str
    label: str  # supported | contradicted | not_found
    gold: tuple[str, ...]  # substrings of the sentence(s) that decide the claim
    kind: str = ""


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


def _rank_of_gold(texts: list[str], gold: tuple[str, ...]) -> int | None:
    for rank, text in enumerate(texts, start=1):
        if any(g in text for g in gold):
            return rank
    return None


def evaluate(verifier: ClaimVerifier, claims: list[LabelledClaim], top_k: int = 5) -> Evaluation:
    """hit@1, hit@5 and MRR over claims with gold sentences; verdict accuracy and confusion over all."""
    results = verifier.verify_claims([c.claim for c in claims], top_k=max(top_k, 5))
    ranks = []
    confusion: dict[str, Counter] = {}
    correct = 0
    for claim, result in zip(claims, results, strict=True):
        if claim.gold:
            ranks.append(_rank_of_gold([e.text for e in result.evidence], claim.gold))
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
        threshold=verifier.support_threshold,
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
