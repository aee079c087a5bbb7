"""Request and response bodies (marshmallow): the API contract, also the source of openapi.yaml."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

MAX_CLAIM_CHARS = 1000
MAX_TOP_K = 50
DEFAULT_TOP_K = 5
MAX_BATCH_CLAIMS = 64


# "Contains a character other than ASCII whitespace", written so that marshmallow
# (re.match) and the OpenAPI `pattern` it becomes (an unanchored search, in any regex
# dialect: Unicode `\s` differs between them) mean exactly the same thing.
_NOT_BLANK = validate.Regexp(r"[ \t\n\r\f\v]*[^ \t\n\r\f\v]", error="Must not be blank.")


def _claim_field(**kwargs) -> fields.String:
    return fields.String(
        validate=[validate.Length(min=1, max=MAX_CLAIM_CHARS), _NOT_BLANK],
        metadata={
            "description": f"A factual claim, 1 to {MAX_CLAIM_CHARS} characters.",
            "example": "Russia launched 133 drones",
        },
        **kwargs,
    )


def _top_k_field() -> fields.Integer:
    return fields.Integer(
        strict=True,
        load_default=DEFAULT_TOP_K,
        validate=validate.Range(min=1, max=MAX_TOP_K),
        metadata={"description": "How many evidence sentences to return."},
    )


def _min_score_field() -> fields.Float:
    return fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=-1.0, max=1.0),
        metadata={"description": "Drop evidence whose cosine similarity is below this."},
    )


class VerifyRequestSchema(Schema):
    claim = _claim_field(required=True)
    top_k = _top_k_field()
    min_score = _min_score_field()


class BatchVerifyRequestSchema(Schema):
    claims = fields.List(
        _claim_field(),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH_CLAIMS),
        metadata={"description": f"1 to {MAX_BATCH_CLAIMS} claims, embedded in one batch."},
    )
    top_k = _top_k_field()
    min_score = _min_score_field()


class ArticleRefSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    url = fields.String(allow_none=True, required=True)
    published = fields.String(allow_none=True, required=True, metadata={"description": "ISO date (YYYY-MM-DD)."})


class ContextSchema(Schema):
    before = fields.String(allow_none=True, required=True, metadata={"description": "The previous sentence."})
    after = fields.String(allow_none=True, required=True, metadata={"description": "The next sentence."})


class ReasonSchema(Schema):
    kind = fields.String(
        required=True,
        metadata={
            "description": "Contradicting: quantity_mismatch, date_mismatch, entity_mismatch, polarity_mismatch, "
            "nli_contradiction. Withholding support: entity_missing, quantity_missing, date_missing. "
            "Informative: quantity_match, not_mentioned, nli_entailment (which can also support)."
        },
    )
    claim = fields.String(required=True, metadata={"description": "What the claim says."})
    evidence = fields.String(required=True, metadata={"description": "What the source says ('' if nothing)."})
    message = fields.String(
        required=True, metadata={"example": "the claim says 500 drones; the source says 133 drones"}
    )


class EvidenceSchema(Schema):
    text = fields.String(required=True)
    score = fields.Float(required=True, metadata={"description": "Cosine similarity to the claim, -1 to 1."})
    article = fields.Nested(ArticleRefSchema, required=True)
    start = fields.Integer(required=True, metadata={"description": "Offset of the sentence in the article body."})
    end = fields.Integer(required=True, metadata={"description": "body[start:end] is the sentence."})
    context = fields.Nested(ContextSchema, required=True)
    stance = fields.String(required=True, validate=validate.OneOf(["supports", "contradicts", "related"]))
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    also_in = fields.List(
        fields.Nested(ArticleRefSchema),
        required=True,
        metadata={"description": "Other articles that carry the same sentence (wire copy), collapsed into this item."},
    )


class IndexRefSchema(Schema):
    version = fields.String(required=True)
    articles = fields.Integer(required=True)
    sentences = fields.Integer(required=True)


class VerifyResponseSchema(Schema):
    claim = fields.String(required=True, metadata={"description": "The claim, whitespace normalised."})
    verdict = fields.String(
        required=True,
        validate=validate.OneOf(["supported", "contradicted", "mixed", "not_found"]),
        metadata={
            "description": "`supported`: a sentence clears the calibrated threshold and no check objects; "
            "`contradicted`: a sentence about the same thing states another figure, date or name; "
            "`mixed`: equally strong evidence both ways; `not_found`: neither."
        },
    )
    confidence = fields.Float(required=True, metadata={"description": "0 to 1."})
    decided_by = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Index in `evidence` of the deciding item."}
    )
    evidence = fields.List(
        fields.Nested(EvidenceSchema),
        required=True,
        metadata={
            "description": "Best first, by the fusion of semantic (FAISS) and lexical (BM25) rank; "
            "`score` is the cosine similarity."
        },
    )
    warnings = fields.List(fields.String(), required=True)
    index = fields.Nested(IndexRefSchema, required=True)
    took_ms = fields.Float(required=True)


class BatchVerifyResponseSchema(Schema):
    results = fields.List(fields.Nested(VerifyResponseSchema), required=True)


class IndexStatsSchema(Schema):
    version = fields.String(required=True)
    articles = fields.Integer(required=True)
    sentences = fields.Integer(required=True)
    model = fields.String(required=True)
    dimension = fields.Integer(required=True)
    built_at = fields.String(required=True)


class StatusSchema(Schema):
    status = fields.String(required=True)
    reason = fields.String(metadata={"description": "Why the service is not ready."})


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable error code."})
    message = fields.String(required=True)
    errors = fields.Dict(required=True, metadata={"description": "Field → messages, for validation errors."})
