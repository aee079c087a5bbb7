"""Claim verification endpoints: validate, call the engine, serialise."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint

from index.verify import Verification
from service.engine import get_verifier
from service.parsing import load_json_body
from service.schemas import (
    BatchVerifyRequestSchema,
    BatchVerifyResponseSchema,
    VerifyRequestSchema,
    VerifyResponseSchema,
)

bp = Blueprint("verify", __name__)


def _present(result: Verification, index: dict) -> dict:
    return {**asdict(result), "index": index}


@bp.post("/v1/verify")
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
        400: {$ref: '#/components/responses/InvalidJson'}
        413: {$ref: '#/components/responses/PayloadTooLarge'}
        415: {$ref: '#/components/responses/UnsupportedMediaType'}
        422: {$ref: '#/components/responses/ValidationError'}
        503: {$ref: '#/components/responses/NotReady'}
    """
    args = load_json_body(VerifyRequestSchema())
    verifier = get_verifier()
    result = verifier.verify_claim(args["claim"], top_k=args["top_k"], min_score=args["min_score"])
    return VerifyResponseSchema().dump(_present(result, verifier.stats()))


@bp.post("/v1/verify/batch")
def verify_batch():
    """Verify several claims at once.
    ---
    post:
      summary: Verify up to 64 claims in one request
      description: The claims are embedded in one batch, which is much faster than one request each.
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
        400: {$ref: '#/components/responses/InvalidJson'}
        413: {$ref: '#/components/responses/PayloadTooLarge'}
        415: {$ref: '#/components/responses/UnsupportedMediaType'}
        422: {$ref: '#/components/responses/ValidationError'}
        503: {$ref: '#/components/responses/NotReady'}
    """
    args = load_json_body(BatchVerifyRequestSchema())
    verifier = get_verifier()
    results = verifier.verify_claims(args["claims"], top_k=args["top_k"], min_score=args["min_score"])
    index = verifier.stats()
    return BatchVerifyResponseSchema().dump({"results": [_present(r, index) for r in results]})
