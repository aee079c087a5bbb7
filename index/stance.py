"""Stance of each evidence sentence and the verdict they add up to (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, field

from index.archive import ArticleRef
from index.checks import BLOCKING_KINDS, CONTRADICTING_KINDS, NLI_CONTRADICTION, NLI_ENTAILMENT, Finding
from index.nli import NliScorer

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
MIXED = "mixed"
NOT_FOUND = "not_found"

SUPPORTS = "supports"
CONTRADICTS = "contradicts"
RELATED = "related"

# Below this cosine a sentence is about something else: a differing figure in it
# contradicts nothing. Set from the dev set: changed-figure claims score ≥ 0.51 against
# their gold sentence; unrelated claims that carry figures share no unit with their hits.
RELATED_THRESHOLD = 0.45
# At or above this cosine a sentence is about the same event, so a different name in
# it replaces the claim's name (a contradiction) rather than merely not mentioning it.
SAME_TOPIC_THRESHOLD = 0.65
# The NLI model's label counts only when it is at least this sure.
NLI_MIN_PROBABILITY = 0.5
# When the best supporting and contradicting evidence are this close, the verdict is mixed.
MIXED_MARGIN = 0.03


@dataclass(frozen=True)
class Context:
    """The sentences just before and after the evidence in its article."""

    before: str | None
    after: str | None


@dataclass(frozen=True)
class Evidence:
    text: str
    score: float
    article: ArticleRef
    start: int  # article body[start:end] == text
    end: int
    context: Context
    stance: str = RELATED
    reasons: list[Finding] = field(default_factory=list)
    also_in: list[ArticleRef] = field(default_factory=list)  # other articles carrying the same sentence


def stance_of(score: float, reasons: list[Finding], support_threshold: float) -> str:
    """How one sentence bears on the claim: a stated difference about the same thing contradicts."""
    if score >= RELATED_THRESHOLD and any(r.kind in CONTRADICTING_KINDS for r in reasons):
        return CONTRADICTS
    entailed = any(r.kind == NLI_ENTAILMENT for r in reasons)
    if (score >= support_threshold or entailed) and not any(r.kind in BLOCKING_KINDS for r in reasons):
        return SUPPORTS
    return RELATED


def decide_verdict(evidence: list[Evidence], support_threshold: float) -> tuple[str, float, int | None]:
    """(verdict, confidence in [0, 1], index of the deciding evidence) from the evidence stances."""

    def best(stance: str) -> int | None:
        found = [i for i, e in enumerate(evidence) if e.stance == stance]
        return max(found, key=lambda i: evidence[i].score) if found else None

    support, contradict = best(SUPPORTS), best(CONTRADICTS)
    if support is None and contradict is None:
        top = max((e.score for e in evidence), default=0.0)
        # Far below the threshold: confident nothing in the archive says this.
        return NOT_FOUND, round(0.5 + 0.5 * max(0.0, 1 - top / support_threshold), 3), None
    if support is not None and contradict is not None:
        s, c = evidence[support].score, evidence[contradict].score
        if abs(s - c) <= MIXED_MARGIN:
            return MIXED, 0.5, support
        if s > c:
            contradict = None
        else:
            support = None
    if support is not None:
        gap = (evidence[support].score - support_threshold) / (1 - support_threshold)
        return SUPPORTED, round(0.5 + 0.5 * min(1.0, gap), 3), support
    gap = (evidence[contradict].score - RELATED_THRESHOLD) / (1 - RELATED_THRESHOLD)
    return CONTRADICTED, round(0.5 + 0.5 * min(1.0, gap), 3), contradict


def nli_findings(nli: NliScorer | None, claim: str, texts: list[str]) -> list[Finding | None]:
    """One finding per sentence from the optional NLI model: contradiction, entailment or none."""
    if nli is None:
        return [None] * len(texts)
    findings: list[Finding | None] = []
    for scores in nli.score([(text, claim) for text in texts]):
        label = scores.label
        if label == "contradiction" and scores.contradiction >= NLI_MIN_PROBABILITY:
            kind = NLI_CONTRADICTION
        elif label == "entailment" and scores.entailment >= NLI_MIN_PROBABILITY:
            kind = NLI_ENTAILMENT
        else:
            findings.append(None)
            continue
        probability = max(scores.entailment, scores.contradiction)
        message = f"the NLI model ({nli.name}) reads this as {label} (p={probability:.2f})"
        findings.append(Finding(kind, "", label, message))
    return findings
