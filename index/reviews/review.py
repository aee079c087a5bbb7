"""A review: a claim as the newsroom (or another fact-checker) reviewed it, with its rating.

A rating is three things: the normalised `verdict` (`VERDICTS`), the rating text as the
reviewer wrote it ("Pants on Fire") and an optional numeric rating with its scale. When a
record gives no verdict, `verdict_of` derives it: from the text when it is a common
fact-checking rating, else from the number's place on its scale, else `unproven`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

SUPPORTED, CONTRADICTED, MIXED, UNPROVEN = "supported", "contradicted", "mixed", "unproven"
VERDICTS = (SUPPORTED, CONTRADICTED, MIXED, UNPROVEN)

# Common rating texts of fact-checkers (PolitiFact, Snopes, Full Fact, AFP, ...), lower-cased
# with punctuation dropped. The vocabulary of ratings, not of any claim: a text not here falls
# back to the numeric rating, then to `unproven`.
# PolitiFact's own slugs are here too ("pants-fire", "barely-true": its label for "Mostly False").
# A Flip-O-Meter rating ("full flop", "half flip", "no flip") rates whether a politician changed
# position, not whether a claim is true: unproven, with its words kept beside it.
_RATING_VERDICTS = {
    SUPPORTED: (
        "true", "mostly true", "correct", "accurate", "correct attribution", "verified", "confirmed",
        "largely accurate", "legit", "real", "fact", "supported", "mostly accurate", "mostly correct",
        "geppetto checkmark",
    ),
    CONTRADICTED: (
        "false", "mostly false", "pants on fire", "pants on fire false", "pants fire", "barely true",
        "incorrect", "inaccurate", "fake", "wrong", "misattributed", "hoax", "scam", "fabricated", "baseless",
        "four pinocchios", "three pinocchios", "debunked", "untrue", "labeled satire", "contradicted",
        "not true", "altered", "altered photo", "altered video", "manipulated", "doctored", "false headline",
    ),
    MIXED: (
        "mixture", "half true", "half-true", "half truth", "mixed", "partly true", "partly false",
        "partially true", "partially false", "misleading", "miscaptioned", "outdated", "exaggerated",
        "exaggeration", "needs context", "missing context", "two pinocchios", "one pinocchio", "lacks context",
        "distorts the facts", "out of context", "cherry picks", "spins the facts", "imprecise",
        "not the whole story", "flawed reasoning",
    ),
    UNPROVEN: (
        "unproven", "unverified", "unsupported", "no evidence", "research in progress", "unclear",
        "unsubstantiated", "full flop", "half flip", "no flip",
    ),
}  # fmt: skip
_TEXT_TO_VERDICT = {text.replace("-", " "): verdict for verdict, texts in _RATING_VERDICTS.items() for text in texts}
_PUNCTUATION = re.compile(r"[^\w\s]")
# A numeric rating in the best third of its scale supports, the worst third contradicts.
_THIRD = 1 / 3


class ReviewError(ValueError):
    """A record is not a review; `message` says why (and `position` where, when known)."""

    def __init__(self, message: str, position: str | None = None):
        super().__init__(f"{position}: {message}" if position else message)
        self.message, self.position = message, position


@dataclass(frozen=True)
class Rating:
    verdict: str  # one of VERDICTS
    text: str | None = None  # as the reviewer wrote it, e.g. "Pants on Fire"
    value: float | None = None
    best: float | None = None
    worst: float | None = None


@dataclass(frozen=True)
class EvidenceRef:
    """An archive sentence the reviewer relied on; `valid` is False once its article changed or went."""

    sentence_id: int
    valid: bool = True
    article_id: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Review:
    """A reviewed claim. `id` is stable: the same (url, claim) is the same review (`review_id`)."""

    id: str
    claim: str
    rating: Rating
    reviewed_by: str  # the API key's name, or the publishing organisation of an imported record
    reviewed_at: str  # ISO date or date-time
    url: str | None = None
    title: str | None = None  # the review's headline, when it has one (ClaimReview `name`)
    claimant: str | None = None  # who made the claim
    claim_where: str | None = None  # where it was made: a URL or a description
    claim_date: str | None = None  # when it was made (ISO date)
    note: str | None = None
    evidence: tuple[EvidenceRef, ...] = ()
    generation: int = 0  # the archive generation of its last change
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def verdict(self) -> str:
        return self.rating.verdict

    @property
    def match_text(self) -> str:
        """What a new claim is matched against (`match_text`)."""
        return match_text(self.claim, self.title)


def match_text(claim: str, title: str | None) -> str:
    """What a new claim is matched against: the claim, and the headline when there is one."""
    return f"{claim} {title}" if title and title != claim else claim


@dataclass(frozen=True)
class ReviewMatch:
    """A review found for a claim: `score` is the cosine of the two claims; `same_claim` the decision
    (same_claim.py) that the review covers this claim, not merely its topic."""

    review: Review
    score: float
    same_claim: bool
    reasons: tuple[str, ...] = ()  # why it was matched, in an editor's words (same_claim.reasons)


def normalise_claim(text: str) -> str:
    return " ".join(text.split())


def claim_key(text: str) -> str:
    """A claim as a "not the same claim" mark names it: whitespace-normalised, case-folded."""
    return normalise_claim(text).casefold()


def review_id(claim: str, url: str | None, reviewed_by: str) -> str:
    """Stable id: from the URL and the claim (re-importing a ClaimReview changes nothing); a review
    without a URL is its reviewer's review of that claim (a second one replaces the first)."""
    key = [url or "", normalise_claim(claim).lower(), "" if url else reviewed_by]
    return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def content_hash(review: Review) -> str:
    """Identifies a review's content (not its generation or evidence validity): re-writing it is a no-op."""
    r = review.rating
    fields = [
        review.claim, r.verdict, r.text, r.value, r.best, r.worst, review.reviewed_by, review.reviewed_at,
        review.url, review.title, review.claimant, review.claim_where, review.claim_date, review.note,
        [e.sentence_id for e in review.evidence],
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def verdict_of(text: str | None, value: float | None, best: float | None, worst: float | None) -> str:
    """The normalised verdict of a rating: its text if it is a common one, else the number's
    place on its scale (best third supported, worst third contradicted, between mixed; a number
    beyond the scale counts as its nearer end), else unproven."""
    if text:
        key = " ".join(_PUNCTUATION.sub(" ", text.lower().replace("-", " ")).split())
        if key in _TEXT_TO_VERDICT:
            return _TEXT_TO_VERDICT[key]
    if value is not None and best is not None and worst is not None and best != worst:
        place = (value - worst) / (best - worst)
        if place >= 1 - _THIRD:
            return SUPPORTED
        if place <= _THIRD:
            return CONTRADICTED
        return MIXED
    return UNPROVEN


def make_rating(
    verdict: str | None = None,
    text: str | None = None,
    value: float | None = None,
    best: float | None = None,
    worst: float | None = None,
) -> Rating:
    """A rating; `verdict` given or derived (`verdict_of`); a number without its scale is on
    schema.org's default one, 1 (worst) to 5 (best). `ReviewError` for an unknown verdict."""
    if verdict is not None and verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if value is not None and (best is None or worst is None):
        best = 5.0 if best is None else best  # schema.org's defaults
        worst = 1.0 if worst is None else worst
    return Rating(verdict or verdict_of(text, value, best, worst), text, value, best, worst)
