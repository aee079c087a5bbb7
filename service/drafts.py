"""The draft route (/v1/drafts/check): validate, call `index.drafts.check_draft`, serialise."""

from __future__ import annotations

from flask import Blueprint

from index import ArticleFilter, check_draft
from service.auth import READ, requires
from service.claims import article_filter
from service.engine import get_verifier
from service.metrics import count_verdicts
from service.openapi import BODY, ENGINE, gives
from service.parsing import load_json_body
from service.schemas import DraftCheckResponseSchema, current_request_schemas

bp = Blueprint("drafts", __name__)
_response = DraftCheckResponseSchema()


def _until_published(within: ArticleFilter, published: str | None) -> ArticleFilter:
    """The filter, with evidence published after the draft's own date left out."""
    if published is None:
        return within
    before = min(published, within.published_before or published)
    return ArticleFilter(within.published_after, before, within.article_ids)


@bp.post("/v1/drafts/check")
@gives(BODY, ENGINE)
@requires(READ)
def check():
    """Check a whole draft.
    ---
    post:
      summary: Split a draft into sentences, pick out the claims, and verify each
      description: >
        Every sentence of the draft comes back in order with its offsets, whether it is a
        claim worth checking and why; each claim is verified (in one batch, as
        /v1/verify/batch does) and the summary lists what an editor should look at first.
      requestBody:
        required: true
        content:
          application/json:
            schema: DraftCheckRequestSchema
      responses:
        200:
          description: The draft's sentences, the claims' verdicts and the summary.
          content:
            application/json:
              schema: DraftCheckResponseSchema
    """
    args = load_json_body(current_request_schemas().draft)
    published = args["published"] and args["published"].isoformat()
    result = check_draft(
        get_verifier(),
        args["text"],
        top_k=args["top_k"],
        min_score=args["min_score"],
        within=_until_published(article_filter(args), published),
    )
    count_verdicts([s.verification.verdict for s in result.sentences if s.verification is not None])
    return _response.dump(
        {"sentences": result.sentences,
         "summary": {"counts": result.counts, "look_first": result.look_first,
                     "already_checked": result.already_checked},
         "took_ms": result.took_ms}
    )  # fmt: skip
