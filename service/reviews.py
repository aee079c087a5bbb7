"""Review endpoints: record, replace, read, list (also as ClaimReview JSON-LD) and delete reviews."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, g, request, url_for

from index import EvidenceMissing, Review, ReviewError, ReviewStore, claimreview_feed, record_review
from service.auth import READ, WRITE, requires
from service.engine import get_verifier
from service.errors import ApiError
from service.openapi import BODY, ENGINE, EVIDENCE, QUERY, REVIEW, gives
from service.parsing import load_json_body
from service.schemas import (
    ClaimReviewFeedSchema,
    NotSameClaimSchema,
    ReviewListQuerySchema,
    ReviewListSchema,
    ReviewSchema,
    ReviewWrittenSchema,
    current_request_schemas,
)

bp = Blueprint("reviews", __name__)

_NOT_FOUND = "No review with this id (it may have been deleted)."
_review_schema = ReviewSchema()
_written_schema = ReviewWrittenSchema()
_list_schema = ReviewListSchema()
_feed_schema = ClaimReviewFeedSchema()
_mark_schema = NotSameClaimSchema()


def _store() -> ReviewStore:
    return get_verifier().reviews.store


def _review(review: Review) -> dict:
    data = asdict(review)
    data["verdict"] = review.verdict
    data["rating"] = {k: v for k, v in data["rating"].items() if k != "verdict"}
    data.pop("extra", None)
    return data


def _write(review_id: str | None = None) -> tuple[int, object, Review]:
    fields = load_json_body(current_request_schemas().review)
    for name in ("reviewed_at", "claim_date"):
        fields[name] = fields[name] and fields[name].isoformat()
    verifier = get_verifier()
    try:
        return record_review(verifier.reviews.store, verifier.embedder, fields, g.api_key_name, review_id)
    except EvidenceMissing as exc:
        # Valid as written, but not against the archive as it is now (a sentence retired or unknown).
        raise ApiError(
            409, "conflict", "The review's evidence is not in the archive.", {"evidence": [str(exc)]}
        ) from None
    except ReviewError as exc:
        raise ApiError(
            422, "validation_error", "The review could not be recorded.", {"_schema": [exc.message]}
        ) from None


@bp.post("/v1/reviews")
@gives(BODY, EVIDENCE, ENGINE)
@requires(WRITE)
def post_review():
    """Record a review.
    ---
    post:
      summary: Record the newsroom's review of a claim
      description: >
        Stored in the archive in one transaction (durable on return) that every worker sees on its
        next request: from then on /v1/verify lists it under `reviews` for similar claims. The
        reviewer is the API key's name. The id comes from the URL and the claim (without a URL:
        the reviewer and the claim), so recording the same review again updates it, and identical
        content changes nothing. Needs a key with the `write` role.
      security: [{bearerAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: ReviewInSchema
      responses:
        201:
          description: Stored (and durable).
          content:
            application/json:
              schema: ReviewWrittenSchema
    """
    generation, put, review = _write()
    headers = {"Location": url_for("reviews.get_review", review_id=review.id)}
    payload = {"generation": generation, "status": put.status, "review": _review(review)}
    return _written_schema.dump(payload), 201, headers


@bp.get("/v1/reviews")
@gives(QUERY, ENGINE)
@requires(READ)
def list_reviews():
    """List reviews.
    ---
    get:
      summary: List the reviews, newest first, or export them as ClaimReview JSON-LD
      parameters:
        - in: query
          schema: ReviewListQuerySchema
      responses:
        200:
          description: One page; pass `next_cursor` as `cursor` for the next. With `format=claimreview`,
            a schema.org DataFeed of ClaimReviews.
          content:
            application/json:
              schema:
                oneOf:
                  - $ref: '#/components/schemas/ReviewList'
                  - $ref: '#/components/schemas/ClaimReviewFeed'
    """
    args = ReviewListQuerySchema().load(request.args)
    items, next_cursor = _store().list_reviews(
        limit=args["limit"], cursor=args["cursor"], verdict=args["verdict"], reviewed_by=args["reviewed_by"]
    )
    if args["format"] == "claimreview":
        feed = claimreview_feed(items)
        return _feed_schema.dump(
            {"context": feed["@context"], "type": feed["@type"], "data_feed_element": feed["dataFeedElement"],
             "next_cursor": next_cursor}
        )  # fmt: skip
    return _list_schema.dump({"reviews": [_review(r) for r in items], "next_cursor": next_cursor})


@bp.get("/v1/reviews/<string:review_id>")
@gives(REVIEW, ENGINE)
@requires(READ)
def get_review(review_id: str):
    """Read one review.
    ---
    get:
      summary: A review, with the validity of each evidence sentence it relied on
      parameters:
        - {in: path, name: review_id, required: true, schema: {type: string}}
      responses:
        200:
          description: The review.
          content:
            application/json:
              schema: ReviewSchema
    """
    review = _store().get(review_id)
    if review is None:
        raise ApiError(404, "not_found", _NOT_FOUND)
    return _review_schema.dump(_review(review))


@bp.put("/v1/reviews/<string:review_id>")
@gives(BODY, EVIDENCE, REVIEW, ENGINE)
@requires(WRITE)
def put_review(review_id: str):
    """Replace a review.
    ---
    put:
      summary: Replace a review's content (its id stays)
      security: [{bearerAuth: []}]
      parameters:
        - {in: path, name: review_id, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: ReviewInSchema
      responses:
        200:
          description: Stored (and durable).
          content:
            application/json:
              schema: ReviewWrittenSchema
    """
    if _store().get(review_id) is None:
        raise ApiError(404, "not_found", _NOT_FOUND)
    generation, put, review = _write(review_id)
    return _written_schema.dump({"generation": generation, "status": put.status, "review": _review(review)})


@bp.delete("/v1/reviews/<string:review_id>")
@gives(REVIEW, ENGINE)
@requires(WRITE)
def delete_review(review_id: str):
    """Delete a review.
    ---
    delete:
      summary: Remove a review; it stops being matched at once
      security: [{bearerAuth: []}]
      parameters:
        - {in: path, name: review_id, required: true, schema: {type: string}}
      responses:
        204:
          description: Deleted (and durable).
    """
    if _store().delete_review(review_id) is None:
        raise ApiError(404, "not_found", _NOT_FOUND)
    return "", 204


@bp.post("/v1/reviews/<string:review_id>/not-same-claim")
@gives(BODY, REVIEW, ENGINE)
@requires(WRITE)
def mark_not_same_claim(review_id: str):
    """Mark a matched review as not the same claim.
    ---
    post:
      summary: An editor's "not the same claim" for one (claim, review) pairing
      description: >
        Stored with the review in one durable transaction that every worker sees on its next
        request: from then on that review is never shown for that claim again (case and spacing
        aside), and `scripts/evaluate.py --reviews` counts the pairing as a labelled negative for
        the next fit of `same_claim`. Marking the same pairing again changes nothing. Needs a key
        with the `write` role; the mark is the key's name's.
      security: [{bearerAuth: []}]
      parameters:
        - {in: path, name: review_id, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: NotSameClaimInSchema
      responses:
        201:
          description: Marked (and durable).
          content:
            application/json:
              schema: NotSameClaimSchema
        200:
          description: Marked already; nothing changed.
          content:
            application/json:
              schema: NotSameClaimSchema
    """
    claim = load_json_body(current_request_schemas().not_same_claim)["claim"]
    mark = _store().mark_not_same_claim(review_id, claim, g.api_key_name)
    if mark is None:
        raise ApiError(404, "not_found", _NOT_FOUND)
    payload = {**asdict(mark), "status": "created" if mark.created else "unchanged"}
    return _mark_schema.dump(payload), 201 if mark.created else 200
