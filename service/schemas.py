"""Request and response bodies (marshmallow): the API contract, also the source of openapi.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate

from index import CLAIM_KINDS, NOT_CLAIM_KINDS, REVIEW_VERDICTS, STANCES, VERDICTS, parse_date
from service.config import REQUEST_LIMITS, Settings

# The request schemas below carry the default limits; `request_schemas(settings)` gives an
# app instances bound to its own Settings (nothing is read from the environment here).
_DEFAULT_LIMITS = {name: getattr(Settings(), name) for name in REQUEST_LIMITS}
DEFAULT_TOP_K = 5
MAX_FILTER_ARTICLE_IDS = 1000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_REVIEW_EVIDENCE = 100
ARTICLE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~:-]{0,199}$"


# Character classes are spelled out because `\s` means different things in Python and in
# the ECMA regexes OpenAPI tools use. Python's whitespace (what str.strip() removes), minus
# the controls \x1c-\x1f it also counts:
_SPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Control characters other than tab, newlines, vertical tab and form feed: NUL and friends
# are corrupt input, never text an editor wrote.
_CONTROL = r"\x00-\x08\x0e-\x1f\x7f"


class _LimitedLength(validate.Length):
    """A length whose maximum is the Settings field `setting` (bound per app by `request_schemas`)."""

    def __init__(self, setting: str, maximum: int | None = None):
        super().__init__(min=1, max=maximum if maximum is not None else _DEFAULT_LIMITS[setting])
        self.setting = setting


class _LimitedRange(validate.Range):
    """A range whose maximum is the Settings field `setting`."""

    def __init__(self, setting: str, maximum: int | None = None):
        super().__init__(min=1, max=maximum if maximum is not None else _DEFAULT_LIMITS[setting])
        self.setting = setting


def _limited_description(template: str) -> dict:
    """Field metadata whose description names a limit ("1 to {max_claim_chars} characters")."""
    return {"description": template.format_map(_DEFAULT_LIMITS), "limited_description": template}


class _WholeMatch(validate.Regexp):
    """A pattern the whole value must match: Python's `$` also matches before a final newline,
    an OpenAPI (ECMA) `$` does not, so the check uses fullmatch and the spec gets ^…$."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


# Some text (not only whitespace) and no control character. The classes are disjoint where
# they meet, so the match never backtracks more than linearly, even on 200,000 characters.
_TEXT = _WholeMatch(
    f"^[{_SPACE}]*[^{_SPACE}{_CONTROL}][^{_CONTROL}]*$", error="Must not be blank or contain control characters."
)
_URL = _WholeMatch(r"^https?://[^\s\x00-\x1f\x7f-\x9f]{1,2000}$", error="Must be an http(s) URL.")


def _claim_field(**kwargs) -> fields.String:
    return fields.String(
        validate=[_LimitedLength("max_claim_chars"), _TEXT],
        metadata={
            **_limited_description("A factual claim, 1 to {max_claim_chars} characters."),
            "example": "Russia launched 133 drones",
        },
        **kwargs,
    )


def _top_k_field() -> fields.Integer:
    return fields.Integer(
        strict=True,
        load_default=DEFAULT_TOP_K,
        validate=_LimitedRange("max_top_k"),
        metadata={"description": "How many evidence sentences to return."},
    )


def _min_score_field() -> fields.Float:
    return fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=-1.0, max=1.0),
        metadata={"description": "Drop evidence whose cosine similarity is below this."},
    )


def _article_id_field(description: str = "An article id.", **kwargs) -> fields.String:
    return fields.String(
        validate=_WholeMatch(ARTICLE_ID_PATTERN, error="1 to 200 letters, digits or . _ ~ : - (not first)."),
        metadata={"example": "kyiv-drones-2025-11-20", "description": description},
        **kwargs,
    )


class _ArticleFilterMixin(Schema):
    """Which articles may be evidence (all of them by default)."""

    published_after = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "Only articles published on or after this date."}
    )
    published_before = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "Only articles published on or before this date."}
    )
    article_ids = fields.List(
        _article_id_field(),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=MAX_FILTER_ARTICLE_IDS),
        metadata={"description": f"Only these articles (1 to {MAX_FILTER_ARTICLE_IDS} ids)."},
    )


class VerifyRequestSchema(_ArticleFilterMixin):
    claim = _claim_field(required=True)
    top_k = _top_k_field()
    min_score = _min_score_field()


class BatchVerifyRequestSchema(_ArticleFilterMixin):
    claims = fields.List(
        _claim_field(),
        required=True,
        validate=_LimitedLength("max_batch_claims"),
        metadata=_limited_description("1 to {max_batch_claims} claims, embedded in one batch."),
    )
    top_k = _top_k_field()
    min_score = _min_score_field()


class DraftCheckRequestSchema(_ArticleFilterMixin):
    text = fields.String(
        required=True,
        validate=[_LimitedLength("max_draft_chars"), _TEXT],
        metadata={
            **_limited_description(
                "The draft, 1 to {max_draft_chars} characters: prose, paragraphs separated by blank "
                "lines, or a transcript, one `speaker<TAB>text` line a turn (each sentence keeps its speaker)."
            ),
            "example": "The council voted 7 to 2 on Tuesday to raise bus fares. Is that fair?",
        },
    )
    published = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The draft's publication date: evidence comes only from articles published on or "
            "before it (and before `published_before`, if that is earlier)."
        },
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
            "description": "The judge's reading: nli_entailment, nli_contradiction, and same_statement_other_figure "
            "(the source makes the claim's statement with another figure or date, a contradiction). "
            "The checks, which explain: quantity_mismatch and date_mismatch (these two veto support when the "
            "judge confirms the statement is the same), quantity_match, quantity_missing, date_missing, "
            "entity_missing, polarity_mismatch, not_mentioned."
        },
    )
    claim = fields.String(required=True, metadata={"description": "What the claim says."})
    evidence = fields.String(required=True, metadata={"description": "What the source says ('' if nothing)."})
    message = fields.String(
        required=True, metadata={"example": "the claim says 500 drones; the source says 133 drones"}
    )


class EvidenceSchema(Schema):
    sentence_id = fields.Integer(
        required=True,
        metadata={
            "description": "The archive's id of the sentence: what a review cites in `evidence` "
            "(POST /v1/reviews); it changes when the article is replaced."
        },
    )
    text = fields.String(required=True)
    score = fields.Float(required=True, metadata={"description": "Cosine similarity to the claim, -1 to 1."})
    article = fields.Nested(ArticleRefSchema, required=True)
    start = fields.Integer(required=True, metadata={"description": "Offset of the sentence in the article body."})
    end = fields.Integer(required=True, metadata={"description": "body[start:end] is the sentence."})
    context = fields.Nested(ContextSchema, required=True)
    stance = fields.String(
        required=True,
        validate=validate.OneOf(list(STANCES)),
        metadata={
            "description": "How the NLI judge reads this sentence against the claim; `related` too for a sentence "
            "it did not read (it reads the first 3 candidates near the best one). In degraded mode, from "
            "similarity and the figure and date checks."
        },
    )
    strength = fields.Float(
        required=True,
        metadata={
            "description": "The judge's calibrated probability behind the stance (0 for related); in degraded "
            "mode, the cosine."
        },
    )
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    also_in = fields.List(
        fields.Nested(ArticleRefSchema),
        required=True,
        metadata={"description": "Other articles that carry the same sentence (wire copy), collapsed into this item."},
    )


class IndexRefSchema(Schema):
    version = fields.String(required=True, metadata={"description": "The snapshot the search started from."})
    generation = fields.Integer(
        required=True, metadata={"description": "The index version: moves with every article write."}
    )
    articles = fields.Integer(required=True)
    sentences = fields.Integer(required=True)


class ReviewRatingSchema(Schema):
    text = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "As the reviewer wrote it.", "example": "Pants on Fire"},
    )
    value = fields.Float(required=True, allow_none=True, metadata={"description": "The numeric rating, if any."})
    best = fields.Float(required=True, allow_none=True, metadata={"description": "The best value of its scale."})
    worst = fields.Float(required=True, allow_none=True, metadata={"description": "The worst value of its scale."})


_REVIEW_VERDICT_DESCRIPTION = (
    "The review's normalised verdict: supported, contradicted, mixed or unproven (from the rating when "
    "the reviewer gave none)."
)


class ReviewMatchSchema(Schema):
    id = fields.String(required=True, attribute="review.id")
    claim = fields.String(required=True, attribute="review.claim", metadata={"description": "The claim as reviewed."})
    verdict = fields.String(
        required=True,
        attribute="review.verdict",
        validate=validate.OneOf(list(REVIEW_VERDICTS)),
        metadata={"description": _REVIEW_VERDICT_DESCRIPTION},
    )
    rating = fields.Nested(ReviewRatingSchema, required=True, attribute="review.rating")
    reviewed_by = fields.String(required=True, attribute="review.reviewed_by")
    reviewed_at = fields.String(required=True, attribute="review.reviewed_at")
    url = fields.String(required=True, allow_none=True, attribute="review.url")
    score = fields.Float(
        required=True, metadata={"description": "Cosine similarity of the claim and the reviewed claim, -1 to 1."}
    )
    same_claim = fields.Boolean(
        required=True,
        metadata={
            "description": "The review covers this claim (the same claim or a paraphrase), not merely its topic: "
            "fitted on same-topic reviews from the signals `reasons` names (index/reviews/same_claim.py); a figure "
            "or date stated differently is never the same claim."
        },
    )
    reasons = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Why it was matched, in an editor's words: the same figure, the same speaker (a "
            "transcript's), a close paraphrase, the share of the review's words, standing apart from the other "
            "reviews on the topic. Empty when nothing stands out.",
            "example": ["the same figure: 17 percent", "a close paraphrase (similarity 0.86)"],
        },
    )


class VerifyResponseSchema(Schema):
    claim = fields.String(required=True, metadata={"description": "The claim, whitespace normalised."})
    already_checked = fields.Boolean(
        required=True,
        metadata={"description": "A review in `reviews` covers this claim (`same_claim`): it was checked before."},
    )
    review_verdict = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(list(REVIEW_VERDICTS)),
        metadata={"description": "The verdict of the best review that covers the claim; null if none does."},
    )
    verdict = fields.String(
        required=True,
        validate=validate.OneOf(list(VERDICTS)),
        metadata={
            "description": "`supported`: the NLI judge reads a sentence as entailing the claim; "
            "`contradicted`: it reads one as contradicting it (or as the same statement with another figure "
            "or date); `mixed`: strong sentences both ways; `not_found`: no sentence either way with "
            "confidence. Without the judge (degraded, see `warnings`): similarity and the checks."
        },
    )
    confidence = fields.Float(
        required=True,
        metadata={"description": "The probability that the verdict is right, calibrated on dev claims (0 to 1)."},
    )
    decided_by = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Index in `evidence` of the deciding item."}
    )
    evidence = fields.List(
        fields.Nested(EvidenceSchema),
        required=True,
        metadata={
            "description": "Best first, by the fusion of semantic (FAISS) and lexical (BM25) rank; "
            "`score` is the cosine similarity, `stance` the judge's reading."
        },
    )
    warnings = fields.List(fields.String(), required=True)
    index = fields.Nested(IndexRefSchema, required=True)
    reviews = fields.List(
        fields.Nested(ReviewMatchSchema),
        required=True,
        metadata={
            "description": "The newsroom's reviews of similar claims, best first (dense + BM25 fused, as evidence); "
            "the verdict and evidence above are the model's own, whatever a review says."
        },
    )
    took_ms = fields.Float(required=True)


class BatchVerifyResponseSchema(Schema):
    results = fields.List(fields.Nested(VerifyResponseSchema), required=True)


class ClaimReasonSchema(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf([*CLAIM_KINDS, *NOT_CLAIM_KINDS]),
        metadata={
            "description": "Why it is a claim: figure, date, name, event; why not: question, quotation, "
            "opinion (a view or forecast), no_fact."
        },
    )
    message = fields.String(required=True, metadata={"example": "states a figure: 15 cents"})


class DraftSentenceSchema(Schema):
    start = fields.Integer(required=True, metadata={"description": "text[start:end] is the sentence."})
    end = fields.Integer(required=True)
    text = fields.String(required=True)
    is_claim = fields.Boolean(required=True, metadata={"description": "Worth checking: it states a checkable fact."})
    reason = fields.Nested(ClaimReasonSchema, required=True)
    speaker = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Who said it, when the draft is a transcript (every line `speaker<TAB>text`); "
            "null for prose."
        },
    )
    verification = fields.Nested(
        VerifyResponseSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The check of a claim, as /v1/verify gives it; null for a sentence that is not one."},
    )


class DraftSummarySchema(Schema):
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "Sentences by verdict, and `not_a_claim`."},
    )
    look_first = fields.List(
        fields.Integer(),
        required=True,
        metadata={
            "description": "Indices into `sentences` an editor should look at first: contradicted, then mixed, "
            "then not found, each in draft order."
        },
    )
    already_checked = fields.List(
        fields.Integer(),
        required=True,
        metadata={
            "description": "Indices into `sentences` of the claims a review already covers (their "
            "`verification.already_checked`), in draft order."
        },
    )


class DraftCheckResponseSchema(Schema):
    sentences = fields.List(fields.Nested(DraftSentenceSchema), required=True, metadata={"description": "In order."})
    summary = fields.Nested(DraftSummarySchema, required=True)
    took_ms = fields.Float(required=True)


class EncoderStatsSchema(Schema):
    backend = fields.String(required=True, metadata={"description": "The embedding runtime (EMBEDDING_BACKEND)."})
    model_calls = fields.Integer(required=True, metadata={"description": "Model calls since this worker started."})
    requests = fields.Integer(
        required=True,
        metadata={
            "description": "Encodes served by those calls; above model_calls when concurrent requests shared a call."
        },
    )
    texts = fields.Integer(required=True, metadata={"description": "Texts (claims, sentences) encoded."})


class JudgeSelfCheckSchema(Schema):
    graph = fields.String(required=True, metadata={"description": "Which stored readings were compared: int8 or fp32."})
    pairs = fields.Integer(required=True)
    mean_difference = fields.Float(
        required=True, metadata={"description": "Per pair the largest |ΔP| against the stored reading, averaged."}
    )
    max_difference = fields.Float(required=True)
    tolerance = fields.Float(required=True)
    passed = fields.Boolean(required=True)


class JudgeCacheSchema(Schema):
    pairs = fields.Integer(required=True, metadata={"description": "Readings kept now."})
    capacity = fields.Integer(required=True, metadata={"description": "JUDGE_CACHE_PAIRS."})
    hits = fields.Integer(required=True)
    misses = fields.Integer(required=True)


class JudgeRulesSchema(Schema):
    file = fields.String(
        required=True, allow_none=True, metadata={"description": "RULES_FILE in use (null: the shipped rules)."}
    )
    fitted_on = fields.Dict(metadata={"description": "What the file says its rules were fitted on."})


class JudgeStatsSchema(Schema):
    model = fields.String(
        required=True, metadata={"description": "The NLI model (NLI_MODEL, default the shipped one)."}
    )
    backend = fields.String(required=True)
    model_calls = fields.Integer(required=True, metadata={"description": "Model calls since this worker started."})
    requests = fields.Integer(required=True, metadata={"description": "Requests served by those calls."})
    pairs = fields.Integer(required=True, metadata={"description": "(sentence, claim) pairs judged."})
    cache = fields.Nested(JudgeCacheSchema, required=True, metadata={"description": "This worker's readings cache."})
    graph = fields.String(
        metadata={
            "description": "The ONNX graph served: int8, or fp32 when the int8 graph failed its self-check on this CPU."
        }
    )
    self_check = fields.Nested(
        JudgeSelfCheckSchema,
        allow_none=True,
        metadata={"description": "The bundled pairs read again at load (null: the model ships none)."},
    )
    fallback_reason = fields.String(
        allow_none=True, metadata={"description": "Why the fp32 graph is served (null when int8 is)."}
    )
    rules = fields.Nested(
        JudgeRulesSchema, metadata={"description": "The verdict's cut-offs and confidence map: shipped or RULES_FILE."}
    )


class ArchiveStatusSchema(Schema):
    backend = fields.String(required=True, metadata={"description": "`sqlite` (one machine) or `postgresql` (shared)."})
    primary = fields.String(
        required=True, allow_none=True, metadata={"description": "The shared archive, without its password."}
    )
    replica_generation = fields.Integer(
        required=True, metadata={"description": "The last generation this host has applied."}
    )
    following = fields.Boolean(
        required=True, allow_none=True, metadata={"description": "Listening for the shared archive's changes."}
    )
    last_pull = fields.Float(
        required=True, allow_none=True, metadata={"description": "Unix time of the last pull from the shared archive."}
    )
    error = fields.String(
        required=True, allow_none=True, metadata={"description": "Why the shared archive is out of reach, if it is."}
    )


class IndexStatsSchema(Schema):
    version = fields.String(required=True, metadata={"description": "The live snapshot."})
    generation = fields.Integer(required=True, metadata={"description": "The index version (moves with each write)."})
    articles = fields.Integer(required=True)
    sentences = fields.Integer(required=True)
    pending_sentences = fields.Integer(
        required=True, metadata={"description": "Sentences written since the snapshot (folded in by the next one)."}
    )
    model = fields.String(required=True)
    dimension = fields.Integer(required=True)
    built_at = fields.String(required=True, metadata={"description": "When the snapshot was written."})
    reload_error = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why a newer snapshot could not be loaded (the previous one keeps serving)."},
    )
    encoder = fields.Nested(
        EncoderStatsSchema,
        required=True,
        metadata={"description": "The answering worker's encoder (each gunicorn worker has its own)."},
    )
    judge = fields.Nested(
        JudgeStatsSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The answering worker's NLI judge; null when degraded."},
    )
    degraded = fields.Boolean(
        required=True,
        metadata={"description": "True when no NLI judge is loaded: verdicts come from similarity and checks only."},
    )
    degraded_reason = fields.String(
        required=True, allow_none=True, metadata={"description": "Why the judge is not loaded (null if it is)."}
    )
    archive = fields.Nested(ArchiveStatusSchema, required=True, metadata={"description": "Where writes go."})


def _valid_date(value: str) -> None:
    if not parse_date(value):
        raise ValidationError("Not a date (use YYYY-MM-DD).")


class ArticleInSchema(Schema):
    """An article to add or replace: the same fields as a line of the JSONL input."""

    id = _article_id_field(
        "Your id for the article; default: derived from the url, else the content.", load_default=None
    )
    title = fields.String(required=True, validate=[validate.Length(min=1, max=1000), _TEXT])
    text = fields.String(
        required=True,
        validate=[_LimitedLength("max_article_chars"), _TEXT],
        metadata={"description": "The body; paragraphs separated by blank lines."},
    )
    url = fields.String(load_default=None, allow_none=True, validate=_URL)
    published = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=40), _valid_date],
        metadata={"description": "Publication date (YYYY-MM-DD).", "format": "date"},
    )
    byline = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ArticleListInSchema(Schema):
    """Wraps a JSON array of articles (the body is the array itself)."""

    articles = fields.List(
        fields.Nested(ArticleInSchema), required=True, validate=_LimitedLength("max_articles_per_request")
    )


class ArticleWrittenSchema(Schema):
    id = fields.String(required=True)
    sentences = fields.Integer(
        required=True,
        metadata={"description": "Sentences indexed for it; 0: stored, but too short to be evidence."},
    )
    status = fields.String(required=True, validate=validate.OneOf(["created", "updated", "unchanged"]))


class ArticlesWrittenSchema(Schema):
    generation = fields.Integer(required=True, metadata={"description": "The index version that includes this write."})
    articles = fields.List(fields.Nested(ArticleWrittenSchema), required=True)


class ArticleSummarySchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    url = fields.String(required=True, allow_none=True)
    published = fields.String(required=True, allow_none=True)
    byline = fields.String(required=True, allow_none=True)
    sentence_count = fields.Integer(required=True)
    updated = fields.Integer(required=True, metadata={"description": "Index version of its last change."})


class ArticleSentenceSchema(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    start = fields.Integer(required=True, metadata={"description": "body[start:end] is the sentence."})
    end = fields.Integer(required=True)
    text = fields.String(required=True)


class ArticleSchema(ArticleSummarySchema):
    body = fields.String(required=True)
    sentences = fields.List(fields.Nested(ArticleSentenceSchema), required=True)


class ArticleListQuerySchema(Schema):
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = fields.String(
        load_default=None, validate=validate.Length(max=1000), metadata={"description": "`next_cursor` of a page."}
    )
    published_after = fields.Date(load_default=None, metadata={"description": "On or after this date."})
    published_before = fields.Date(load_default=None, metadata={"description": "On or before this date."})


class ArticleListSchema(Schema):
    articles = fields.List(fields.Nested(ArticleSummarySchema), required=True)
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null at the end."}
    )


class ReviewInSchema(Schema):
    """A review to record; the reviewer is the API key's name."""

    claim = _claim_field(required=True)
    verdict = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(list(REVIEW_VERDICTS)),
        metadata={"description": "supported, contradicted, mixed or unproven; default: derived from the rating."},
    )
    rating = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=200), _TEXT],
        metadata={"description": "The rating as the reviewer words it.", "example": "Pants on Fire"},
    )
    rating_value = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    best_rating = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    worst_rating = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    reviewed_at = fields.Date(load_default=None, allow_none=True, metadata={"description": "Default: today (UTC)."})
    url = fields.String(load_default=None, allow_none=True, validate=_URL, metadata={"description": "The review."})
    title = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=1000), _TEXT])
    claimant = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=1000), _TEXT],
        metadata={"description": "Who made the claim."},
    )
    claim_where = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=2000), _TEXT],
        metadata={"description": "Where the claim was made: a URL or a description."},
    )
    claim_date = fields.Date(load_default=None, allow_none=True, metadata={"description": "When it was made."})
    note = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=5000), _TEXT])
    evidence = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1)),
        load_default=list,
        validate=validate.Length(max=MAX_REVIEW_EVIDENCE),
        metadata={"description": "Ids of the archive sentences the reviewer relied on (live sentences)."},
    )


class ReviewEvidenceSchema(Schema):
    sentence_id = fields.Integer(required=True)
    valid = fields.Boolean(
        required=True,
        metadata={"description": "False once the sentence's article was replaced or deleted: it no longer stands."},
    )
    article_id = fields.String(required=True, allow_none=True)
    text = fields.String(required=True, allow_none=True)


class ReviewSchema(Schema):
    id = fields.String(required=True, metadata={"description": "Stable: from the review's URL and claim."})
    claim = fields.String(required=True)
    verdict = fields.String(
        required=True,
        validate=validate.OneOf(list(REVIEW_VERDICTS)),
        metadata={"description": _REVIEW_VERDICT_DESCRIPTION},
    )
    rating = fields.Nested(ReviewRatingSchema, required=True)
    reviewed_by = fields.String(
        required=True, metadata={"description": "The API key's name, or the publisher of an imported review."}
    )
    reviewed_at = fields.String(required=True, metadata={"description": "ISO date (or date-time)."})
    url = fields.String(required=True, allow_none=True)
    title = fields.String(required=True, allow_none=True)
    claimant = fields.String(required=True, allow_none=True)
    claim_where = fields.String(required=True, allow_none=True)
    claim_date = fields.String(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    evidence = fields.List(fields.Nested(ReviewEvidenceSchema), required=True)
    generation = fields.Integer(required=True, metadata={"description": "Index version of its last change."})


class ReviewWrittenSchema(Schema):
    generation = fields.Integer(required=True, metadata={"description": "The index version that includes this write."})
    status = fields.String(required=True, validate=validate.OneOf(["created", "updated", "unchanged"]))
    review = fields.Nested(ReviewSchema, required=True)


class NotSameClaimInSchema(Schema):
    """An editor's "not the same claim": the claim the review was matched to."""

    claim = _claim_field(required=True)


class NotSameClaimSchema(Schema):
    review_id = fields.String(required=True)
    claim = fields.String(required=True, metadata={"description": "The claim, as the mark names it (case-folded)."})
    marked_by = fields.String(required=True, metadata={"description": "The API key's name."})
    generation = fields.Integer(required=True, metadata={"description": "The index version that includes the mark."})
    status = fields.String(
        required=True,
        validate=validate.OneOf(["created", "unchanged"]),
        metadata={"description": "`unchanged`: this pairing was marked already."},
    )


class ReviewListQuerySchema(Schema):
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = fields.String(
        load_default=None, validate=validate.Length(max=1000), metadata={"description": "`next_cursor` of a page."}
    )
    verdict = fields.String(load_default=None, validate=validate.OneOf(list(REVIEW_VERDICTS)))
    reviewed_by = fields.String(load_default=None, validate=validate.Length(min=1, max=1000))
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "claimreview"]),
        metadata={"description": "`claimreview`: the page as schema.org ClaimReview JSON-LD (a DataFeed)."},
    )


class ReviewListSchema(Schema):
    reviews = fields.List(fields.Nested(ReviewSchema), required=True, metadata={"description": "Newest first."})
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null at the end."}
    )


class ClaimReviewFeedSchema(Schema):
    context = fields.String(required=True, data_key="@context", metadata={"example": "https://schema.org"})
    type = fields.String(required=True, data_key="@type", validate=validate.Equal("DataFeed"))
    data_feed_element = fields.List(
        fields.Dict(),
        required=True,
        data_key="dataFeedElement",
        metadata={"description": "DataFeedItems, each holding one ClaimReview (`item`)."},
    )
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null at the end."}
    )


class StatusSchema(Schema):
    status = fields.String(required=True)
    reason = fields.String(metadata={"description": "Why the service is not ready."})
    archive = fields.String(
        metadata={"description": "Ready, but the shared archive is out of reach: writes answer 503 meanwhile."}
    )


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable error code."})
    message = fields.String(required=True)
    errors = fields.Dict(required=True, metadata={"description": "Field → messages, for validation errors."})


@dataclass(frozen=True)
class RequestSchemas:
    """The request schemas of one app, with its Settings' limits (`request_schemas`)."""

    verify: VerifyRequestSchema
    verify_batch: BatchVerifyRequestSchema
    article: ArticleInSchema
    articles: ArticleListInSchema
    draft: DraftCheckRequestSchema
    review: ReviewInSchema
    not_same_claim: NotSameClaimInSchema


def request_schemas(settings: Settings) -> RequestSchemas:
    """Schema instances whose size limits are `settings`' (built once per app: construction
    costs more than a load, and loading keeps no state in the schema, so threads share them)."""
    bound = RequestSchemas(
        VerifyRequestSchema(),
        BatchVerifyRequestSchema(),
        ArticleInSchema(),
        ArticleListInSchema(),
        DraftCheckRequestSchema(),
        ReviewInSchema(),
        NotSameClaimInSchema(),
    )
    limits = {name: getattr(settings, name) for name in REQUEST_LIMITS}
    every = (bound.verify, bound.verify_batch, bound.article, bound.articles, bound.draft, bound.review)
    for schema in (*every, bound.not_same_claim):
        for field in schema.fields.values():
            _bind_limits(field, limits)
        if "top_k" in schema.fields:
            schema.fields["top_k"].load_default = min(DEFAULT_TOP_K, settings.max_top_k)
    return bound


def current_request_schemas() -> RequestSchemas:
    """The request schemas of the app handling this request (built by `create_app`)."""
    return current_app.extensions["request_schemas"]


def _bind_limits(field: fields.Field, limits: dict[str, int]) -> None:
    """Each limited validator and description of the field (and of its items) set from `limits`.

    A schema instance owns copies of its fields, so this changes no other instance.
    """
    field.validators = [
        type(v)(v.setting, limits[v.setting]) if isinstance(v, _LimitedLength | _LimitedRange) else v
        for v in field.validators
    ]
    if "limited_description" in field.metadata:
        field.metadata["description"] = field.metadata["limited_description"].format_map(limits)
    if isinstance(field, fields.List):
        _bind_limits(field.inner, limits)
    if isinstance(field, fields.Nested):
        for inner in field.schema.fields.values():
            _bind_limits(inner, limits)
