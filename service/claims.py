"""Claim verification routes (/v1/verify, /v1/verify/batch): validate, call the engine, serialise."""

from __future__ import annotations

from flask import Blueprint

from index import ArticleFilter
from service.auth import READ, requires
from service.engine import get_verifier
from service.metrics import count_verdicts
from service.openapi import BODY, ENGINE, gives
from service.parsing import load_json_body
from service.schemas import BatchVerifyResponseSchema, VerifyResponseSchema, current_request_schemas

bp = Blueprint("verify", __name__)

# Built once: a marshmallow schema's construction copies its fields and costs more than a
# dump (0.43 against 0.13 ms per answer, benchmarks/request_profile.py). Loading and dumping
# keep no state in the schema, so the threads share these. The request schemas carry the
# app's limits and are built by the app factory (`current_request_schemas`).
_verify_response = VerifyResponseSchema()
_batch_response = BatchVerifyResponseSchema()


def article_filter(args: dict) -> ArticleFilter:
    after, before = args["published_after"], args["published_before"]
    return ArticleFilter(
        published_after=after and after.isoformat(),
        published_before=before and before.isoformat(),
        article_ids=args["article_ids"],
    )


@bp.post("/v1/verify")
@gives(BODY, ENGINE)
@requires(READ)
def verify():
    """Verify one claim.
    ---
    post:
      summary: Verify one claim against the article archive
      description: >
        Returns the sentences of the archive most similar to the claim, with
        scores and provenance, and a verdict.
      requestBody:
        required: true
        content:
          application/json:
            schema: VerifyRequestSchema
      responses:
        200:
          description: The verdict and its evidence.
          content:
            application/json:
              schema: VerifyResponseSchema
    """
    args = load_json_body(current_request_schemas().verify)
    result = get_verifier().verify_claim(
        args["claim"], top_k=args["top_k"], min_score=args["min_score"], within=article_filter(args)
    )
    count_verdicts([result.verdict])
    return _verify_response.dump(result)  # read straight from the dataclasses


@bp.post("/v1/verify/batch")
@gives(BODY, ENGINE)
@requires(READ)
def verify_batch():
    """Verify several claims at once.
    ---
    post:
      summary: Verify several claims in one request
      description: >
        Up to `maxItems` claims (MAX_BATCH_CLAIMS), embedded in one batch, which is much
        faster than one request each.
      requestBody:
        required: true
        content:
          application/json:
            schema: BatchVerifyRequestSchema
      responses:
        200:
          description: One result per claim, in the order given.
          content:
            application/json:
              schema: BatchVerifyResponseSchema
    """
    args = load_json_body(current_request_schemas().verify_batch)
    results = get_verifier().verify_claims(
        args["claims"], top_k=args["top_k"], min_score=args["min_score"], within=article_filter(args)
    )
    count_verdicts([r.verdict for r in results])
    return _batch_response.dump({"results": results})
