"""Python client for the claim verification API, for editorial tools.

from client import ClaimCheckClient
result = ClaimCheckClient("http://127.0.0.1:8000").verify("Russia launched 133 drones")
result.verdict, result.evidence[0]["article"]["url"]

cms = ClaimCheckClient("http://127.0.0.1:8000", api_key="...")  # a key with the write role
cms.put_articles([{"id": "kyiv-2025-03-01", "title": "…", "text": "…", "published": "2025-03-01"}])
cms.add_review("Russia launched 500 drones in one night", verdict="contradicted", rating="False")
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import quote

import requests

__all__ = [
    "ClaimCheckClient", "ClaimCheckError", "DraftResult", "DraftSentence", "Evidence", "ReviewMatch", "VerifyResult",
]  # fmt: skip


class ArticleRef(TypedDict):
    id: str
    title: str
    url: str | None
    published: str | None


class Reason(TypedDict):
    kind: str
    claim: str
    evidence: str
    message: str


class Evidence(TypedDict):
    sentence_id: int  # what add_review cites as evidence
    text: str
    score: float
    article: ArticleRef
    start: int
    end: int
    context: dict[str, str | None]
    stance: str
    reasons: list[Reason]
    also_in: list[ArticleRef]


class ReviewMatch(TypedDict):
    id: str
    claim: str  # the claim as reviewed
    verdict: str  # supported | contradicted | mixed | unproven
    rating: dict[str, Any]  # text ("Pants on Fire"), value, best, worst
    reviewed_by: str
    reviewed_at: str
    url: str | None
    score: float  # cosine of the two claims
    same_claim: bool  # the review covers this very claim, not merely its topic


@dataclass(frozen=True)
class VerifyResult:
    claim: str
    verdict: str  # supported | contradicted | mixed | not_found
    confidence: float
    evidence: list[Evidence]
    decided_by: int | None
    warnings: list[str] = field(default_factory=list)
    index_version: str = ""
    generation: int = 0  # the index state that answered; moves with every article write
    already_checked: bool = False  # a review covers this claim (see `reviews`)
    review_verdict: str | None = None  # that review's verdict
    reviews: list[ReviewMatch] = field(default_factory=list)  # the newsroom's reviews, best first

    @property
    def decisive(self) -> Evidence | None:
        return self.evidence[self.decided_by] if self.decided_by is not None else None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> VerifyResult:
        return cls(
            claim=body["claim"],
            verdict=body["verdict"],
            confidence=body["confidence"],
            evidence=body["evidence"],
            decided_by=body["decided_by"],
            warnings=body.get("warnings", []),
            index_version=body.get("index", {}).get("version", ""),
            generation=body.get("index", {}).get("generation", 0),
            already_checked=body.get("already_checked", False),
            review_verdict=body.get("review_verdict"),
            reviews=body.get("reviews", []),
        )


@dataclass(frozen=True)
class DraftSentence:
    start: int  # draft[start:end] == text
    end: int
    text: str
    is_claim: bool
    reason: str  # why it is (not) a claim, for people ("states a figure: 15 cents")
    result: VerifyResult | None  # the claim's check; None for a sentence that is not a claim
    speaker: str | None = None  # who said it, when the draft is a transcript (`speaker<TAB>text` lines)


@dataclass(frozen=True)
class DraftResult:
    sentences: list[DraftSentence]
    counts: dict[str, int]  # by verdict, and "not_a_claim"
    look_first: list[int]  # indices into `sentences`: contradicted, then mixed, then not found
    already_checked: list[int] = field(default_factory=list)  # indices of claims a review covers

    @property
    def claims(self) -> list[DraftSentence]:
        return [s for s in self.sentences if s.is_claim]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> DraftResult:
        sentences = [
            DraftSentence(
                start=s["start"],
                end=s["end"],
                text=s["text"],
                is_claim=s["is_claim"],
                reason=s["reason"]["message"],
                result=VerifyResult.from_json(s["verification"]) if s["verification"] else None,
                speaker=s.get("speaker"),
            )
            for s in body["sentences"]
        ]
        summary = body["summary"]
        return cls(sentences, summary["counts"], summary["look_first"], summary.get("already_checked", []))


class ClaimCheckError(Exception):
    """The service answered with an error, or could not be reached (`status` 0)."""

    def __init__(self, status: int, code: str, message: str, errors: dict | None = None):
        super().__init__(f"{status} {code}: {message}" if status else message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or {}


class ClaimCheckClient:
    """Timeouts on every call; retries with backoff when the service is not ready (503) or unreachable."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 10.0,
        session: requests.Session | None = None,
        api_key: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout, self.retries, self.backoff, self.max_wait = timeout, retries, backoff, max_wait
        self.session = session or requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def verify(self, claim: str, top_k: int = 5, min_score: float | None = None, **filters: Any) -> VerifyResult:
        """`filters`: published_after / published_before (ISO dates), article_ids (list)."""
        body: dict[str, Any] = {"claim": claim, "top_k": top_k, **filters}
        if min_score is not None:
            body["min_score"] = min_score
        return VerifyResult.from_json(self._request("POST", "/v1/verify", body))

    def verify_batch(self, claims: Sequence[str], top_k: int = 5, **filters: Any) -> list[VerifyResult]:
        body = self._request("POST", "/v1/verify/batch", {"claims": list(claims), "top_k": top_k, **filters})
        return [VerifyResult.from_json(r) for r in body["results"]]

    def check_draft(self, text: str, top_k: int = 3, published: str | None = None, **filters: Any) -> DraftResult:
        """Every sentence of a draft, whether it is a claim, and each claim's check.

        `published`: the draft's date (ISO); evidence then comes from articles published
        on or before it. `filters` as for `verify`."""
        body: dict[str, Any] = {"text": text, "top_k": top_k, **filters}
        if published is not None:
            body["published"] = published
        return DraftResult.from_json(self._request("POST", "/v1/drafts/check", body))

    def put_articles(self, articles: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Add or replace articles (one transaction); `{"generation", "articles": [{id, sentences, status}]}`.

        Safe to retry: posting the same content again changes nothing."""
        return self._request("POST", "/v1/articles", list(articles))

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", f"/v1/articles/{quote(article_id, safe='')}", None)
        except ClaimCheckError as exc:
            if exc.status == 404:
                return None
            raise

    def delete_article(self, article_id: str) -> bool:
        """True if it was deleted, False if there was no such article (also after a retried delete)."""
        try:
            self._request("DELETE", f"/v1/articles/{quote(article_id, safe='')}", None)
        except ClaimCheckError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def add_review(self, claim: str, verdict: str | None = None, rating: str | None = None, **fields: Any) -> dict:
        """Record a review (needs a write key; the reviewer is the key's name): `{"generation",
        "status", "review"}`. `fields`: rating_value, best_rating, worst_rating, reviewed_at, url,
        title, claimant, claim_where, claim_date, note, evidence (sentence ids). Safe to retry:
        the same review again changes nothing."""
        body = {"claim": claim, "verdict": verdict, "rating": rating, **fields}
        return self._request("POST", "/v1/reviews", {k: v for k, v in body.items() if v is not None})

    def reviews(
        self,
        limit: int = 50,
        cursor: str | None = None,
        verdict: str | None = None,
        reviewed_by: str | None = None,
        format: str = "json",
    ) -> dict[str, Any]:
        """One page of reviews, newest first: `{"reviews", "next_cursor"}`; with format="claimreview",
        the page as a ClaimReview JSON-LD DataFeed (and `next_cursor`)."""
        params = {"limit": limit, "cursor": cursor, "verdict": verdict, "reviewed_by": reviewed_by, "format": format}
        return self._request("GET", "/v1/reviews", None, {k: v for k, v in params.items() if v is not None})

    def get_review(self, review_id: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", f"/v1/reviews/{quote(review_id, safe='')}", None)
        except ClaimCheckError as exc:
            if exc.status == 404:
                return None
            raise

    def delete_review(self, review_id: str) -> bool:
        """True if it was deleted, False if there was no such review."""
        try:
            self._request("DELETE", f"/v1/reviews/{quote(review_id, safe='')}", None)
        except ClaimCheckError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def ready(self) -> bool:
        try:
            return self.session.get(f"{self.base_url}/readyz", timeout=self.timeout).status_code == 200
        except requests.RequestException:
            return False

    def _request(self, method: str, path: str, body: dict | list | None, params: dict | None = None) -> dict:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.session.request(
                    method, self.base_url + path, json=body, params=params, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    raise ClaimCheckError(0, "unreachable", f"cannot reach {self.base_url}: {exc}") from exc
                time.sleep(self.backoff * 2**attempt)
                continue
            if response.status_code == 503 and not last:
                retry_after = response.headers.get("Retry-After", "")
                wait = float(retry_after) if retry_after.isdigit() else self.backoff * 2**attempt
                time.sleep(min(wait, self.max_wait))
                continue
            try:
                payload = response.json() if response.content else {}
            except ValueError:
                payload = {}
            if response.ok:
                return payload
            raise ClaimCheckError(
                response.status_code,
                payload.get("code", "http_error"),
                payload.get("message", response.reason or "request failed"),
                payload.get("errors"),
            )
        raise AssertionError("unreachable")  # the loop always returns or raises
